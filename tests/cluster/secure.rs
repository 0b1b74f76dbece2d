//! NATS that asks for more than a connection: TLS with client certificates, a user and
//! password, a credentials file. Nodes configured for it form a cluster and call each
//! other; a node the server refuses fails to start, naming why, instead of retrying
//! forever in the background.

use std::time::Duration;

use arsenal::Host;
use arsenal::config::Settings;

use crate::certs::Pki;
use crate::nats::NatsServer;
use crate::{Node, eventually, logs, nodes_with_status, settings};

/// Settings of node `id` for the TLS server `nats`: verifying it with CA file `ca`
/// (`None`: no CA configured), presenting the client certificate when `client`.
fn tls_settings(
    id: &str,
    nats: &NatsServer,
    pki: &Pki,
    ca: Option<&str>,
    client: bool,
) -> Settings {
    let mut settings = settings(id, &nats.url());
    settings.cluster.tls_ca_file = ca.map(|file| pki.path(file));
    if client {
        settings.cluster.tls_cert_file = Some(pki.path("client.pem"));
        settings.cluster.tls_key_file = Some(pki.path("client.key"));
    }
    settings
}

/// Two nodes `a` and `b` that see each other up, and call each other.
async fn two_nodes_call_each_other(a: Settings, b: Settings) {
    let nodes = [Node::start_with(a).await, Node::start_with(b).await];
    for (node, other) in [(&nodes[0], "b"), (&nodes[1], "a")] {
        eventually(Duration::from_secs(10), "membership", || async {
            (nodes_with_status(node, "up").await == [other]).then_some(())
        })
        .await;
        let (status, body, headers) = node.get_on(other, "/api/v1/system/info").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["node"], other);
        assert_eq!(headers["x-arsenal-node"], other);
    }
}

/// The error `Host::start` fails with for `settings`. Bounded: a node must not hang on a
/// server that refuses it (the bound is a safety net far above the expected second).
async fn start_error(settings: Settings) -> String {
    let started = tokio::time::timeout(Duration::from_secs(30), Host::start(settings))
        .await
        .expect("a refused node fails to start instead of hanging");
    match started {
        Ok(_) => panic!("the node started although the server refuses it"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_with_the_ca_and_a_client_certificate_form_a_cluster_over_mutual_tls() {
    logs();
    let pki = Pki::new();
    let nats = NatsServer::start_with(pki.server_args());
    two_nodes_call_each_other(
        tls_settings("a", &nats, &pki, Some("ca.pem"), true),
        tls_settings("b", &nats, &pki, Some("ca.pem"), true),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_the_tls_server_refuses_fails_to_start_naming_the_certificate() {
    logs();
    let pki = Pki::new();
    let nats = NatsServer::start_with(pki.server_args());
    let cases = [
        ("no CA", None, true),
        ("another CA", Some("other-ca.pem"), true),
        ("no client certificate", Some("ca.pem"), false),
    ];
    for (case, ca, client) in cases {
        let error = start_error(tls_settings("x", &nats, &pki, ca, client)).await;
        assert!(
            error.starts_with("failed to join the cluster: failed to connect to NATS"),
            "{case}: {error}"
        );
        assert!(
            error.to_lowercase().contains("certificate"),
            "{case}: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_with_the_password_join_and_one_with_a_wrong_password_is_refused() {
    logs();
    let nats = NatsServer::start_with(["--user", "arsenal", "--pass", "right-password"]);
    let url = |password: &str| {
        nats.url()
            .replace("nats://", &format!("nats://arsenal:{password}@"))
    };
    two_nodes_call_each_other(
        settings("a", &url("right-password")),
        settings("b", &url("right-password")),
    )
    .await;

    let error = start_error(settings("x", &url("wrong-password"))).await;
    assert!(
        error.starts_with("failed to join the cluster: failed to connect to NATS"),
        "{error}"
    );
    assert!(error.contains("authorization violation"), "{error}");
    // The password is not repeated in the error.
    assert!(!error.contains("wrong-password"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_credentials_file_is_refused_at_start_naming_it() {
    logs();
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.creds");
    let malformed = dir.path().join("malformed.creds");
    std::fs::write(&malformed, "not a credentials file\n").unwrap();
    for file in [missing, malformed] {
        let mut settings = settings("x", &nats.url());
        settings.cluster.credentials_file = Some(file.clone());
        let error = start_error(settings).await;
        assert!(
            error.starts_with(&format!(
                "failed to join the cluster: failed to read the NATS credentials file {}",
                file.display()
            )),
            "{error}"
        );
    }
}
