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

use crate::grant::Grantee;
use crate::{Error, Grant, Reply};

/// The admin token a [`TestHost`] from [`TestHost::builder`] accepts, and that its request
/// helpers send (unless a request carries its own `authorization` header).
pub const ADMIN_TOKEN: &str = "arsenal-testing-admin-token";

/// A host with the built-in operations and the components a test loaded, called through
/// its real router without a socket.
///
/// The router is built once and also runs the calls the cluster hands to this node, as the
/// `arsenal` binary assembles it.
pub struct TestHost {
    host: Arc<Host>,
    router: axum::Router,
    /// Calls for this node (forwarded, or an operation's own) run through `router`.
    _forwarded: arsenal::cluster::ServedCalls,
    workers: BTreeMap<String, Arc<WorkerCode>>,
    // Kept for the host's lifetime when the host's admin state and granted secrets live
    // here.
    _state: Option<tempfile::TempDir>,
}

/// What to load into a [`TestHost`], and how to set it up.
#[must_use]
pub struct TestHostBuilder {
    settings: Settings,
    operations: Vec<PathBuf>,
    workers: Vec<(String, PathBuf)>,
    grants: Vec<(Grantee, Grant)>,
}

impl TestHost {
    /// Start describing a host.
    pub fn builder() -> TestHostBuilder {
        TestHostBuilder {
            settings: Settings::default(),
            operations: Vec::new(),
            workers: Vec::new(),
            grants: Vec::new(),
        }
    }

    /// A host with the built-ins and the operation components at `paths`, set up as
    /// [`TestHostBuilder::start`] does.
    pub async fn with_operations(paths: &[&Path]) -> Result<TestHost, Error> {
        paths
            .iter()
            .fold(TestHost::builder(), |builder, path| builder.operation(path))
            .start()
            .await
    }

    /// A host started with exactly `settings` (nothing is added: set
    /// `auth.admin_token` to [`ADMIN_TOKEN`] for the admin helpers to be let in, and
    /// `server.state_dir` to where its admin changes should be kept), with the operation
    /// components at `paths` loaded as from an operations directory. Any component that
    /// fails to load is an error naming it and why.
    pub async fn with_settings(settings: Settings, paths: &[&Path]) -> Result<TestHost, Error> {
        let host = start_host(settings, paths.iter().copied()).await?;
        Ok(TestHost::assemble(host, BTreeMap::new(), None))
    }

    /// Serve a host the test started itself (`Host::start`, `Host::empty`, with what it
    /// loaded), through the real router.
    pub fn serving(host: Host) -> TestHost {
        TestHost::assemble(host, BTreeMap::new(), None)
    }

    /// Build the router once and hand it to the cluster, as the binary's assembly does.
    fn assemble(
        host: Host,
        workers: BTreeMap<String, Arc<WorkerCode>>,
        state: Option<tempfile::TempDir>,
    ) -> TestHost {
        let host = Arc::new(host);
        let router = arsenal::http::router(host.clone());
        TestHost {
            _forwarded: arsenal::http::serve_forwarded(&host, router.clone()),
            router,
            host,
            workers,
            _state: state,
        }
    }

    /// The host itself, for what the helpers do not cover (`processes()`, `registry()`).
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// The host's router, for requests the helpers do not build (`oneshot` it, and read
    /// the answer with [`Reply::read`]).
    pub fn router(&self) -> &axum::Router {
        &self.router
    }

