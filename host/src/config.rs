//! Server configuration: a TOML file, then `ARSENAL_*` environment variables, over the
//! defaults documented on each field. Parsed once into [`Settings`]; nothing else reads
//! the environment for configuration.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

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
        }
    }
}

/// Per-call limits and the instance pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Linear memory of one call, in MiB. Default 64.
    pub memory_mib: u32,
    /// The largest memory any operation may be given (by hint or override), in MiB; sizes
    /// the pool's memory slots. Default 256.
    pub max_memory_mib: u32,
    /// Wall-clock deadline of one call, in milliseconds. Default 5,000.
    pub timeout_ms: u32,
    /// Largest `data` an operation may return, in bytes. Default 8 MiB.
    pub max_response_bytes: usize,
    /// Concurrent instances; 0 sizes it from the machine's memory so that instances ×
    /// memory cap fits in half of it (clamped to 4..=1024). Default 0.
    pub max_instances: u32,
    /// Table elements one instance may grow to. Default 10,000.
    pub table_elements: u32,
    /// Epoch tick, in milliseconds: the resolution of deadlines. Default 10.
    pub epoch_tick_ms: u64,
    /// Linear memory of one worker process, in MiB. Default 16.
    pub worker_memory_mib: u32,
    /// Deadline of one worker call (`init`, a batch of messages, a snapshot), in
    /// milliseconds. Default 1,000.
    pub worker_timeout_ms: u32,
    /// Messages a process's mailbox holds; a send beyond is refused. Default 1,024.
    pub mailbox_capacity: usize,
    /// Idle time after which a stateful worker hibernates, in milliseconds; 0 never.
    /// Default 30,000.
    pub idle_hibernate_ms: u64,
    /// Sandboxes the host runs at most.
    pub max_sandboxes: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            memory_mib: 64,
            max_memory_mib: 256,
            timeout_ms: 5_000,
            max_response_bytes: 8 * 1024 * 1024,
            max_instances: 0,
            table_elements: 10_000,
            epoch_tick_ms: 10,
            worker_memory_mib: 16,
            worker_timeout_ms: 1_000,
            mailbox_capacity: 1_024,
            idle_hibernate_ms: 30_000,
            max_sandboxes: crate::runtime::DEFAULT_MAX_SANDBOXES,
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
    /// Earlier versions kept per operation for rollback. Default 5.
    pub versions_kept: usize,
    /// Directories watched while serving: `.wasm` files added, replaced or deleted there
    /// are loaded, replaced or unloaded. Default none.
    pub watch_dirs: Vec<PathBuf>,
    /// Quiet time before a watched file is acted on, in milliseconds. Default 500.
    pub watch_debounce_ms: u64,
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
        }
    }
}

/// Limits for one operation, replacing the defaults and the operation's own hints.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperationOverride {
    pub memory_mib: Option<u32>,
    pub timeout_ms: Option<u32>,
}

/// Capabilities granted per source of components. Built-in operations get every
/// capability they import.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapabilitySettings {
    /// Capabilities granted to components loaded from `operations.dirs` and files.
    /// Default: the read-only ones (`system`).
    pub directory: Vec<String>,
    /// Capabilities granted to uploaded components. Default: the read-only ones.
    pub upload: Vec<String>,
}

impl Default for CapabilitySettings {
    fn default() -> Self {
        let read_only: Vec<String> = crate::capabilities::Capability::ALL
            .iter()
            .filter(|capability| capability.is_read_only())
            .map(|capability| capability.name().to_owned())
            .collect();
        CapabilitySettings {
            directory: read_only.clone(),
            upload: read_only,
        }
    }
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
        figment
            .extract()
            .map_err(|error| ConfigError(Box::new(error)))
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
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("arsenal.toml", "[limits]\nmemory_mb = 32\n")?;
            let error = Settings::load(Some(Path::new("arsenal.toml"))).unwrap_err();
            assert!(error.to_string().contains("memory_mb"), "{error}");
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
