//! A component's configuration, resolved from its sources: the map every instance of it
//! reads, and what the catalogue may show of it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use wasmtime_wasi_config::WasiConfigVariables;

use super::source::{ConfigSource, InvalidConfigGrant, SecretSource, valid_key};
use crate::granted::Granted;

/// One component's resolved configuration. Its `Debug` names keys, never values.
#[derive(Clone, Default)]
pub struct ConfigValues {
    variables: Arc<WasiConfigVariables>,
    shown: Arc<BTreeMap<String, Shown>>,
}

/// What the catalogue shows of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// A plain value, as the component reads it.
    Value(String),
    /// A secret that has a value (never shown).
    Set,
    /// A key whose source gave nothing: an unset environment variable or an unreadable
    /// file. The component reads no value.
    NotSet,
}

/// What the operator gives one component to read: its `config` and `secrets` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigGrant {
    pub config: BTreeMap<String, ConfigSource>,
    pub secrets: BTreeMap<String, SecretSource>,
}

impl ConfigGrant {
    /// `self`, with the keys of `under` it does not name itself, plain or secret: the
    /// component's own value of a key wins over its sandbox's.
    fn over(&self, under: &ConfigGrant) -> ConfigGrant {
        let own = |key: &String| self.config.contains_key(key) || self.secrets.contains_key(key);
        let mut merged = self.clone();
        for (key, source) in &under.config {
            if !own(key) {
                merged.config.insert(key.clone(), source.clone());
            }
        }
        for (key, source) in &under.secrets {
            if !own(key) {
                merged.secrets.insert(key.clone(), source.clone());
            }
        }
        merged
    }
}

/// The operator's configuration tables of every component and sandbox, checked.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    granted: Arc<Granted<ConfigGrant>>,
}

impl Configuration {
    /// Check every table: no key both plain and secret, every key valid.
    pub fn new(granted: Granted<ConfigGrant>) -> Result<Configuration, InvalidConfigGrant> {
        for (grantee, grants) in granted.iter() {
            for key in grants.config.keys().chain(grants.secrets.keys()) {
                if !valid_key(key) {
                    return Err(InvalidConfigGrant::Key {
                        grantee,
                        key: key.clone(),
                    });
                }
            }
            if let Some(key) = grants
                .config
                .keys()
                .find(|key| grants.secrets.contains_key(*key))
            {
                return Err(InvalidConfigGrant::Both {
                    grantee,
                    key: key.clone(),
                });
            }
        }
        Ok(Configuration {
            granted: Arc::new(granted),
        })
    }

    /// The configuration of `component`, resolved now.
    pub fn for_component(&self, component: &str) -> ConfigValues {
        ConfigValues::resolve(component, self.granted.component(component))
    }

    /// The configuration of a process of worker `name` in `sandbox` (by name), or outside
    /// one, resolved now: its own keys, and its sandbox's keys it does not name itself.
    pub fn for_worker(&self, name: &str, sandbox: Option<&str>) -> ConfigValues {
        match (self.granted.component(name), self.granted.sandbox(sandbox)) {
            (Some(own), Some(in_sandbox)) => {
                ConfigValues::resolve(name, Some(&own.over(in_sandbox)))
            }
            (own, in_sandbox) => ConfigValues::resolve(name, own.or(in_sandbox)),
        }
    }
}

impl ConfigValues {
    /// Resolve the configuration of `component` now: environment variables and files are
    /// read once, so a changed secret reaches the component when it is loaded or started
    /// again. A source that gives nothing is logged by name, and the key left unset.
    pub fn resolve(component: &str, grants: Option<&ConfigGrant>) -> ConfigValues {
        let Some(grants) = grants else {
            return ConfigValues::default();
        };
        let mut values = HashMap::new();
        let mut shown = BTreeMap::new();
        for (key, source) in &grants.config {
            let value = match source {
                ConfigSource::Text(text) => Some(text.clone()),
                ConfigSource::Env { env } => read_env(component, key, env),
            };
            shown.insert(
                key.clone(),
                value.clone().map_or(Shown::NotSet, Shown::Value),
            );
            if let Some(value) = value {
                values.insert(key.clone(), value);
            }
        }
        for (key, source) in &grants.secrets {
            let value = match source {
                SecretSource::Env { env } => read_env(component, key, env),
                SecretSource::File { file } => match std::fs::read_to_string(file) {
                    Ok(text) => Some(text.strip_suffix('\n').unwrap_or(&text).to_owned()),
                    Err(error) => {
                        tracing::warn!(
                            component,
                            key,
                            file = %file.display(),
                            error = %error,
                            "a secret's file cannot be read: the key is not set"
                        );
                        None
                    }
                },
            };
            shown.insert(
                key.clone(),
                if value.is_some() {
                    Shown::Set
                } else {
                    Shown::NotSet
                },
            );
            if let Some(value) = value {
                values.insert(key.clone(), value);
            }
        }
        ConfigValues {
            variables: Arc::new(values.into_iter().collect()),
            shown: Arc::new(shown),
        }
    }

