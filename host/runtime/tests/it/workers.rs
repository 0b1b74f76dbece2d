//! Worker processes on the workers' engine: start, handle, hibernate and wake with state,
//! crashes that poison the worker, and components that are no workers.

use std::sync::Arc;

use arsenal_engine::component::LoadError;
use arsenal_engine::policy::Source;
use arsenal_runtime::{Event, Pid, Worker, WorkerCode, WorkerError};

use crate::{Runtime, guests};

fn runtime() -> Runtime {
    Runtime::new(|_| {})
}

async fn counter(runtime: &Runtime) -> Arc<WorkerCode> {
    runtime.counter().await
}

fn message(payload: &str) -> Event {
    Event::Message {
        from: None,
        payload: payload.to_owned(),
    }
}

fn call(payload: &str) -> Event {
    Event::Call {
        from: None,
        payload: payload.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_keeps_state_across_batches_and_replies_to_calls() {
    let runtime = runtime();
    let code = counter(&runtime).await;
    assert!(code.is_stateful());
    let mut worker = Worker::start(runtime.workers(), code, Pid::new("local", 0, 1), "5")
        .await
        .unwrap();
    let replies = worker
        .handle(vec![message("inc"), message("add 10"), call("get")])
        .await
        .unwrap();
    assert_eq!(replies, [None, None, Some("16".to_owned())]);
    let replies = worker
        .handle(vec![
            Event::Timer {
                id: 1,
                payload: String::new(),
            },
            call("get"),
        ])
        .await
        .unwrap();
    assert_eq!(replies, [None, Some("17".to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hibernated_worker_wakes_with_its_state() {
    let runtime = runtime();
    let mut worker = Worker::start(
        runtime.workers(),
        counter(&runtime).await,
        Pid::new("local", 0, 2),
        "",
    )
    .await
    .unwrap();
    worker.handle(vec![message("add 41")]).await.unwrap();
    let hibernated = worker.hibernate().await.unwrap();
    assert_eq!(hibernated.state_len(), 8, "a counter's state is one i64");
    let mut worker = Worker::wake(runtime.workers(), hibernated).await.unwrap();
    assert_eq!(worker.pid(), &Pid::new("local", 0, 2));
    let replies = worker
        .handle(vec![message("inc"), call("get")])
        .await
        .unwrap();
    assert_eq!(replies, [None, Some("42".to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_from_handle_is_a_crash_and_the_worker_stays_dead() {
    let runtime = runtime();
    let mut worker = Worker::start(
        runtime.workers(),
        counter(&runtime).await,
        Pid::new("local", 0, 3),
        "",
    )
    .await
    .unwrap();
    let crash = worker.handle(vec![message("crash")]).await.unwrap_err();
    assert_eq!(crash, WorkerError::Crashed("asked to crash".to_owned()));
    assert_eq!(
        worker.handle(vec![call("get")]).await.unwrap_err(),
        crash,
        "a crashed worker never runs again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_init_is_a_crash_with_its_reason() {
    let runtime = runtime();
    let error = Worker::start(
        runtime.workers(),
        counter(&runtime).await,
        Pid::new("local", 0, 4),
        "many",
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        error,
        WorkerError::Crashed("bad start value `many`".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_is_not_a_worker() {
    let runtime = runtime();
    let bytes = arsenal_tests::read(guests::GREET);
    let error = runtime
        .workers()
        .prepare("greet", &bytes, Source::Directory, "greet.wasm")
        .await
        .err()
        .unwrap();
    assert_eq!(
        error,
        LoadError::InvalidComponent("it does not export `arsenal:process/worker@0.1.0`".to_owned())
    );
}
