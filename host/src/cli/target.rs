//! Where client commands go: a running server over HTTP, or the same router in-process.
//! Both answer the same JSON, so every command has one implementation.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::args::TargetArgs;
use crate::config::Settings;
use crate::host::Host;

/// A server to ask.
pub(crate) enum Target {
    Remote {
        client: reqwest::Client,
        base: String,
    },
    Local {
        router: axum::Router,
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
    /// A running server at `url`.
    pub(crate) fn remote(url: &str) -> Target {
        Target::Remote {
            client: reqwest::Client::new(),
            base: url.trim_end_matches('/').to_owned(),
        }
    }

    pub(crate) async fn new(args: &TargetArgs, settings: Settings) -> anyhow::Result<Target> {
        match &args.url {
            Some(url) => Ok(Target::remote(url)),
            None => {
                let mut settings = settings;
                settings
                    .operations
                    .dirs
                    .extend(args.operations.iter().cloned());
                let host = Host::start(settings).await?;
                for problem in host.problems() {
                    eprintln!(
                        "warning: {} was not loaded: {}",
                        problem.origin, problem.error
                    );
                }
                Ok(Target::Local {
                    router: crate::http::router(Arc::new(host)),
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
            Target::Remote { client, base } => {
                let body = body.map(|body| serde_json::to_vec(&body)).transpose()?;
                let body = body.map(|bytes| ("application/json", bytes));
                remote(client, base, method, path, body).await
            }
            Target::Local { router } => {
                let body = match body {
                    Some(body) => Body::from(serde_json::to_vec(&body)?),
                    None => Body::empty(),
                };
                let request = Request::builder()
                    .method(method)
                    .uri(path)
                    .header("content-type", "application/json")
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
        let Target::Remote { client, base } = self else {
            anyhow::bail!("loading a component needs a running server (`--url`)");
        };
        remote(
            client,
            base,
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
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> anyhow::Result<Answer> {
    let url = format!("{base}{path}");
    let mut request = client.request(method, &url);
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
