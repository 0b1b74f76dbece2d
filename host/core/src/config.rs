//! Server configuration: a TOML file, then `ARSENAL_*` environment variables, over the
//! defaults documented on each field. Parsed once into [`Settings`]; nothing else reads
//! the environment for configuration.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::spec::DeclaredRoute;

pub use crate::auth::{ApiKey, AuthSettings, RateLimitSettings, RateQuota};
pub use arsenal_engine::settings::{CapabilitySettings, CompileSettings, LimitSettings};
pub use arsenal_wasi::config::{ConfigSource, SecretSource};
pub use arsenal_wasi::grants::ComponentGrants;
pub use arsenal_wasi::http::OutboundSettings;
pub use arsenal_wasi::keyvalue::KeyValueSettings;

/// Every setting of the host. `arsenal serve --print-config` shows the effective values.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub limits: LimitSettings,
    pub operations: OperationSettings,
    pub capabilities: CapabilitySettings,
    pub cache: CacheSettings,
    pub telemetry: TelemetrySettings,
    pub compile: CompileSettings,
    pub auth: AuthSettings,
    pub rate_limits: RateLimitSettings,
    pub audit: AuditSettings,
    pub cluster: ClusterSettings,
    pub keyvalue: KeyValueSettings,
    /// Outbound HTTP (`wasi:http`): destinations granted per source, and the bounds on
    /// every request.
    pub outbound: OutboundSettings,
    /// What the operator grants each component (operation or worker) by name, of the
    /// standard WASI capabilities: `[components.<name>]`. Default none.
    pub components: BTreeMap<String, ComponentGrants>,
    /// What the operator grants every worker process running in a sandbox of a name, of
    /// the standard WASI capabilities, beside its own grant: `[sandboxes.<name>]`, the
    /// fields of `[components.<name>]`. Default none.
    pub sandboxes: BTreeMap<String, ComponentGrants>,
}

/// The audit log (kept in `server.state_dir`, in memory when persistence is off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Records kept; the oldest go first. Default 1,000,000.
    pub retain_records: u64,
    /// Page cache of the audit database, in MiB: what it keeps in memory of the log
    /// however long the log grows. Default 16.
    pub cache_mib: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            retain_records: 1_000_000,
            cache_mib: 16,
        }
    }
}

/// The HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on. Default `127.0.0.1:4000`.
    pub addr: SocketAddr,
    /// Largest accepted request body, in bytes. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Deepest accepted JSON nesting in a request body. Default 64.
    pub max_json_depth: usize,
    /// How long shutdown waits for in-flight requests, in milliseconds. Default 10,000.
    pub shutdown_grace_ms: u64,
    /// This node's name, as it appears in pids. Default `local`.
    pub node: String,
    /// Where operations loaded through the admin API are kept across restarts. Default
    /// `$XDG_STATE_HOME/arsenal` (or `~/.local/state/arsenal`); `persist = false` keeps
    /// nothing.
    pub state_dir: Option<PathBuf>,
    pub persist: bool,
    /// Largest component accepted by the admin API, in bytes. Default 50 MiB.
    pub max_upload_bytes: usize,
    /// Run the host's own services as protected processes under the root supervisor
    /// `arsenal`. Default true.
    pub host_services: bool,
    /// Where sandboxes' private directories go. Default `$TMPDIR/arsenal-sandboxes`.
    pub sandbox_dir: Option<PathBuf>,
    /// Headers one request may carry; more answer 431 `headers_too_large`. Default 64.
    pub max_headers: usize,
    /// Bytes of all of one request's header names and values together; more answer 431
    /// `headers_too_large`. Default 16 KiB.
    pub max_header_bytes: usize,
    /// How long a client may take to send a request's headers before the connection is
    /// closed, in milliseconds. Default 10,000.
    pub header_read_timeout_ms: u64,
    /// How long one request may take from its headers to its answer, in milliseconds; past
    /// it the request answers 504 `request_timeout`. 0: no bound. Default 60,000.
    pub request_timeout_ms: u64,
    /// Requests handled at once; more are shed with 503 `overloaded`. 0: no bound. Default
    /// 1,024.
    pub max_concurrent_requests: usize,
}

