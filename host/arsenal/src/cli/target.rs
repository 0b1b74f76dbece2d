//! Where client commands go: a running server over HTTP, or the same router in-process.
//! Both answer the same JSON, so every command has one implementation.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::args::TargetArgs;
use arsenal_core::auth::{Principal, Role};
use arsenal_core::config::Settings;
use arsenal_core::host::Host;

/// The principal of commands run on an in-process host.
const IN_PROCESS: &str = "cli";

/// A server to ask.
pub(crate) enum Target {
    Remote {
        client: reqwest::Client,
        base: String,
        /// Sent as `Authorization: Bearer`.
        token: Option<String>,
    },
    Local {
        router: axum::Router,
        /// Calls for this node run through `router` while the command runs.
        _forwarded: arsenal_core::cluster::ServedCalls,
    },
}

/// An answer: HTTP status and JSON body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Target {
    /// A running server at `url`, asked with `token`.
    pub(crate) fn remote(url: &str, token: Option<String>) -> Target {
        Target::Remote {
            client: reqwest::Client::new(),
            base: url.trim_end_matches('/').to_owned(),
            token,
        }
    }

    pub(crate) async fn new(args: &TargetArgs, settings: Settings) -> anyhow::Result<Target> {
        match &args.url {
            Some(url) => {
                let token = super::credentials::bearer(args.token.as_deref(), &settings)?;
                Ok(Target::remote(url, token))
            }
            None => {
                let mut settings = settings;
                settings
                    .operations
                    .dirs
                    .extend(args.operations.iter().cloned());
                // A fresh host for one command: it keeps nothing, so it never contends with
                // a server for the state directory (its manifest, token and audit log).
                settings.server.persist = false;
                let host = Host::start(settings).await?;
                for problem in host.problems() {
                    eprintln!(
                        "warning: {} was not loaded: {}",
                        problem.origin, problem.error
                    );
                }
                let host = Arc::new(host);
                let router = arsenal_http::router(host.clone());
                Ok(Target::Local {
                    _forwarded: arsenal_http::serve_forwarded(&host, router.clone()),
                    router,
                })
            }
        }
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Answer> {
        match self {
            Target::Remote {
                client,
                base,
                token,
            } => {
                let body = body.map(|body| serde_json::to_vec(&body)).transpose()?;
                let body = body.map(|bytes| ("application/json", bytes));
                remote(client, base, token.as_deref(), method, path, body).await
            }
            Target::Local { router, .. } => {
                let body = match body {
                    Some(body) => Body::from(serde_json::to_vec(&body)?),
                    None => Body::empty(),
                };
                // The in-process host belongs to whoever runs the command.
                let request = Request::builder()
                    .method(method)
                    .uri(path)
                    .header("content-type", "application/json")
                    .extension(Principal::new(IN_PROCESS, Role::Admin))
                    .body(body)?;
                let response = router.clone().oneshot(request).await?;
                let status = response.status().as_u16();
                let bytes = response.into_body().collect().await?.to_bytes();
                Ok(Answer {
                    status,
                    body: parse(&bytes),
                })
            }
        }
    }
}

impl Target {
    /// Send a component (`application/wasm`) to a running server.
    pub(crate) async fn send_wasm(
        &self,
        method: Method,
        path: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Answer> {
        let Target::Remote {
            client,
            base,
            token,
        } = self
        else {
            anyhow::bail!("loading a component needs a running server (`--url`)");
        };
        remote(
            client,
            base,
            token.as_deref(),
            method,
            path,
            Some(("application/wasm", bytes)),
        )
        .await
    }
}

/// One request to a running server, with an optional body of the given media type.
async fn remote(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> anyhow::Result<Answer> {
    let url = format!("{base}{path}");
    let mut request = client.request(method, &url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some((content_type, bytes)) = body {
        request = request
            .header(http::header::CONTENT_TYPE, content_type)
            .body(bytes);
    }
    let response = request
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("failed to reach {url}: {error}"))?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok(Answer {
        status,
        body: parse(&bytes),
    })
}

fn parse(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
