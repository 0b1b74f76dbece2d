//! `arsenal-testing` used as an author would: an operation called by route and by name,
//! a worker crashed under its supervisor, and components granted an upstream, buckets,
//! configuration values and a secret.

use std::time::Duration;

use arsenal_testing::{Error, TestHost, Upstream};
use arsenal_tests::guests;
use axum::Router;
use axum::routing::get;
use http::{Method, StatusCode};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_reaches_its_granted_upstream_and_no_other() {
    let routes = Router::new().route("/ok", get(|| async { "hello" }));
    let upstream = Upstream::start(routes).await.unwrap();
    let other = Upstream::answering(StatusCode::OK, "other").await.unwrap();
    let host = builder()
        .operation(guests::OUTBOUND_CALL)
        .grant("outbound_call", |grant| grant.upstream(&upstream))
        .start()
        .await
        .unwrap();

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let reply = host
        .send(
            Method::POST,
            "/api/v1/test/outbound",
            json!({ "url": upstream.url("/ok?from=guest") }).to_string(),
            &[
                ("content-type", "application/json"),
                ("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01")),
            ],
        )
        .await;
    let result = &reply.assert_ok(201)["results"][0];
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["body"], "hello");
    let received = upstream.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, Method::GET);
    assert_eq!(received[0].path, "/ok?from=guest");
    let sent_trace = received[0].header("traceparent").unwrap();
    assert!(
        sent_trace.starts_with(&format!("00-{trace}-")),
        "{sent_trace}"
    );

    // Not granted: failed in the guest with the standard code, and never sent.
    let reply = host
        .call("outbound_call", json!({ "url": other.url("/") }))
        .await;
    let result = &reply.assert_ok(201)["results"][0];
    assert_eq!(result["error"], "HttpRequestDenied", "{result}");
    assert!(other.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_gets_its_config_and_secret_and_shares_a_bucket() {
    const TOKEN: &str = "prober-token-2b7e41";
    let routes = Router::new()
        .route("/healthy", get(|| async { "ok" }))
        .route(
            "/broken",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    let upstream = Upstream::start(routes).await.unwrap();
    let (healthy, broken) = (upstream.url("/healthy"), upstream.url("/broken"));
    let host = builder()
        .worker("health_prober", guests::HEALTH_PROBER)
        .operation(guests::PROBE_REPORT)
        .grant("health_prober", |grant| {
            grant
                .upstream(&upstream)
                .bucket("probes")
                .config("targets", format!("{healthy},{broken}"))
                // Long enough that only the test's own message probes.
                .config("interval_ms", "3600000")
                .secret("token", TOKEN)
        })
        .grant("probe_report", |grant| {
            grant.bucket("probes").config("title", "Edge health")
        })
        .start()
        .await
        .unwrap();

    let prober = host.supervise("health_prober", "", 1).await.unwrap();
    // A message has no reply: the test waits for its requests at the upstream.
    prober.send("probe").await.unwrap();
    let received = upstream.wait_for(2, Duration::from_secs(30)).await.unwrap();
    let mut paths: Vec<&str> = received.iter().map(|request| &*request.path).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/broken", "/healthy"]);
    // The secret, read from the file the test host wrote, went along as the credential.
    for request in &received {
        assert_eq!(
            request.header("authorization"),
            Some(&*format!("Bearer {TOKEN}"))
        );
    }

    // The worker handles its mailbox in order: its report follows the round.
    let report: serde_json::Value =
        serde_json::from_str(&prober.call("report").await.unwrap()).unwrap();
    assert_eq!(report["rounds"], 1, "{report}");
    // The operation reads the same bucket under its own configured title.
    let reply = host.get("/api/v1/probes").await;
    assert_eq!(
        *reply.assert_ok(200),
        json!({
            "title": "Edge health",
            "rounds": 1,
            "targets": {
                healthy: { "status": 200, "healthy": true },
                broken: { "status": 500, "healthy": false },
            },
        })
    );
    let described = host.get("/api/v1/operations").await;
    assert!(!described.body.to_string().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_is_no_pattern_is_an_error_naming_it() {
    let started = builder()
        .grant("outbound_call", |grant| {
            grant.outbound("http://example.com")
        })
        .start()
        .await;
    match started {
        Err(Error::Grant {
            grantee, pattern, ..
        }) => assert_eq!(
            (grantee.as_str(), pattern.as_str()),
            ("components.outbound_call", "http://example.com")
        ),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a destination without a port was granted"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_requests_that_do_not_come_fails_within_the_bound() {
    let upstream = Upstream::answering(StatusCode::NO_CONTENT, "")
        .await
        .unwrap();
    let waited = upstream.wait_for(1, Duration::from_millis(20)).await;
    assert!(
        matches!(
            waited,
            Err(Error::NotReceived {
                expected: 1,
                received: 0,
                ..
            })
        ),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_keeps_each_request_whole_and_answers_as_told() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let upstream = Upstream::answering(StatusCode::ACCEPTED, "taken")
        .await
        .unwrap();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", upstream.port()))
        .await
        .unwrap();
    let request = "POST /hook?id=7 HTTP/1.1\r\nhost: upstream\r\nx-probe: yes\r\n\
                   content-length: 5\r\nconnection: close\r\n\r\nhello";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    assert!(answer.ends_with("taken"), "{answer}");

    let received = upstream.wait_for(1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, Method::POST);
    assert_eq!(received[0].path, "/hook?id=7");
    assert_eq!(received[0].header("x-probe"), Some("yes"));
    assert_eq!(received[0].text(), "hello");
}
