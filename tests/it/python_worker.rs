//! A worker process written in Python (`examples/counter-py`), driven through
//! `arsenal-testing` as an author would: started under a supervisor, sent messages and
//! calls, crashed, restarted from its arguments.

use arsenal_testing::arsenal::runtime::ExitReason;

use crate::toolchains::counter_python;

/// Room to compile an 18 MB runtime on a busy machine (see `languages::settings`).
async fn host() -> arsenal_testing::TestHost {
    arsenal_testing::TestHost::builder()
        .worker("counter", counter_python().await)
        .settings(|settings| settings.compile.timeout_ms = 600_000)
        .start()
        .await
        .expect("the Python worker loads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_worker_counts_crashes_is_restarted_and_refuses_bad_arguments() {
    let host = host().await;
    let counter = host.supervise("counter", "41", 3).await.unwrap();
    counter.send("inc").await.unwrap();
    counter.send("add 10").await.unwrap();
    assert_eq!(counter.call("get").await.unwrap(), "52");
    assert_eq!(counter.call("ping").await.unwrap(), "pong");
    let first = counter.pid().await.unwrap().expect("the worker runs");
    assert_eq!(
        counter.call("whoami").await.unwrap(),
        first,
        "the process import answers with the worker's own pid"
    );

    let reason = counter.crash("crash").await.unwrap();
    assert!(
        matches!(&reason, ExitReason::Crash(why) if why.contains("asked to crash")),
        "{reason:?}"
    );
    assert_eq!(counter.restarts().await.unwrap(), 1);
    let second = counter.pid().await.unwrap().expect("restarted");
    assert_ne!(second, first);
    assert_eq!(
        counter.call("get").await.unwrap(),
        "41",
        "a restart starts over from the child's arguments"
    );

    counter.crash("crash").await.unwrap();
    assert_eq!(counter.restarts().await.unwrap(), 2);
    assert_eq!(counter.call("get").await.unwrap(), "41");

    // An init that fails is a start that fails (one host: an 18 MB compile is costly).
    let refused = host.supervise("counter", "forty-one", 3).await;
    let error = refused.err().expect("a failing init refuses the start");
    let chain: Vec<String> =
        std::iter::successors(Some(&error as &dyn std::error::Error), |e| e.source())
            .map(ToString::to_string)
            .collect();
    assert!(
        chain
            .iter()
            .any(|text| text.contains("`forty-one` is not an integer")),
        "{chain:?}"
    );
}
