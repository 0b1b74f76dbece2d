//! The settings of key-value storage (`[keyvalue]`): the local store's page cache, the
//! quotas every bucket has, and which keys hold secrets.

use serde::{Deserialize, Serialize};

use super::secret::DEFAULT_SECRET_KEYS;

/// Key-value storage. Buckets are kept in `server.state_dir` (`keyvalue.redb`, in memory
/// when persistence is off), or in NATS JetStream key-value when the host is clustered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyValueSettings {
    /// Page cache of the local store, in MiB: what it keeps in memory of the database
    /// however large the file grows. Default 16.
    pub cache_mib: u64,
    /// Largest value one key may hold, in bytes. Default 1 MiB.
    pub max_value_bytes: u64,
    /// Keys one bucket may hold. Default 10,000.
    pub max_keys: u64,
    /// Bytes one bucket may hold, its keys and values together. Default 64 MiB.
    pub max_bucket_bytes: u64,
    /// Keys whose values the storage built-ins and the console never show (only their
    /// size, marked secret): glob patterns matched case-insensitively against the whole
    /// key. Default: keys containing `secret`, `password`, `passwd`, `token`,
    /// `credential`, `api_key`, `apikey` or `private_key`.
    pub secret_keys: Vec<String>,
}

impl Default for KeyValueSettings {
    fn default() -> Self {
        KeyValueSettings {
            cache_mib: 16,
            max_value_bytes: 1024 * 1024,
            max_keys: 10_000,
            max_bucket_bytes: 64 * 1024 * 1024,
            secret_keys: DEFAULT_SECRET_KEYS
                .iter()
                .map(|pattern| (*pattern).to_owned())
                .collect(),
        }
    }
}

/// The quotas of every bucket, as the store checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub max_value_bytes: u64,
    pub max_keys: u64,
    pub max_bucket_bytes: u64,
}

impl From<&KeyValueSettings> for Quotas {
    fn from(settings: &KeyValueSettings) -> Quotas {
        Quotas {
            max_value_bytes: settings.max_value_bytes,
            max_keys: settings.max_keys,
            max_bucket_bytes: settings.max_bucket_bytes,
        }
    }
}
