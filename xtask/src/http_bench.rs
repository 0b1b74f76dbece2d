//! `cargo xtask bench-http`: the built-in `echo` operation served by `arsenal serve` (a
//! fresh instance per request) against a native axum handler doing the same JSON work
//! (`tests/examples/native_echo.rs`) and against the same handler calling `echo` through
//! Arsenal's registry with no layers (`tests/examples/bare_echo.rs`, the ceiling of a fresh
//! instance per request), in the same run, on loopback with `wrk`. Each server
//! is pinned to the same core(s) and `wrk` to others with `taskset` when the machine has
//! at least two cores. Prints requests/s, p50 and p99 of each and the throughput ratio.
//!
//! Options: `--duration SECS` (default 10), `--connections N` (default 16),
//! `--server-cpus LIST` (default `0`), `--client-cpus LIST` (default `1`), `--profile NAME`
//! (default `release`; `production` adds fat LTO and one codegen unit, as deployments
//! build), `--smoke` (one-second runs of the debug builds, for CI; the figures mean
//! nothing then).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::wrk;

/// The request both servers answer: the path parameter and one query parameter back.
const PATH: &str = "/api/v1/echo/42?color=blue";
const NATIVE_ADDR: &str = "127.0.0.1:4710";
const ARSENAL_ADDR: &str = "127.0.0.1:4711";
const BARE_ADDR: &str = "127.0.0.1:4712";
/// How long a server may take to answer its first request.
const WAIT: Duration = Duration::from_secs(120);

struct Options {
    duration: u64,
    connections: u32,
    server_cpus: String,
    client_cpus: String,
    profile: String,
    smoke: bool,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options = Options {
            duration: 10,
            connections: 16,
            server_cpus: "0".to_owned(),
            client_cpus: "1".to_owned(),
            profile: "release".to_owned(),
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
                "--connections" => options.connections = value()?.parse()?,
                "--server-cpus" => options.server_cpus = value()?,
                "--client-cpus" => options.client_cpus = value()?,
                "--profile" => options.profile = value()?,
                "--smoke" => options.smoke = true,
                other => bail!("unknown option `{other}` of bench-http"),
            }
        }
        if options.smoke {
            options.duration = 1;
        }
        Ok(options)
    }
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    crate::requirements::ensure(&[crate::requirements::wrk()])?;
    let root = workspace_root()?;
    // A smoke run only shows the bench still works: it takes the debug builds of
    // `cargo test --workspace` (a no-op after the tests ran) rather than building the tree
    // again — in release, or even in debug for one package, whose features differ.
    let dir = if options.smoke {
        super::build_for_smoke()?
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
    let built = root.join("target").join(dir);
    let pinned = cores() >= 2 && Command::new("taskset").arg("-V").output().is_ok();
    let work = root.join("target/bench-http");
    std::fs::create_dir_all(&work)?;

    let native = {
        let _server = wrk::Server(spawn(
            pinned.then_some(options.server_cpus.as_str()),
            Command::new(built.join("examples/native_echo")).arg(NATIVE_ADDR),
            &work.join("native.log"),
        )?);
        wrk::wait_ready(NATIVE_ADDR, PATH, WAIT)?;
        measure(NATIVE_ADDR, &options, pinned)?
    };
    let bare = {
        let _server = wrk::Server(spawn(
            pinned.then_some(options.server_cpus.as_str()),
            Command::new(built.join("examples/bare_echo"))
                .arg(BARE_ADDR)
                .env("ARSENAL_CACHE__DIR", work.join("cache")),
            &work.join("bare.log"),
        )?);
        wrk::wait_ready(BARE_ADDR, PATH, WAIT)?;
        measure(BARE_ADDR, &options, pinned)?
    };
    let arsenal = {
        let mut command = Command::new(built.join("arsenal"));
        command
            .args(["serve", "--addr", ARSENAL_ADDR])
            // Compiled built-ins are kept between runs; admin changes are not.
            .env("ARSENAL_CACHE__DIR", work.join("cache"))
            .env("ARSENAL_SERVER__PERSIST", "false")
            .env("ARSENAL_ADMIN_TOKEN", "bench-http-admin-token")
            // Local mode limits no caller by default; the buckets are turned on, with
            // room for any run's requests, so that the figures include what counting
            // each request costs a keyed server.
            .env("ARSENAL_RATE_LIMITS__IN_LOCAL_MODE", "true")
            .env("ARSENAL_RATE_LIMITS__PER_KEY__BURST", "4000000000")
            .env("ARSENAL_RATE_LIMITS__PER_OPERATION__BURST", "4000000000");
        let _server = wrk::Server(spawn(
            pinned.then_some(options.server_cpus.as_str()),
            &mut command,
            &work.join("arsenal.log"),
        )?);
        wrk::wait_ready(ARSENAL_ADDR, PATH, WAIT)?;
        measure(ARSENAL_ADDR, &options, pinned)?
    };

    println!(
        "GET {PATH}, wrk -t1 -c{} -d{}s, {}",
        options.connections,
        options.duration,
        if pinned {
            format!(
                "servers on cpu {}, wrk on cpu {}",
                options.server_cpus, options.client_cpus
            )
        } else {
            "not pinned (fewer than 2 cores or no taskset)".to_owned()
        }
    );
    println!(
        "{:<28} {:>12} {:>10} {:>10} {:>8}",
        "server", "requests/s", "p50", "p99", "errors"
    );
    for (name, m) in [
        ("native axum handler", &native),
        ("bare wasm call (no layers)", &bare),
        ("arsenal serve echo", &arsenal),
    ] {
        println!(
            "{name:<28} {:>12.0} {:>10?} {:>10?} {:>8}",
            m.requests_per_sec, m.p50, m.p99, m.errors
        );
    }
    let share = |m: &wrk::Measured| 100.0 * m.requests_per_sec / native.requests_per_sec;
    println!(
        "bare wasm call / native throughput: {:.1} % (the ceiling of a fresh instance per request)",
        share(&bare)
    );
    println!("arsenal / native throughput: {:.1} %", share(&arsenal));
    if native.errors + bare.errors + arsenal.errors > 0 {
        bail!("wrk saw non-2xx answers or socket errors");
    }
    Ok(())
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").context("run through `cargo xtask`")?;
    Ok(Path::new(&manifest)
        .parent()
        .context("xtask sits in the workspace")?
        .to_owned())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Start a server, its output into `log`.
fn spawn(cpus: Option<&str>, command: &mut Command, log: &Path) -> anyhow::Result<Child> {
    let output = std::fs::File::create(log)
        .with_context(|| format!("failed to create {}", log.display()))?;
    command.stdout(Stdio::null()).stderr(output.try_clone()?);
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
                .stdout(Stdio::null())
                .stderr(output);
            pinned.spawn()
        }
        None => command.spawn(),
    };
    child.with_context(|| format!("failed to start {:?}", command.get_program()))
}

fn measure(addr: &str, options: &Options, pinned: bool) -> anyhow::Result<wrk::Measured> {
    let url = format!("http://{addr}{PATH}");
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