    /// The code of a worker component loaded by [`TestHostBuilder::worker`].
    pub fn worker_code(&self, name: &str) -> Result<Arc<WorkerCode>, Error> {
        self.workers
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownWorker(name.to_owned()))
    }

    /// `GET uri` as an admin.
    pub async fn get(&self, uri: &str) -> Reply {
        self.request(Method::GET, uri, None).await
    }

    /// `POST uri` as an admin, with a JSON body.
    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.request(Method::POST, uri, Some(body)).await
    }

    /// `PUT uri` as an admin, with a JSON body.
    pub async fn put(&self, uri: &str, body: Value) -> Reply {
        self.request(Method::PUT, uri, Some(body)).await
    }

    /// `DELETE uri` as an admin.
    pub async fn delete(&self, uri: &str) -> Reply {
        self.request(Method::DELETE, uri, None).await
    }

    /// Call the operation `name` with all its parameters in one JSON object, whatever its
    /// route (`POST /api/v1/operations/{name}/execute`), as an admin.
    pub async fn call(&self, name: &str, params: Value) -> Reply {
        self.post(&format!("/api/v1/operations/{name}/execute"), params)
            .await
    }

    /// Send a request as an admin; `body`, when given, as JSON.
    pub async fn request(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        match body {
            Some(json) => {
                let json_type = [("content-type", "application/json")];
                self.send(method, uri, json.to_string(), &json_type).await
            }
            None => self.send(method, uri, Body::empty(), &[]).await,
        }
    }

    /// Send a request with `body` and `headers` as they are, as an admin: with
    /// [`ADMIN_TOKEN`] as its bearer credential unless `headers` hold an `authorization`.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        body: impl Into<Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send_as(Some(ADMIN_TOKEN), method, uri, body, headers)
            .await
    }

    /// Send a request with `body` and `headers` as they are, with `token` as its bearer
    /// credential (unless `headers` hold an `authorization`), or with no credential at
    /// all when `token` is `None`.
    ///
    /// # Panics
    ///
    /// When `uri` or a header makes no request.
    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: Method,
        uri: &str,
        body: impl Into<Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        let own = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        if let Some(token) = token.filter(|_| !own) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body.into())
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

    /// Grant the component (operation or worker) `name` what `grant` adds — destinations
    /// ([`Grant::upstream`], [`Grant::outbound`]), shared buckets, configuration values and
    /// secrets — as `[components.<name>]` of the configuration would, and the capabilities
    /// that needs (`outbound_http`, `key_value`, `config`) to components from directories
    /// and files, as those of this builder are. Grants of one name add up.
    ///
    /// ```no_run
    /// # async fn example(upstream: &arsenal_testing::Upstream) -> Result<(), arsenal_testing::Error> {
    /// let host = arsenal_testing::TestHost::builder()
    ///     .worker("prober", "target/prober.wasm")
    ///     .grant("prober", |grant| {
    ///         grant
    ///             .upstream(upstream)
    ///             .bucket("probes")
    ///             .config("targets", upstream.url("/health"))
    ///             .secret("token", "test-token")
    ///     })
    ///     .start()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn grant(mut self, name: &str, grant: impl FnOnce(Grant) -> Grant) -> TestHostBuilder {
        let grantee = Grantee::Component(name.to_owned());
        self.grants.push((grantee, grant(Grant::default())));
        self
    }

    /// Grant every worker process running in the sandbox `name` what `grant` adds, beside
    /// its own grant, as `[sandboxes.<name>]` of the configuration would (and the
    /// capabilities that needs, as [`TestHostBuilder::grant`] does).
    pub fn grant_sandbox(
        mut self,
        name: &str,
        grant: impl FnOnce(Grant) -> Grant,
    ) -> TestHostBuilder {
        let grantee = Grantee::Sandbox(name.to_owned());
        self.grants.push((grantee, grant(Grant::default())));
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
    ///
    /// The host keeps its admin changes and the granted secrets in a private directory
    /// removed with it, admits [`ADMIN_TOKEN`] as an admin, has no rate limits, and runs
    /// none of the host's own service processes (a test sees only its own).
    pub async fn start(self) -> Result<TestHost, Error> {
        let state = tempfile::tempdir().map_err(|source| Error::Read {
            path: std::env::temp_dir(),
            source,
        })?;
        let mut settings = self.settings;
        let secrets = state.path().join("secrets");
        std::fs::create_dir(&secrets).map_err(|source| Error::Write {
            path: secrets.clone(),
            source,
        })?;
        for (grantee, grant) in self.grants {
            grant.apply(&grantee, &mut settings, &secrets)?;
        }
        settings.server.state_dir = Some(state.path().join("state"));
        settings.server.host_services = false;
        settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
        settings.rate_limits = RateLimitSettings::off();

        let host = start_host(settings, self.operations.iter().map(PathBuf::as_path)).await?;
        let mut workers = BTreeMap::new();
        for (name, path) in self.workers {
            let bytes = std::fs::read(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let origin = path.display().to_string();
            let put = host
                .workers()
                .load(&name, &bytes, Source::Directory, &origin)
                .await
                .map_err(|source| Error::Worker {
                    name: name.clone(),
                    source: Box::new(source),
                })?;
            let code = put
                .live()
                .cloned()
                .ok_or_else(|| Error::UnknownWorker(name.clone()))?;
            workers.insert(name, code);
        }
        Ok(TestHost::assemble(host, workers, Some(state)))
    }
}

/// Start a host with `settings` and load the operation components at `paths` (source
/// `directory`); the first that failed to load, if any, is the error.
async fn start_host(
    settings: Settings,
    paths: impl IntoIterator<Item = &Path>,
) -> Result<Host, Error> {
    let mut host = Host::start(settings).await?;
    for path in paths {
        host.load_file(path).await;
    }
    match host.problems().first() {
        Some(problem) => Err(Error::Load {
            origin: problem.origin.clone(),
            problem: problem.error.to_string(),
        }),
        None => Ok(host),
    }
}
