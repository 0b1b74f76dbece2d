//! A component's configuration, resolved from its sources: the map every instance of it
//! reads, and what the catalogue may show of it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use wasmtime_wasi_config::WasiConfigVariables;

use super::source::{ConfigSource, InvalidConfigGrant, SecretSource, valid_key};

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

/// The operator's configuration tables of every component, checked.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    components: Arc<BTreeMap<String, ConfigGrant>>,
}

impl Configuration {
    /// Check every component's tables: no key both plain and secret, every key valid.
    pub fn new(
        components: BTreeMap<String, ConfigGrant>,
    ) -> Result<Configuration, InvalidConfigGrant> {
        for (component, grants) in &components {
            for key in grants.config.keys().chain(grants.secrets.keys()) {
                if !valid_key(key) {
                    return Err(InvalidConfigGrant::Key {
                        component: component.clone(),
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
                    component: component.clone(),
                    key: key.clone(),
                });
            }
        }
        Ok(Configuration {
            components: Arc::new(components),
        })
    }

    /// The configuration of `component`, resolved now.
    pub fn for_component(&self, component: &str) -> ConfigValues {
        ConfigValues::resolve(component, self.components.get(component))
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
        assert_eq!(
            Configuration::new(components).unwrap_err().to_string(),
            "components.notify: `token` is both a config value and a secret"
        );
        let bad = grants(&[("a key", ConfigSource::Text("x".into()))], &[]);
        let components = BTreeMap::from([("notify".to_owned(), bad)]);
        assert_eq!(
            Configuration::new(components).unwrap_err().to_string(),
            "components.notify: the key `a key` is not 1 to 256 letters, digits, `-`, `_` or `.`"
        );
    }
}
