//! Spawning at full speed through the HTTP API: counters started by batch requests
//! (`POST /api/v1/batch`, 1,000 `POST /api/v1/processes` each, as many at once as the
//! batch allows) until far more are live than the worker pool has slots, with idle
//! hibernation off, so every slot beyond the pool is made by hibernating the least
//! recently active idle counter. Prints how many started and were refused, the time, the
//! workers hibernated to make room, and the RSS at each tenth, at its peak, with every
//! counter hibernated and after every counter exited. The figures are in BENCHMARKS.md.
//!
//! `cargo bench -p arsenal-tests --bench spawn_rate [-- COUNT [KEEP_RESIDENT_KIB]]`
//! (default 100,000 counters, and `limits.worker_keep_resident_kib` as configured by
//! default; `-- --test` spawns 2,000 with a pool of 512 slots, for CI).

use std::time::{Duration, Instant};

use arsenal_testing::TestHost;
use arsenal_tests::guests;
use serde_json::{Value, json};

/// Calls per batch request: the most one batch may hold.
const BATCH: usize = 1_000;
/// Calls of one batch in flight at once: the most a batch may ask for.
const CONCURRENCY: usize = 64;

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

/// The peak resident memory of this process so far (`VmHWM`), in bytes.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmHWM in /proc/self/status")
        * 1024
}

/// Run one batch of `count` spawns; the pids started and the refusals' error codes.
async fn spawn_batch(host: &TestHost, count: usize) -> (Vec<String>, Vec<String>) {
    let calls: Vec<Value> = (0..count)
        .map(|n| {
            json!({
                "method": "POST",
                "path": "/api/v1/processes",
                "body": { "worker": "counter", "args": (n % 1000).to_string() },
            })
        })
        .collect();
    let reply = host
        .post(
            "/api/v1/batch",
            json!({ "calls": calls, "concurrency": CONCURRENCY }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut started = Vec::with_capacity(count);
    let mut refused = Vec::new();
    for result in reply.body["data"]["results"].as_array().expect("results") {
        if result["status"] == 201 {
            started.push(
                result["body"]["data"]["pid"]
                    .as_str()
                    .expect("a started process has a pid")
                    .to_owned(),
            );
        } else {
            refused.push(format!(
                "{} {}",
                result["status"], result["body"]["error"]["code"]
            ));
        }
    }
    (started, refused)
}

async fn run(count: usize, slots: Option<u32>, keep_resident_kib: Option<u32>) {
    let host = TestHost::builder()
        .settings(|settings| {
            // Room is made only by hibernating for a spawn, never by the idle timer.
            settings.limits.idle_hibernate_ms = 0;
            // As many batch calls in flight as a batch may ask for.
            settings.limits.max_instances = CONCURRENCY as u32;
            if let Some(slots) = slots {
                settings.limits.worker_slots = slots;
            }
            if let Some(kib) = keep_resident_kib {
                settings.limits.worker_keep_resident_kib = kib;
            }
        })
        .worker("counter", guests::COUNTER_WORKER)
        .start()
        .await
        .expect("the host starts");
    let limits = &host.host().settings().limits;
    let (slots, keep) = (limits.worker_slots, limits.worker_keep_resident_kib);
    let table = host.host().processes().clone();
    let workers = host.host().workers();
    let rss0 = arsenal_tests::rss_bytes();
    println!(
        "{count} counters through the HTTP API, {BATCH} per batch request, {CONCURRENCY} at once; \
         {slots} worker slots keeping {keep} KiB when free; RSS at start {} MiB",
        mib(rss0)
    );
    let mut pids: Vec<String> = Vec::with_capacity(count);
    let mut refused: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut next_report = count / 10;
    while pids.len() + refused.len() < count {
        let size = BATCH.min(count - pids.len() - refused.len());
        let (mut batch_started, mut batch_refused) = spawn_batch(&host, size).await;
        pids.append(&mut batch_started);
        refused.append(&mut batch_refused);
        let done = pids.len() + refused.len();
        if done >= next_report {
            next_report += count / 10;
            println!(
                "  {done:>7} asked: {:>7} live, {:>5} refused, {:>7} hibernated to make room, \
                 RSS {:>5} MiB, {:.0} spawns/s",
                table.len(),
                refused.len(),
                workers.hibernated_to_make_room(),
                mib(arsenal_tests::rss_bytes()),
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let took = started.elapsed();
    let live_rss = arsenal_tests::rss_bytes();
    println!(
        "spawned {} of {count}, refused {} in {took:.2?} ({:.0} spawns/s); live {}; \
         hibernated to make room {}",
        pids.len(),
        refused.len(),
        pids.len() as f64 / took.as_secs_f64(),
        table.len(),
        workers.hibernated_to_make_room()
    );
    if let Some(first) = refused.first() {
        println!("  first refusal: {first}");
    }
    println!(
        "RSS with all live: {} MiB (+{} MiB, {:.1} KiB per live process); peak {} MiB",
        mib(live_rss),
        mib(live_rss.saturating_sub(rss0)),
        live_rss.saturating_sub(rss0) as f64 / pids.len().max(1) as f64 / 1024.0,
        mib(peak_rss_bytes())
    );

    // The earliest counter has long been hibernated: it wakes with its state.
    let first = &pids[0];
    table
        .send(first, None, "inc")
        .expect("the first counter takes a message");
    let answer = table
        .call(first, None, "get", Duration::from_secs(10))
        .await
        .expect("the first counter answers");
    assert_eq!(answer, "1", "the first counter kept its count");

    // Every resident counter hibernated: what the freed slots keep.
    for entry in table.entries() {
        if entry.status() == arsenal::runtime::Status::Running {
            let pid = entry.pid.to_string();
            table
                .hibernate(&pid)
                .await
                .expect("the process is there")
                .expect("a counter hibernates");
        }
    }
    let asleep_rss = arsenal_tests::rss_bytes();
    println!(
        "RSS with every counter hibernated: {} MiB ({:+} MiB from all live)",
        mib(asleep_rss),
        mib(asleep_rss) as i64 - mib(live_rss) as i64
    );
    table.kill_all();
    // Exits are asynchronous: wait, bounded, for the table to empty.
    let emptied = Instant::now();
    while !table.is_empty() {
        assert!(
            emptied.elapsed() < Duration::from_secs(120),
            "the processes exit"
        );
        tokio::task::yield_now().await;
    }
    let exited_rss = arsenal_tests::rss_bytes();
    println!(
        "RSS after every counter exited: {} MiB ({:+} MiB from start)",
        mib(exited_rss),
        mib(exited_rss) as i64 - mib(rss0) as i64
    );
}

fn main() {
    let args = arsenal_tests::BenchArgs::read();
    let count = args.size(0, 100_000, 2_000);
    let slots = args.smoke.then_some(512);
    let keep_resident_kib = args.numbers.get(1).map(|kib| *kib as u32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(count, slots, keep_resident_kib));
}
