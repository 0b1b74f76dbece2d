//! `cargo xtask bench-languages`: the JavaScript and Python greets served by the release
//! `arsenal serve`, each with a fresh instance per request and in warm-instance mode
//! (`operations.overrides.greet.warm_instance_calls`), measured with `wrk` on loopback.
//!
//! The components are the ones the integration tests build (`target/tmp/greet-js.wasm`,
//! `target/tmp/greet-py.wasm`: run `cargo test -p arsenal-tests --test it languages::`
//! first). Options: `--duration SECS` (default 10), `--connections N` (default 16),
//! `--warm-calls N` (default 10000), `--no-build` (use `target/release/arsenal` as it is,
//! when another build holds cargo's lock).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const ADDR: &str = "127.0.0.1:4720";
const PATH: &str = "/api/v1/greet/ann?times=2";

/// A server killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let (mut duration, mut connections, mut warm_calls) = (10u64, 16u32, 10_000u32);
    let mut build = true;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--no-build" {
            build = false;
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("`{arg}` needs a value"))?;
        match arg.as_str() {
            "--duration" => duration = value.parse()?,
            "--connections" => connections = value.parse()?,
            "--warm-calls" => warm_calls = value.parse()?,
            other => bail!("unknown option `{other}` of bench-languages"),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if build {
        crate::cargo(
            &["build", "--release", "-p", "arsenal", "--bin", "arsenal"],
            &[],
        )?;
    }
    let work = root.join("target/bench-languages");
    std::fs::create_dir_all(&work)?;
    println!("GET {PATH}, wrk -t1 -c{connections} -d{duration}s, release build");
    println!(
        "{:<34} {:>12} {:>10} {:>10} {:>8}",
        "component", "requests/s", "p50", "p99", "errors"
    );
    for (language, file) in [("JavaScript", "greet-js.wasm"), ("Python", "greet-py.wasm")] {
        let component = root.join("target/tmp").join(file);
        if !component.is_file() {
            bail!(
                "{} is missing: build it with `cargo test -p arsenal-tests --test it languages::`",
                component.display()
            );
        }
        let operations = work.join(file.trim_end_matches(".wasm"));
        std::fs::create_dir_all(&operations)?;
        std::fs::copy(&component, operations.join("greet.wasm"))?;
        for warm in [None, Some(warm_calls)] {
            let mut command = Command::new(root.join("target/release/arsenal"));
            command
                .args(["serve", "--addr", ADDR, "--operations"])
                .arg(&operations)
                .env("ARSENAL_CACHE__DIR", work.join("cache"))
                .env("ARSENAL_SERVER__PERSIST", "false")
                .env("ARSENAL_ADMIN_TOKEN", "bench-languages-admin-token")
                // One principal sends every request: room beyond the default quotas.
                .env("ARSENAL_RATE_LIMITS__PER_KEY__BURST", "4000000000")
                .env("ARSENAL_RATE_LIMITS__PER_OPERATION__BURST", "4000000000")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(work.join("arsenal.log"))?);
            if let Some(calls) = warm {
                command.env(
                    "ARSENAL_OPERATIONS__OVERRIDES__GREET__WARM_INSTANCE_CALLS",
                    calls.to_string(),
                );
            }
            let _server = Server(command.spawn().context("failed to start arsenal")?);
            wait_ready()?;
            wrk(1, connections)?;
            let report = wrk(duration, connections)?;
            let (rate, p50, p99, errors) = parse(&report)
                .with_context(|| format!("failed to read wrk's report:\n{report}"))?;
            let mode = match warm {
                None => "fresh instance".to_owned(),
                Some(calls) => format!("warm, {calls} calls"),
            };
            println!(
                "{:<34} {rate:>12.0} {p50:>10} {p99:>10} {errors:>8}",
                format!("{language} greet, {mode}")
            );
        }
    }
    Ok(())
}

/// Wait until the server answers the bench request with 200 (compiling a 12-18 MB
/// component the first time takes seconds).
fn wait_ready() -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Ok(mut stream) = TcpStream::connect(ADDR) {
            let request =
                format!("GET {PATH} HTTP/1.1\r\nHost: {ADDR}\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the server at {ADDR} did not answer 200 within 300 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wrk(seconds: u64, connections: u32) -> anyhow::Result<String> {
    let output = Command::new("wrk")
        .args(["-t1", "--latency"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg(format!("http://{ADDR}{PATH}"))
        .output()
        .context("failed to run wrk (apt-get install wrk)")?;
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Requests/s, p50, p99 (as wrk prints them) and non-2xx plus socket errors.
fn parse(report: &str) -> anyhow::Result<(f64, String, String, u64)> {
    let (mut rate, mut p50, mut p99, mut errors) = (None, None, None, 0);
    for line in report.lines() {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["Requests/sec:", value] => rate = Some(value.parse()?),
            ["50%", value] => p50 = Some((*value).to_owned()),
            ["99%", value] => p99 = Some((*value).to_owned()),
            ["Non-2xx", "or", "3xx", "responses:", count] => errors += count.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                errors += rest
                    .iter()
                    .filter_map(|word| word.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    Ok((
        rate.context("no Requests/sec line")?,
        p50.context("no 50% line")?,
        p99.context("no 99% line")?,
        errors,
    ))
}
