//! The process-model spike: what a resident wasm worker costs, how fast one hibernates
//! and wakes, and how fast a warm one handles messages. Prints a table; the figures are in
//! BENCHMARKS.md.
//!
//! `cargo bench -p arsenal-tests --bench process_model [-- RESIDENT]` (default 5,000;
//! `-- --test` runs 200, for CI).

use std::time::Instant;

use arsenal::config::Settings;
use arsenal::runtime::{Event, Pid, Worker};
use arsenal::{Host, Source};
use arsenal_tests::{guests, percentile};

fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

fn main() {
    // `--test` (the CI smoke run): a few hundred workers, enough to run every path.
    let resident = arsenal_tests::BenchArgs::read().size(0, 5_000, 200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let cache = tempfile::tempdir().unwrap();
        let host = Host::empty(Settings::default().with_cache_dir(cache.path())).unwrap();
        let bytes = arsenal_tests::read(guests::COUNTER_WORKER);
        let code = host
            .workers()
            .prepare("counter", &bytes, Source::Builtin, "builtin:counter")
            .await
            .unwrap();
        let engine = host.workers();
        let message = |payload: &str| Event::Message {
            from: None,
            payload: payload.to_owned(),
        };

        // Warm up the allocator and code paths.
        let mut warm = Worker::start(engine, code.clone(), Pid::new("local", 0, 0), "0")
            .await
            .unwrap();
        warm.handle(vec![message("inc")]).await.unwrap();

        let (rss0, maps0) = (arsenal_tests::rss_bytes(), mappings());
        let mut starts = Vec::with_capacity(resident);
        let mut workers = Vec::with_capacity(resident);
        for serial in 1..=resident as u64 {
            let started = Instant::now();
            let mut worker = Worker::start(engine, code.clone(), Pid::new("local", 0, serial), "0")
                .await
                .unwrap();
            worker.handle(vec![message("inc")]).await.unwrap();
            starts.push(started.elapsed());
            workers.push(worker);
        }
        let (rss1, maps1) = (arsenal_tests::rss_bytes(), mappings());
        println!("resident workers: {resident}");
        println!(
            "  RSS per resident worker: {:.1} KiB",
            (rss1 - rss0) as f64 / resident as f64 / 1024.0
        );
        println!(
            "  memory mappings per resident worker: {:.2}",
            (maps1 - maps0) as f64 / resident as f64
        );
        println!(
            "  start (instantiate + init + first message): p50 {:?}, p99 {:?}",
            percentile(&mut starts, 0.5),
            percentile(&mut starts, 0.99)
        );

        let mut sleeps = Vec::with_capacity(resident);
        let mut hibernated = Vec::with_capacity(resident);
        for worker in workers {
            let started = Instant::now();
            hibernated.push(worker.hibernate().await.unwrap());
            sleeps.push(started.elapsed());
        }
        let (rss2, maps2) = (arsenal_tests::rss_bytes(), mappings());
        println!(
            "  hibernate (snapshot + drop): p50 {:?}, p99 {:?}",
            percentile(&mut sleeps, 0.5),
            percentile(&mut sleeps, 0.99)
        );
        println!(
            "  after hibernating all: RSS {:+.1} MiB vs before start, mappings {:+}",
            (rss2 as f64 - rss0 as f64) / (1 << 20) as f64,
            maps2 as i64 - maps0 as i64
        );

        let mut wakes = Vec::with_capacity(resident);
        let mut woken = Vec::new();
        for sleeper in hibernated.into_iter().take(2_000) {
            let started = Instant::now();
            let worker = Worker::wake(engine, sleeper).await.unwrap();
            wakes.push(started.elapsed());
            woken.push(worker);
        }
        println!(
            "  wake (instantiate + restore): p50 {:?}, p99 {:?}",
            percentile(&mut wakes, 0.5),
            percentile(&mut wakes, 0.99)
        );
        drop(woken);

        for batch in [1usize, 16, 256] {
            let total = 100_000;
            let started = Instant::now();
            let mut sent = 0;
            while sent < total {
                warm.handle((0..batch).map(|_| message("inc")).collect())
                    .await
                    .unwrap();
                sent += batch;
            }
            let elapsed = started.elapsed();
            println!(
                "  warm handle, batches of {batch}: {:.0} messages/s ({:?} per message)",
                total as f64 / elapsed.as_secs_f64(),
                elapsed / total as u32
            );
        }
    });
}
