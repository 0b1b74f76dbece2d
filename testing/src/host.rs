//! `TestHost`: a real Arsenal host and its router, in process, with request helpers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arsenal::config::{RateLimitSettings, Settings};
use arsenal::runtime::WorkerCode;
use arsenal::{Host, Source};
use axum::body::Body;
use http::{Method, Request};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::{Error, Reply};

/// The admin token every [`TestHost`] accepts and sends with each request.
pub const ADMIN_TOKEN: &str = "arsenal-testing-admin-token";

/// A host with the built-in operations and the components a test loaded, called through
/// its real router without a socket.
pub struct TestHost {
    host: Arc<Host>,
    router: axum::Router,
    /// Calls for this node (forwarded, or an operation's own) run through `router`.
    _forwarded: arsenal::cluster::ServedCalls,
    workers: BTreeMap<String, Arc<WorkerCode>>,
    // Kept for the host's lifetime: its admin state lives here.
    _state: tempfile::TempDir,
}

/// What to load into a [`TestHost`], and how to set it up.
#[must_use]
pub struct TestHostBuilder {
    settings: Settings,
    operations: Vec<PathBuf>,
    workers: Vec<(String, PathBuf)>,
}

impl TestHost {
    /// Start describing a host.
    pub fn builder() -> TestHostBuilder {
        TestHostBuilder {
            settings: Settings::default(),
            operations: Vec::new(),
            workers: Vec::new(),
        }
    }

    /// A host with the built-ins and the operation components at `paths`.
    pub async fn with_operations(paths: &[&Path]) -> Result<TestHost, Error> {
        paths
            .iter()
            .fold(TestHost::builder(), |builder, path| builder.operation(path))
            .start()
            .await
    }

    /// The host itself, for what the helpers do not cover (`processes()`, `registry()`).
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// The code of a worker component loaded by [`TestHostBuilder::worker`].
    pub fn worker_code(&self, name: &str) -> Result<Arc<WorkerCode>, Error> {
        self.workers
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownWorker(name.to_owned()))
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str) -> Reply {
        self.request(Method::GET, uri, None).await
    }

    /// `POST uri` with a JSON body.
    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.request(Method::POST, uri, Some(body)).await
    }

    /// `PUT uri` with a JSON body.
    pub async fn put(&self, uri: &str, body: Value) -> Reply {
        self.request(Method::PUT, uri, Some(body)).await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: &str) -> Reply {
        self.request(Method::DELETE, uri, None).await
    }

    /// Call the operation `name` with all its parameters in one JSON object, whatever its
    /// route (`POST /api/v1/operations/{name}/execute`).
    pub async fn call(&self, name: &str, params: Value) -> Reply {
        self.post(&format!("/api/v1/operations/{name}/execute"), params)
            .await
    }

    /// Send a request as an admin; `body`, when given, as JSON.
    pub async fn request(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"));
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let request = request
            .body(body)
            .unwrap_or_else(|error| panic!("`{uri}` makes no request: {error}"));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        Reply::read(response).await
    }
}

impl TestHostBuilder {
    /// Load the operation component at `path`, as `arsenal serve --operations` would.
    pub fn operation(mut self, path: impl AsRef<Path>) -> TestHostBuilder {
        self.operations.push(path.as_ref().to_owned());
        self
    }

    /// Load the worker component at `path` under `name`, as `arsenal serve --workers` would.
    pub fn worker(mut self, name: &str, path: impl AsRef<Path>) -> TestHostBuilder {
        self.workers
            .push((name.to_owned(), path.as_ref().to_owned()));
        self
    }

    /// Change the host's settings (limits, cache directory, ...) before it starts. The
    /// state directory, admin token and rate limits are set by [`TestHostBuilder::start`].
    pub fn settings(mut self, change: impl FnOnce(&mut Settings)) -> TestHostBuilder {
        change(&mut self.settings);
        self
    }

    /// Start the host and load everything; any component that fails to load is an error
    /// naming it and why.
    pub async fn start(self) -> Result<TestHost, Error> {
        let state = tempfile::tempdir().map_err(|source| Error::Read {
            path: std::env::temp_dir(),
            source,
        })?;
        let mut settings = self.settings;
        settings.server.state_dir = Some(state.path().to_owned());
        // Tests see only their own processes; the host's service tree has tests of its own.
        settings.server.host_services = false;
        settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
        settings.rate_limits = RateLimitSettings::off();

        let mut host = Host::start(settings).await?;
        for path in &self.operations {
            host.load_file(path).await;
        }
        if let Some(problem) = host.problems().first() {
            return Err(Error::Load {
                origin: problem.origin.clone(),
                problem: problem.error.to_string(),
            });
        }
        let mut workers = BTreeMap::new();
        for (name, path) in self.workers {
            let bytes = std::fs::read(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let loaded = host
                .workers()
                .load(&name, &bytes, Source::Directory)
                .await
                .map_err(|source| Error::Worker {
                    name: name.clone(),
                    source,
                })?;
            workers.insert(name, loaded.code);
        }
        let host = Arc::new(host);
        let router = arsenal::http::router(host.clone());
        Ok(TestHost {
            _forwarded: arsenal::http::serve_forwarded(&host, router.clone()),
            router,
            host,
            workers,
            _state: state,
        })
    }
}
