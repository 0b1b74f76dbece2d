//! The process runtime through the process table (what the API and operations use), where
//! `process_model` measures a bare `Worker`: spawn rate; RSS per process with 10,000
//! resident and with 100,000 live (all but the resident ones hibernated); a call to a
//! hibernated process (wake + handle + reply) against one to a resident process; message
//! throughput between two wasm processes; and supervisor restart latency, from a child's
//! crash to the supervisor's notice that its replacement runs, seen from this thread and
//! from a task on the runtime. Prints a report; figures and targets are in BENCHMARKS.md.
//!
//! `cargo bench -p arsenal-tests --bench runtime [-- RESIDENT LIVE [MESSAGES [RESTARTS]]]`
//! (defaults 10,000, 100,000, 1,000,000 and 2,000; `-- 10 11 0 20000` measures little but
//! restarts); `-- --test` runs tiny sizes, for CI.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::config::Settings;
use arsenal::runtime::{
    ChildInfo, ChildSpec, Flags, ProcessTable, Restart, SpawnOptions, SupervisorHandle,
    SupervisorSpec, WorkerCode,
};
use arsenal::{Host, Source};
use arsenal_tests::{guests, percentile};

/// Sizes of one run.
struct Sizes {
    resident: usize,
    live: usize,
    wakes: usize,
    messages: usize,
    restarts: usize,
}

impl Sizes {
    fn from_args() -> Sizes {
        let args = arsenal_tests::BenchArgs::read();
        if args.smoke {
            return Sizes {
                resident: 200,
                live: 400,
                wakes: 50,
                messages: 2_000,
                restarts: 20,
            };
        }
        let resident = args.size(0, 10_000, 0);
        // At least one process beyond the resident ones, so there is one to wake.
        let live = args.size(1, 100_000, 0).max(resident + 1);
        Sizes {
            resident,
            live,
            wakes: 2_000.min(live - resident),
            messages: args.size(2, 1_000_000, 0),
            restarts: args.size(3, 2_000, 0),
        }
    }
}

fn mib(bytes: i64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

async fn load(host: &Host, name: &str, path: &str) -> Arc<WorkerCode> {
    let origin = format!("builtin:{name}");
    host.workers()
        .load(name, &arsenal_tests::read(path), Source::Builtin, &origin)
        .await
        .expect("the worker loads")
        .live()
        .expect("workers are not disabled")
        .clone()
}

/// Spawn `count` counters; the pids in order and the spawn times.
async fn spawn_counters(
    table: &Arc<ProcessTable>,
    code: &Arc<WorkerCode>,
    count: usize,
) -> (Vec<String>, Vec<Duration>) {
    let mut pids = Vec::with_capacity(count);
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let pid = table
            .spawn(code.clone(), "", SpawnOptions::default())
            .await
            .expect("the counter starts");
        times.push(started.elapsed());
        pids.push(pid.to_string());
    }
    (pids, times)
}

async fn call(table: &ProcessTable, pid: &str, payload: &str) -> String {
    table
        .call(pid, None, payload, Duration::from_secs(10))
        .await
        .expect("the process answers")
}

/// Crash the supervisor's child `restarts` times; how long each took from the crash
/// message sent to the supervisor's notice that the replacement runs.
async fn restart_latency(
    table: &ProcessTable,
    supervisor: &SupervisorHandle,
    restarts: usize,
) -> Vec<Duration> {
    let child_pid = |children: Vec<ChildInfo>| {
        children
            .into_iter()
            .find(|child| child.id == "child")
            .and_then(|child| child.pid)
            .expect("the child runs")
    };
    let mut times = Vec::with_capacity(restarts);
    let mut old = child_pid(supervisor.which_children().await.expect("children"));
    for _ in 0..restarts {
        let counted = supervisor.restarts_total();
        let started = Instant::now();
        table
            .send(&old, None, "crash")
            .expect("the child takes a message");
        supervisor
            .restarted(counted + 1)
            .await
            .expect("the supervisor restarts the child");
        times.push(started.elapsed());
        // Untimed: the supervisor lists a new child, and it answers.
        let new = child_pid(supervisor.which_children().await.expect("children"));
        assert_ne!(new, old, "the child was replaced");
        assert_eq!(call(table, &new, "ping").await, "pong");
        old = new;
    }
    times
}