impl ServerSettings {
    /// The state directory in force, unless persistence is off.
    pub fn resolved_state_dir(&self) -> Option<PathBuf> {
        if !self.persist {
            return None;
        }
        if let Some(dir) = &self.state_dir {
            return Some(dir.clone());
        }
        if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|dir| !dir.is_empty()) {
            return Some(PathBuf::from(dir).join("arsenal"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
            return Some(
                PathBuf::from(home)
                    .join(".local")
                    .join("state")
                    .join("arsenal"),
            );
        }
        Some(std::env::temp_dir().join("arsenal-state"))
    }

    /// The sandbox directory in force.
    pub fn resolved_sandbox_dir(&self) -> PathBuf {
        self.sandbox_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("arsenal-sandboxes"))
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            addr: SocketAddr::from(([127, 0, 0, 1], 4000)),
            max_body_bytes: 1024 * 1024,
            max_json_depth: 64,
            shutdown_grace_ms: 10_000,
            node: "local".to_owned(),
            state_dir: None,
            persist: true,
            max_upload_bytes: 50 * 1024 * 1024,
            host_services: true,
            sandbox_dir: None,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            max_concurrent_requests: 1_024,
        }
    }
}

/// Which operations are served.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperationSettings {
    /// Directories of `.wasm` operation components to load at start. Default none.
    pub dirs: Vec<PathBuf>,
    /// Directories of worker components (`.wasm`) to load at start, each under its file
    /// name without extension. Default none.
    pub worker_dirs: Vec<PathBuf>,
    /// Operations (built-in or not) that are not served. Default none.
    pub disabled: Vec<String>,
    /// Per-operation limits, by operation name.
    pub overrides: BTreeMap<String, OperationOverride>,
    /// Earlier versions kept per operation and per worker component for rollback; a
    /// version dropped from the history takes its compile cache entry with it. Default 5.
    pub versions_kept: usize,
    /// Directories watched while serving: `.wasm` files added, replaced or deleted there
    /// are loaded, replaced or unloaded. Default none.
    pub watch_dirs: Vec<PathBuf>,
    /// Quiet time before a watched file is acted on, in milliseconds. Default 500.
    pub watch_debounce_ms: u64,
    /// How long requests already running on a version that stopped being live (replaced,
    /// unloaded, rolled back from) may still take; past it they are stopped and answered
    /// 503 `version_retired`. In milliseconds. Default 30,000.
    pub drain_ms: u64,
    /// `wasi:http` handler components to load at start, each with the route the operator
    /// declares for it (`[[operations.http_handlers]]`: `file` and `route`). A handler
    /// that exports `arsenal:operation/describe` can be put in `dirs` instead. Default
    /// none.
    pub http_handlers: Vec<HttpHandlerFile>,
}

/// A `wasi:http` handler file and its declared route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHandlerFile {
    /// The component file.
    pub file: PathBuf,
    /// Its name, method, path template and optionally version, category, summary,
    /// description, params and additional_params.
    pub route: DeclaredRoute,
}

impl Default for OperationSettings {
    fn default() -> Self {
        OperationSettings {
            dirs: Vec::new(),
            worker_dirs: Vec::new(),
            disabled: Vec::new(),
            overrides: BTreeMap::new(),
            versions_kept: 5,
            watch_dirs: Vec::new(),
            watch_debounce_ms: 500,
            drain_ms: 30_000,
            http_handlers: Vec::new(),
        }
    }
}

/// Limits for one operation, replacing the defaults and the operation's own hints.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperationOverride {
    pub memory_mib: Option<u32>,
    pub timeout_ms: Option<u32>,
    /// Warm-instance mode: an instance serves up to this many calls, one at a time and
    /// for one principal, and is discarded on any trap or limit hit. 0 or 1: a fresh
    /// instance per call. Absent: 128 for a built-in operation, fresh for any other. For
    /// large runtimes (JavaScript, Python) whose instantiation dominates a call.
    pub warm_instance_calls: Option<u32>,
    /// With `warm_instance_calls`, for an operation with an asynchronous `execute`: calls
    /// one instance serves at the same time. Default 16.
    pub warm_concurrent_calls: Option<u32>,
    /// With `warm_instance_calls`: whether one instance serves callers of different
    /// principals and roles. Default false. A sequential instance runs each call with its
    /// caller's permits; a concurrent one acts for none of its callers (the runtime
    /// capabilities that need a caller's role are refused to it).
    pub warm_across_principals: Option<bool>,
}

/// The on-disk cache of compiled components.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Whether compiled components are cached. Default true.
    pub enabled: bool,
    /// Where. Default `$XDG_CACHE_HOME/arsenal` or `~/.cache/arsenal`.
    pub dir: Option<PathBuf>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            dir: None,
        }
    }
}

