//! `cargo xtask bench-languages`: the JavaScript and Python greets served by the release
//! `arsenal serve`, each with a fresh instance per request and in warm-instance mode
//! (`operations.overrides.greet.warm_instance_calls`), measured with `wrk` on loopback.
//!
//! The components are the ones the integration tests build (`target/tmp/greet-js.wasm`,
//! `target/tmp/greet-py.wasm`: run `cargo test -p arsenal-tests --test it languages::`
//! first). Options: `--duration SECS` (default 10), `--connections N` (default 16),
//! `--warm-calls N` (default 10000), `--no-build` (use `target/release/arsenal` as it is,
//! when another build holds cargo's lock), `--profile NAME` (default `release`;
//! `production` adds fat LTO and one codegen unit, as deployments build), `--smoke` (CI:
//! one second each, with the debug build `cargo test --workspace` made, to show the bench
//! still runs; figures mean nothing).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::wrk;

const ADDR: &str = "127.0.0.1:4720";
const PATH: &str = "/api/v1/greet/ann?times=2";

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let (mut duration, mut connections, mut warm_calls) = (10u64, 16u32, 10_000u32);
    let (mut build, mut smoke) = (true, false);
    let mut profile = "release".to_owned();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("`{arg}` needs a value"))
        };
        match arg.as_str() {
            "--no-build" => build = false,
            "--smoke" => smoke = true,
            "--duration" => duration = value()?.parse()?,
            "--connections" => connections = value()?.parse()?,
            "--warm-calls" => warm_calls = value()?.parse()?,
            "--profile" => profile = value()?.clone(),
            other => bail!("unknown option `{other}` of bench-languages"),
        }
    }
    crate::requirements::ensure(&[crate::requirements::wrk()])?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // A smoke run takes the debug build of `cargo test --workspace` (a no-op after the
    // tests ran), as `bench-http --smoke` does.
    let profile = if smoke {
        duration = 1;
        crate::build_for_smoke()?
    } else {
        if build {
            crate::build_server(&profile)?;
        }
        profile.as_str()
    };
    let target = crate::target_dir(&root);
    let server = target.join(profile).join("arsenal");
    // Compiled components are kept between runs (the engine's fingerprint, not the
    // profile, decides whether an artifact fits).
    let work = target.join("bench-languages");
    std::fs::create_dir_all(&work)?;
    println!("GET {PATH}, wrk -t1 -c{connections} -d{duration}s, {profile} build");
    println!(
        "{:<34} {:>12} {:>10} {:>10} {:>8}",
        "component", "requests/s", "p50", "p99", "errors"
    );
    let mut failed = 0;
    for (language, file) in [("JavaScript", "greet-js.wasm"), ("Python", "greet-py.wasm")] {
        let component = target.join("tmp").join(file);
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
            let mut command = Command::new(&server);
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
            let _server = wrk::Server(command.spawn().context("failed to start arsenal")?);
            // Compiling a 12-18 MB component the first time takes seconds.
            wrk::wait_ready(ADDR, PATH, Duration::from_secs(300))?;
            if !smoke {
                wrk(1, connections)?;
            }
            let report = wrk(duration, connections)?;
            let wrk::Measured {
                requests_per_sec: rate,
                p50,
                p99,
                errors,
            } = wrk::parse(&report)
                .with_context(|| format!("failed to read wrk's report:\n{report}"))?;
            let mode = match warm {
                None => "fresh instance".to_owned(),
                Some(calls) => format!("warm, {calls} calls"),
            };
            println!(
                "{:<34} {rate:>12.0} {p50:>10?} {p99:>10?} {errors:>8}",
                format!("{language} greet, {mode}")
            );
            failed += errors;
        }
    }
    if failed > 0 {
        bail!("wrk saw non-2xx answers or socket errors");
    }
    Ok(())
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
