//! `Grant`: what a test grants one component of the standard capabilities — destinations,
//! shared buckets, configuration values and secrets — as an operator would in
//! `[components.<name>]`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use arsenal::config::{ComponentGrants, ConfigSource, SecretSource, Settings};
use arsenal::spec::DestinationPattern;

use crate::{Error, Upstream};

/// Who a [`Grant`] is for: a table of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Grantee {
    /// `[components.<name>]`: one operation or worker.
    Component(String),
    /// `[sandboxes.<name>]`: every worker process in the sandbox.
    Sandbox(String),
}

impl std::fmt::Display for Grantee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grantee::Component(name) => write!(f, "components.{name}"),
            Grantee::Sandbox(name) => write!(f, "sandboxes.{name}"),
        }
    }
}

/// What [`crate::TestHostBuilder::grant`] grants one component, or
/// [`crate::TestHostBuilder::grant_sandbox`] every worker in a sandbox. Each method adds
/// to it.
#[must_use]
#[derive(Debug, Clone, Default)]
pub struct Grant {
    outbound_hosts: Vec<String>,
    buckets: Vec<String>,
    config: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
}

impl Grant {
    /// Let it call `pattern` over HTTP: `scheme://host:port`, `*` for any scheme or
    /// port, `*.example.com` for any name under a domain. A pattern that is none fails
    /// [`crate::TestHostBuilder::start`].
    pub fn outbound(mut self, pattern: impl Into<String>) -> Grant {
        self.outbound_hosts.push(pattern.into());
        self
    }

    /// Let it call `upstream`: its exact origin, the only way a loopback address is
    /// granted.
    pub fn upstream(self, upstream: &Upstream) -> Grant {
        self.outbound(upstream.origin())
    }

    /// Let it open the shared bucket `name` (an operation: if it requests it in its
    /// config).
    pub fn bucket(mut self, name: impl Into<String>) -> Grant {
        self.buckets.push(name.into());
        self
    }

    /// Give it the configuration value `key`.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Grant {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Give it the secret `key`: written to a file of the test host's own (removed with
    /// it), which the host reads as it reads an operator's `{ file = "..." }` secret (less
    /// one trailing newline).
    pub fn secret(mut self, key: impl Into<String>, value: impl Into<String>) -> Grant {
        self.secrets.insert(key.into(), value.into());
        self
    }

    /// Add this grant to `grantee`'s table in `settings`, with the capabilities it needs
    /// granted to components from directories and files; its secrets are written to files
    /// in `secrets`.
    pub(crate) fn apply(
        self,
        grantee: &Grantee,
        settings: &mut Settings,
        secrets: &Path,
    ) -> Result<(), Error> {
        let needs = [
            ("outbound_http", !self.outbound_hosts.is_empty()),
            ("key_value", !self.buckets.is_empty()),
            (
                "config",
                !self.config.is_empty() || !self.secrets.is_empty(),
            ),
        ];
        let directory = &mut settings.capabilities.directory;
        for (capability, needed) in needs {
            if needed && !directory.iter().any(|name| name == capability) {
                directory.push(capability.to_owned());
            }
        }

        let grants: &mut ComponentGrants = match grantee {
            Grantee::Component(name) => settings.components.entry(name.clone()),
            Grantee::Sandbox(name) => settings.sandboxes.entry(name.clone()),
        }
        .or_default();
        for pattern in self.outbound_hosts {
            let parsed = pattern
                .parse::<DestinationPattern>()
                .map_err(|source| Error::Grant {
                    grantee: grantee.to_string(),
                    pattern,
                    source,
                })?;
            grants.outbound_hosts.push(parsed);
        }
        grants.buckets.extend(self.buckets);
        for (key, value) in self.config {
            grants.config.insert(key, ConfigSource::Text(value));
        }
        for (key, value) in self.secrets {
            let file = write_private(secrets, &value)?;
            grants.secrets.insert(key, SecretSource::File { file });
        }
        Ok(())
    }
}

/// Write `value` to a new file in `dir` that only this user may read; its path.
fn write_private(dir: &Path, value: &str) -> Result<PathBuf, Error> {
    let failed = |source| Error::Write {
        path: dir.to_owned(),
        source,
    };
    let mut file = tempfile::Builder::new()
        .prefix("secret-")
        .tempfile_in(dir)
        .map_err(failed)?;
    file.write_all(value.as_bytes()).map_err(failed)?;
    // Removed with `dir`, when the test host is dropped.
    let (_, path) = file.keep().map_err(|error| failed(error.error))?;
    Ok(path)
}