impl CacheSettings {
    /// The cache directory in force.
    pub fn resolved_dir(&self) -> PathBuf {
        if let Some(dir) = &self.dir {
            return dir.clone();
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()) {
            return PathBuf::from(dir).join("arsenal");
        }
        if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
            return PathBuf::from(home).join(".cache").join("arsenal");
        }
        std::env::temp_dir().join("arsenal-cache")
    }
}

/// Operation analytics and health (see `telemetry`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The share of calls (0 to 1) an operation may fail over the budget window and stay
    /// healthy; only its own failures count (5xx but `overloaded`), not callers' 4xx.
    /// Default 0.05.
    pub error_budget: f64,
    /// The window of the error budget, in seconds (10 to 900, in steps of 10). Default 300.
    pub error_budget_window_secs: u64,
    /// Errors kept per operation for `/stats`. Default 20.
    pub last_errors: usize,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings {
            error_budget: 0.05,
            error_budget_window_secs: 300,
            last_errors: 20,
        }
    }
}

/// A configuration that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

/// Clustering on NATS (see `docs/cluster.md`). Without `nats_url` the node runs alone and
/// the cluster operations describe a cluster of one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSettings {
    /// The NATS server(s) to join, e.g. `nats://127.0.0.1:4222` (several separated by
    /// commas). The server must run JetStream. Default none: no cluster.
    pub nats_url: Option<String>,
    /// The shared secret that signs forwarded identities (HMAC-SHA256), at least 32
    /// characters; required with `nats_url`. Default none.
    pub secret: Option<String>,
    /// How often this node announces itself, in milliseconds. Default 1,000.
    pub heartbeat_ms: u64,
    /// A peer not heard from for this long is marked down, in milliseconds; at least twice
    /// `heartbeat_ms`. Default 5,000.
    pub down_after_ms: u64,
    /// The bound on a forwarded call when the request has none of its own (and on the
    /// calls the cluster operations make), in milliseconds. Default 5,000.
    pub call_timeout_ms: u64,
    /// A NATS credentials file (JWT + nkey seed). Default none.
    pub credentials_file: Option<PathBuf>,
    /// CA certificate (PEM) to verify the NATS server with; setting it requires TLS.
    /// Default none.
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS. Default none.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            nats_url: None,
            secret: None,
            heartbeat_ms: 1_000,
            down_after_ms: 5_000,
            call_timeout_ms: 5_000,
            credentials_file: None,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// What `serve --print-config` shows in place of a secret.
pub const REDACTED: &str = "<redacted>";

impl Settings {
    /// Defaults, then the TOML file (if given), then `ARSENAL_*` variables, where `__`
    /// separates levels: `ARSENAL_SERVER__ADDR=0.0.0.0:8080`, `ARSENAL_LIMITS__MEMORY_MIB=128`.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(
            // Every setting sits in a section, so only `SECTION__KEY` variables are
            // settings; others (`ARSENAL_CONFIG`, `ARSENAL_URL`, `ARSENAL_LOG`) are the CLI's.
            Env::prefixed("ARSENAL_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        // The one setting with a name of its own, for scripts: the local admin token.
        figment = figment.merge(
            Env::raw()
                .only(&["ARSENAL_ADMIN_TOKEN"])
                .map(|_| "auth.admin_token".into()),
        );
        figment
            .extract()
            .map_err(|error| ConfigError(Box::new(error)))
    }

    /// The settings as they may be shown (`serve --print-config`): secrets — the local
    /// admin token and the cluster's signing secret — replaced by a marker. API keys are
    /// kept as their SHA-256 already.
    pub fn redacted(&self) -> Settings {
        let hide = |secret: &Option<String>| secret.as_ref().map(|_| REDACTED.to_owned());
        let mut shown = self.clone();
        shown.auth.admin_token = hide(&self.auth.admin_token);
        shown.cluster.secret = hide(&self.cluster.secret);
        shown
    }

    /// The defaults with a given cache setting; used by tests and in-process CLI calls.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Settings {
        self.cache.dir = Some(dir.into());
        self
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail fixes the closure's error type"
)]
mod tests {
    use super::*;

    #[test]
    fn hot_loading_defaults_are_the_documented_ones() {
        let settings = Settings::default();
        assert_eq!(settings.server.max_upload_bytes, 50 * 1024 * 1024);
        assert_eq!(settings.operations.versions_kept, 5);
        assert_eq!(settings.compile.timeout_ms, 60_000);
        assert_eq!(settings.compile.max_concurrent, 2);
        assert_eq!(settings.operations.watch_debounce_ms, 500);
        assert_eq!(settings.operations.drain_ms, 30_000);
    }

