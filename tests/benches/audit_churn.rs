//! Memory under audit churn: processes spawned and killed through the HTTP API, two audit
//! records each, and the server's RSS and the audit database's size at each quarter of the
//! run — with the default bounded page cache (`audit.cache_mib`) and, in the same run, a
//! cache large enough to keep every page, for comparison. Prints a table; the figures are
//! in BENCHMARKS.md.
//!
//! `cargo bench -p arsenal-tests --bench audit_churn [-- CYCLES [CACHE_MIB]]` (default
//! 200,000 spawn/kill cycles against 16 and 4,096 MiB; `-- --test` runs 400, for CI).

use std::time::Instant;

use arsenal_testing::TestHost;
use arsenal_tests::guests;
use serde_json::json;

/// Spawn and kill `cycles` processes through the router, printing RSS and the audit
/// database's size at each quarter.
async fn churn(cycles: usize, cache_mib: u64) {
    let host = TestHost::builder()
        .settings(|settings| settings.audit.cache_mib = cache_mib)
        .worker("counter", guests::COUNTER_WORKER)
        .start()
        .await
        .expect("the host starts");
    let audit = host
        .host()
        .settings()
        .server
        .resolved_state_dir()
        .expect("the test host keeps state")
        .join("audit.redb");
    let rss0 = arsenal_tests::rss_bytes();
    println!(
        "audit page cache {cache_mib} MiB: RSS at start {} MiB",
        mib(rss0)
    );
    let started = Instant::now();
    for cycle in 1..=cycles {
        let spawned = host
            .post("/api/v1/processes", json!({ "worker": "counter" }))
            .await;
        let pid = spawned.assert_ok(201)["pid"]
            .as_str()
            .expect("a spawned process has a pid")
            .to_owned();
        // A pid reads `<node.serial.n>`: its angle brackets are escaped in the path.
        let pid = pid.replace('<', "%3C").replace('>', "%3E");
        host.delete(&format!("/api/v1/processes/{pid}"))
            .await
            .assert_ok(200);
        if cycle % (cycles / 4).max(1) == 0 {
            let rss = arsenal_tests::rss_bytes();
            let size = std::fs::metadata(&audit).map_or(0, |meta| meta.len());
            println!(
                "  {cycle:>7} cycles ({:>7} records): RSS {:>5} MiB (+{:>4} MiB), audit.redb {:>4} MiB, {:.0} cycles/s",
                cycle * 2,
                mib(rss),
                mib(rss.saturating_sub(rss0)),
                mib(size),
                cycle as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
}

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

fn main() {
    let args = arsenal_tests::BenchArgs::read();
    let cycles = args.size(0, 200_000, 400);
    let large = args.size(1, 4096, 4096) as u64;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The default first, so the larger cache's pages cannot be what the default keeps.
    runtime.block_on(churn(
        cycles,
        arsenal::config::AuditSettings::default().cache_mib,
    ));
    runtime.block_on(churn(cycles, large));
}