    /// Every key, with its plain value or whether the secret is set.
    pub fn shown(&self) -> &BTreeMap<String, Shown> {
        &self.shown
    }

    pub(super) fn variables(&self) -> &WasiConfigVariables {
        &self.variables
    }
}

fn read_env(component: &str, key: &str, env: &str) -> Option<String> {
    match std::env::var(env) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(
                component,
                key,
                env,
                error = %error,
                "a configuration value's environment variable is not usable: the key is not set"
            );
            None
        }
    }
}

impl fmt::Debug for ConfigValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.shown.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(config: &[(&str, ConfigSource)], secrets: &[(&str, SecretSource)]) -> ConfigGrant {
        ConfigGrant {
            config: config
                .iter()
                .map(|(key, source)| ((*key).to_owned(), source.clone()))
                .collect(),
            secrets: secrets
                .iter()
                .map(|(key, source)| ((*key).to_owned(), source.clone()))
                .collect(),
        }
    }

    #[test]
    fn values_resolve_from_text_files_and_missing_sources() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cr3t-value\n").unwrap();
        let grants = grants(
            &[
                ("channel", ConfigSource::Text("#ops".into())),
                (
                    "region",
                    ConfigSource::Env {
                        env: "ARSENAL_TEST_UNSET_REGION_VARIABLE".into(),
                    },
                ),
            ],
            &[
                ("token", SecretSource::File { file }),
                (
                    "missing",
                    SecretSource::File {
                        file: dir.path().join("absent"),
                    },
                ),
            ],
        );
        let values = ConfigValues::resolve("notify", Some(&grants));
        assert_eq!(
            values.shown().iter().collect::<Vec<_>>(),
            [
                (&"channel".to_owned(), &Shown::Value("#ops".into())),
                (&"missing".to_owned(), &Shown::NotSet),
                (&"region".to_owned(), &Shown::NotSet),
                (&"token".to_owned(), &Shown::Set),
            ]
        );
        let debug = format!("{values:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("#ops"),
            "{debug}"
        );
    }

    #[test]
    fn a_key_both_plain_and_secret_or_malformed_is_refused() {
        let both = grants(
            &[("token", ConfigSource::Text("x".into()))],
            &[("token", SecretSource::Env { env: "X".into() })],
        );
        let components = BTreeMap::from([("notify".to_owned(), both)]);
        let granted = Granted {
            components,
            ..Granted::default()
        };
        assert_eq!(
            Configuration::new(granted).unwrap_err().to_string(),
            "components.notify: `token` is both a config value and a secret"
        );
        let bad = grants(&[("a key", ConfigSource::Text("x".into()))], &[]);
        let sandboxes = BTreeMap::from([("edge".to_owned(), bad)]);
        let granted = Granted {
            sandboxes,
            ..Granted::default()
        };
        assert_eq!(
            Configuration::new(granted).unwrap_err().to_string(),
            "sandboxes.edge: the key `a key` is not 1 to 256 letters, digits, `-`, `_` or `.`"
        );
    }

    #[test]
    fn a_worker_reads_its_sandboxs_keys_and_its_own_value_of_a_key_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "sandbox-s3cr3t").unwrap();
        let own = grants(
            &[
                ("channel", ConfigSource::Text("#own".into())),
                ("token", ConfigSource::Text("plain-own".into())),
            ],
            &[],
        );
        let in_sandbox = grants(
            &[
                ("channel", ConfigSource::Text("#sandbox".into())),
                ("region", ConfigSource::Text("eu".into())),
            ],
            &[
                ("token", SecretSource::File { file: file.clone() }),
                ("key", SecretSource::File { file }),
            ],
        );
        let configuration = Configuration::new(Granted {
            components: BTreeMap::from([("notify".to_owned(), own)]),
            sandboxes: BTreeMap::from([("edge".to_owned(), in_sandbox)]),
        })
        .unwrap();
        let value = |key: &str| Shown::Value(key.to_owned());
        assert_eq!(
            *configuration.for_worker("notify", Some("edge")).shown(),
            BTreeMap::from([
                ("channel".to_owned(), value("#own")),
                ("key".to_owned(), Shown::Set),
                ("region".to_owned(), value("eu")),
                ("token".to_owned(), value("plain-own")),
            ])
        );
        assert_eq!(
            *configuration.for_worker("notify", None).shown(),
            BTreeMap::from([
                ("channel".to_owned(), value("#own")),
                ("token".to_owned(), value("plain-own")),
            ])
        );
        assert_eq!(
            *configuration.for_worker("other", Some("edge")).shown(),
            BTreeMap::from([
                ("channel".to_owned(), value("#sandbox")),
                ("key".to_owned(), Shown::Set),
                ("region".to_owned(), value("eu")),
                ("token".to_owned(), Shown::Set),
            ])
        );
        assert_eq!(
            configuration
                .for_worker("notify", Some("lab"))
                .shown()
                .len(),
            2,
            "a sandbox granted nothing adds nothing"
        );
    }
}