    #[test]
    fn printed_settings_hide_secrets() {
        let mut settings = Settings::default();
        settings.auth.admin_token = Some("token-that-must-not-show".to_owned());
        settings.cluster.secret = Some("secret-that-must-not-show-0123456789".to_owned());
        let printed = toml::to_string_pretty(&settings.redacted()).unwrap();
        assert!(!printed.contains("must-not-show"), "{printed}");
        assert_eq!(printed.matches(REDACTED).count(), 2, "{printed}");
        let unset = toml::to_string_pretty(&Settings::default().redacted()).unwrap();
        assert!(!unset.contains(REDACTED), "nothing to hide: {unset}");
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "arsenal.toml",
                r#"
                [server]
                addr = "127.0.0.1:5000"
                [limits]
                memory_mib = 32
                timeout_ms = 2000
                [operations.overrides.echo]
                timeout_ms = 100
                "#,
            )?;
            jail.set_env("ARSENAL_LIMITS__TIMEOUT_MS", "3000");
            jail.set_env("ARSENAL_LOG", "debug");
            let settings =
                Settings::load(Some(Path::new("arsenal.toml"))).expect("valid configuration");
            assert_eq!(
                settings.server.addr,
                SocketAddr::from(([127, 0, 0, 1], 5000))
            );
            assert_eq!(settings.limits.memory_mib, 32);
            assert_eq!(settings.limits.timeout_ms, 3000);
            assert_eq!(
                settings.limits.max_response_bytes,
                8 * 1024 * 1024,
                "untouched defaults stay"
            );
            assert_eq!(settings.operations.overrides["echo"].timeout_ms, Some(100));
            Ok(())
        });
    }

    #[test]
    fn keys_roles_and_the_admin_token_are_read() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "arsenal.toml",
                r#"
                [auth]
                keys = [{ name = "ci", sha256 = "ab", roles = ["operator"] }]
                [auth.required_role]
                list_workers = "admin"
                [rate_limits]
                in_local_mode = true
                [rate_limits.per_key]
                burst = 0
                replenish_ms = 1
                "#,
            )?;
            jail.set_env("ARSENAL_ADMIN_TOKEN", "scripted");
            let settings =
                Settings::load(Some(Path::new("arsenal.toml"))).expect("valid configuration");
            assert_eq!(settings.auth.keys[0].name, "ci");
            assert_eq!(settings.auth.keys[0].roles, [crate::auth::Role::Operator]);
            assert_eq!(
                settings.auth.required_role["list_workers"],
                crate::auth::Role::Admin
            );
            assert_eq!(settings.auth.admin_token.as_deref(), Some("scripted"));
            assert_eq!(settings.rate_limits.per_key.burst, 0);
            assert!(settings.rate_limits.in_local_mode);
            assert_eq!(settings.rate_limits.failed_auth.burst, 10, "defaults stay");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("arsenal.toml", "[limits]\nmemory_mb = 32\n")?;
            let error = Settings::load(Some(Path::new("arsenal.toml"))).unwrap_err();
            assert!(error.to_string().contains("memory_mb"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn sandbox_grants_are_read_like_a_components_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "arsenal.toml",
                r#"
                [sandboxes.edge]
                outbound_hosts = ["https://*.example.com:443"]
                buckets = ["probes"]
                [sandboxes.edge.config]
                region = "eu"
                [sandboxes.edge.secrets]
                token = { env = "EDGE_TOKEN" }
                "#,
            )?;
            let settings =
                Settings::load(Some(Path::new("arsenal.toml"))).expect("valid configuration");
            let edge = &settings.sandboxes["edge"];
            assert_eq!(edge.buckets, ["probes"]);
            assert_eq!(
                edge.outbound_hosts[0].to_string(),
                "https://*.example.com:443"
            );
            assert_eq!(edge.config.len(), 1);
            assert_eq!(edge.secrets.len(), 1);

            jail.create_file(
                "bad.toml",
                "[sandboxes.edge]\noutbound_hosts = [\"ftp://x y\"]\n",
            )?;
            let error = Settings::load(Some(Path::new("bad.toml"))).unwrap_err();
            assert!(error.to_string().contains("sandboxes.edge"), "{error}");
            jail.create_file("unknown.toml", "[sandboxes.edge]\nhosts = []\n")?;
            let error = Settings::load(Some(Path::new("unknown.toml"))).unwrap_err();
            assert!(error.to_string().contains("hosts"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_an_error() {
        figment::Jail::expect_with(|_jail| {
            assert!(Settings::load(Some(Path::new("nowhere.toml"))).is_err());
            Ok(())
        });
    }
}
