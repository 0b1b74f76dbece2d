//! `arsenal-testing` used as an author would: an operation called by route and by name,
//! and a worker crashed under its supervisor.

use arsenal_testing::{Error, TestHost};
use arsenal_tests::guests;
use serde_json::json;

/// A builder compiling into a cache shared by the tests of this crate.
fn builder() -> arsenal_testing::TestHostBuilder {
    TestHost::builder().settings(|settings| {
        settings.cache.dir = Some(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache").into());
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_answers_by_route_and_by_name() {
    let host = builder().operation(guests::GREET).start().await.unwrap();
    let reply = host.get("/api/v1/greet/ann?times=2").await;
    assert_eq!(reply.assert_ok(200)["greeting"], "hello, ann! hello, ann!");
    let reply = host
        .call("greet", json!({ "name": "bob", "times": 1 }))
        .await;
    assert_eq!(reply.data()["greeting"], "hello, bob!");
    host.get("/api/v1/greet/nobody")
        .await
        .assert_error(404, "not_found");
    // Admin calls carry the admin token.
    host.delete("/api/v1/admin/operations/greet")
        .await
        .assert_ok(200);
    host.get("/api/v1/greet/ann")
        .await
        .assert_error(404, "operation_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_does_not_load_is_an_error_naming_it() {
    let started = builder().operation(guests::UNKNOWN_IMPORT).start().await;
    match started {
        Err(Error::Load { origin, problem }) => {
            assert_eq!(origin, guests::UNKNOWN_IMPORT);
            assert!(problem.contains("import"), "{problem}");
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("the host loaded a component with an unknown import"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervised_worker_is_restarted_after_a_crash() {
    let host = builder()
        .worker("counter", guests::COUNTER_WORKER)
        .start()
        .await
        .unwrap();
    let counter = host.supervise("counter", "41", 3).await.unwrap();
    counter.send("inc").await.unwrap();
    assert_eq!(counter.call("get").await.unwrap(), "42");
    let first = counter.pid().await.unwrap().unwrap();

    let reason = counter.crash("crash").await.unwrap();
    assert!(
        matches!(&reason, arsenal_testing::arsenal::runtime::ExitReason::Crash(why) if why.contains("asked to crash")),
        "{reason:?}"
    );
    assert_eq!(counter.restarts().await.unwrap(), 1);
    assert_ne!(counter.pid().await.unwrap().unwrap(), first);
    assert_eq!(
        counter.call("get").await.unwrap(),
        "41",
        "a restart starts over from the child's arguments"
    );

    assert!(matches!(
        host.supervise("nope", "", 1).await,
        Err(Error::UnknownWorker(name)) if name == "nope"
    ));
}
