//! The example workers in `examples/` as a user would run them: echo, crasher and ticker
//! (the counter and the two ledger versions are exercised by the process, supervisor and
//! sandbox tests).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::Source;
use arsenal::runtime::{
    ChildSpec, ExitReason, SpawnError, SpawnOptions, SupervisorSpec, WorkerCode,
};
use arsenal_testing::TestHost;
use serde_json::json;

use crate::{exit_of, guests, host_with_counters};

const WAIT: Duration = Duration::from_secs(5);

async fn load(host: &TestHost, name: &str, path: &str) -> Arc<WorkerCode> {
    host.host()
        .workers()
        .load(name, &arsenal_tests::read(path), Source::Builtin, path)
        .await
        .unwrap()
        .live()
        .cloned()
        .unwrap()
}

fn named(name: &str) -> SpawnOptions {
    SpawnOptions {
        name: Some(name.to_owned()),
        ..SpawnOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_answers_calls_and_forwards_messages() {
    let host = host_with_counters(&["target"]).await;
    let code = load(&host, "echo", guests::ECHO_WORKER).await;
    let table = host.host().processes();
    table.spawn(code, "", named("echo")).await.unwrap();
    assert_eq!(
        table.call("echo", None, "hello", WAIT).await.unwrap(),
        "hello"
    );
    let target = table.whereis("target").unwrap().to_string();
    table
        .send("echo", None, &format!("to {target} add 3"))
        .unwrap();
    // The echo handles the forward before the next call (one mailbox, in order).
    table.call("echo", None, "sync", WAIT).await.unwrap();
    assert_eq!(table.call("target", None, "get", WAIT).await.unwrap(), "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crasher_fails_where_asked_and_its_supervisor_restarts_it() {
    let host = host_with_counters(&[]).await;
    let code = load(&host, "crasher", guests::CRASHER_WORKER).await;
    let table = host.host().processes();
    let refused = table
        .spawn(code.clone(), "fail", SpawnOptions::default())
        .await;
    assert!(
        matches!(&refused, Err(SpawnError::Worker(error)) if error.to_string().contains("asked to fail in init")),
        "{refused:?}"
    );

    let supervisor = table
        .start_supervisor(SupervisorSpec {
            name: Some("guard".to_owned()),
            flags: arsenal::runtime::Flags {
                intensity: 5,
                ..Default::default()
            },
            children: vec![ChildSpec::worker("c", code.clone(), "")],
            sandbox: None,
        })
        .await
        .unwrap();
    let first = supervisor.which_children().await.unwrap()[0]
        .pid
        .clone()
        .unwrap();
    assert_eq!(
        table.call(&first, None, "ping", WAIT).await.unwrap(),
        "pong"
    );
    let exited = exit_of(table, &first);
    table.send(&first, None, "trap").unwrap();
    let reason = exited.await;
    assert!(
        matches!(&reason, ExitReason::Crash(why) if why.contains("unreachable")),
        "{reason:?}"
    );
    let history = supervisor.history().await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].old_pid, first);

    // `after 2`: the second message crashes it.
    let pid = table
        .spawn(code, "after 2", SpawnOptions::default())
        .await
        .unwrap()
        .to_string();
    let exited = exit_of(table, &pid);
    assert_eq!(table.call(&pid, None, "ping", WAIT).await.unwrap(), "pong");
    table.send(&pid, None, "ping").unwrap();
    assert!(matches!(exited.await, ExitReason::Crash(why) if why.contains("last allowed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticker_ticks_on_its_timer() {
    let host = host_with_counters(&[]).await;
    let code = load(&host, "ticker", guests::TICKER_WORKER).await;
    let table = host.host().processes();
    table.spawn(code, "1", named("ticker")).await.unwrap();
    let started = Instant::now();
    loop {
        let ticks: u64 = table
            .call("ticker", None, "ticks", WAIT)
            .await
            .unwrap()
            .parse()
            .unwrap();
        if ticks >= 3 {
            break;
        }
        assert!(started.elapsed() < WAIT, "only {ticks} ticks");
        tokio::task::yield_now().await;
    }
    let info = host.get("/api/v1/processes/ticker").await;
    assert_eq!(info.body["data"]["status"], json!("running"));
    assert!(
        info.body["data"]["messages_in"].as_u64().unwrap() >= 3,
        "timer events are messages"
    );
}