fn main() {
    let sizes = Sizes::from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let cache = tempfile::tempdir().expect("a temporary directory");
        let mut settings = Settings::default().with_cache_dir(cache.path());
        settings.server.persist = false;
        // Hibernation is driven by the bench, not by the idle timer; the message bench
        // queues a burst, so mailboxes hold all of it.
        settings.limits.idle_hibernate_ms = 0;
        settings.limits.mailbox_capacity = sizes.messages + 16;
        // Every resident process holds a worker slot: the resident ones, the woken ones
        // and a few more (the warm-up, the relay and its sink, the supervised child).
        settings.limits.worker_slots = settings
            .limits
            .worker_slots
            .max((sizes.resident + sizes.wakes + 64) as u32);
        let host = Host::empty(settings).expect("the host builds");
        let table = host.processes().clone();
        let counter = load(&host, "counter", guests::COUNTER_WORKER).await;
        let echo = load(&host, "echo", guests::ECHO_WORKER).await;
        let crasher = load(&host, "crasher", guests::CRASHER_WORKER).await;
        // Warm up the allocator and code paths.
        let (warm, _) = spawn_counters(&table, &counter, 10).await;
        call(&table, &warm[0], "get").await;

        println!(
            "resident {}, live {}, wakes {}, messages {}, restarts {}",
            sizes.resident, sizes.live, sizes.wakes, sizes.messages, sizes.restarts
        );

        // Spawn rate and RSS per resident process.
        let rss0 = arsenal_tests::rss_bytes() as i64;
        let started = Instant::now();
        let (resident, mut spawns) = spawn_counters(&table, &counter, sizes.resident).await;
        let elapsed = started.elapsed();
        let rss1 = arsenal_tests::rss_bytes() as i64;
        println!(
            "spawn: {:.0} processes/s one after another (p50 {:?}, p99 {:?})",
            sizes.resident as f64 / elapsed.as_secs_f64(),
            percentile(&mut spawns, 0.5),
            percentile(&mut spawns, 0.99)
        );
        println!(
            "{} resident: RSS {:+.1} MiB, {:.1} KiB per process",
            sizes.resident,
            mib(rss1 - rss0),
            (rss1 - rss0) as f64 / sizes.resident as f64 / 1024.0
        );

        // 100,000 live: the rest spawned and hibernated as they go, the resident ones
        // kept (the kernel's mappings per OS process bound how many can be resident).
        let mut hibernated = Vec::with_capacity(sizes.live - sizes.resident);
        let mut sleeps = Vec::with_capacity(sizes.live - sizes.resident);
        let started = Instant::now();
        for _ in sizes.resident..sizes.live {
            let (pid, _) = spawn_counters(&table, &counter, 1).await;
            let pid = pid.into_iter().next().expect("one pid");
            let asleep = Instant::now();
            table
                .hibernate(&pid)
                .await
                .expect("the process exists")
                .expect("a counter hibernates");
            sleeps.push(asleep.elapsed());
            hibernated.push(pid);
        }
        let elapsed = started.elapsed();
        let rss2 = arsenal_tests::rss_bytes() as i64;
        println!(
            "{} live ({} resident, {} hibernated, spawned + hibernated in {:.1?}): RSS {:+.1} MiB \
             over the start, {:.1} KiB per process; total RSS {:.0} MiB",
            table.len(),
            sizes.resident,
            hibernated.len(),
            elapsed,
            mib(rss2 - rss0),
            (rss2 - rss0) as f64 / sizes.live as f64 / 1024.0,
            mib(rss2)
        );
        println!(
            "hibernate through the table: p50 {:?}, p99 {:?}",
            percentile(&mut sleeps, 0.5),
            percentile(&mut sleeps, 0.99)
        );

        // A call to a hibernated process wakes it; the same call to a resident one is
        // the baseline.
        let mut woken = Vec::with_capacity(sizes.wakes);
        for pid in hibernated.iter().take(sizes.wakes) {
            let started = Instant::now();
            call(&table, pid, "get").await;
            woken.push(started.elapsed());
        }
        let mut awake = Vec::with_capacity(sizes.wakes);
        for pid in resident.iter().cycle().take(sizes.wakes) {
            let started = Instant::now();
            call(&table, pid, "get").await;
            awake.push(started.elapsed());
        }
        println!(
            "call to a hibernated process (wake + handle + reply): p50 {:?}, p99 {:?}; \
             to a resident one: p50 {:?}, p99 {:?}",
            percentile(&mut woken, 0.5),
            percentile(&mut woken, 0.99),
            percentile(&mut awake, 0.5),
            percentile(&mut awake, 0.99)
        );

        // Messages between two wasm processes: an echo worker forwards each message it
        // gets to a counter (`process::send` from guest code); the host only feeds the
        // echo worker. Done when the counter has counted them all.
        let sink = table
            .spawn(counter.clone(), "", SpawnOptions::default())
            .await
            .expect("the counter starts")
            .to_string();
        let relay = table
            .spawn(echo.clone(), "", SpawnOptions::default())
            .await
            .expect("the echo worker starts")
            .to_string();
        let forward = format!("to {sink} inc");
        let started = Instant::now();
        for _ in 0..sizes.messages {
            table
                .send(&relay, None, &forward)
                .expect("the relay's mailbox has room");
        }
        loop {
            let count: usize = call(&table, &sink, "get").await.parse().expect("a count");
            if count >= sizes.messages {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = started.elapsed();
        println!(
            "messages between two wasm processes (host → relay → counter): {:.0} messages/s \
             ({} in {:.1?})",
            sizes.messages as f64 / elapsed.as_secs_f64(),
            sizes.messages,
            elapsed
        );

        // Supervisor restart latency: crash the child, wait until the supervisor counts
        // the restart, which it does once the replacement runs (started, `init` done, in
        // the table, taking messages). The wait sleeps on the supervisor's notice rather
        // than asking it in a loop, which took the core from the supervisor it waited for.
        // Measured twice: from this thread, outside the runtime (each crash and each
        // notice crosses threads), and from a task on the runtime, as a handler would.
        let supervisor = table
            .start_supervisor(SupervisorSpec {
                name: Some("bench".to_owned()),
                flags: Flags {
                    intensity: 1_000_000,
                    period: Duration::from_secs(1),
                    ..Flags::default()
                },
                children: vec![ChildSpec {
                    restart: Restart::Permanent,
                    ..ChildSpec::worker("child", crasher.clone(), "")
                }],
                sandbox: None,
            })
            .await
            .expect("the supervisor starts");
        let mut outside = restart_latency(&table, &supervisor, sizes.restarts).await;
        let mut inside = tokio::spawn({
            let (table, supervisor) = (table.clone(), supervisor.clone());
            async move { restart_latency(&table, &supervisor, sizes.restarts).await }
        })
        .await
        .expect("the bench task ends");
        println!(
            "supervisor restart (crash → replacement running), seen from outside the runtime: \
             p50 {:?}, p99 {:?}; from a task on it: p50 {:?}, p99 {:?}",
            percentile(&mut outside, 0.5),
            percentile(&mut outside, 0.99),
            percentile(&mut inside, 0.5),
            percentile(&mut inside, 0.99)
        );
    });
}
