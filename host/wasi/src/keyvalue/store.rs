//! [`KeyValueStore`]: where buckets are kept, chosen when the host is assembled — the
//! local database ([`LocalStore`]) or, in a cluster, NATS JetStream key-value
//! ([`ClusterStore`]) — and the errors every backend answers in.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::bucket::BucketId;
use super::cluster::ClusterStore;
use super::local::LocalStore;
use super::settings::Quotas;

/// Keys one `list-keys` page holds at most.
pub const PAGE_KEYS: usize = 1000;

/// Why a storage call failed; each becomes the interface's `other` error for the guest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The write would take the bucket over a quota.
    #[error("quota exceeded: {0}")]
    Quota(String),
    /// Another writer changed the key between this call's read and its write.
    #[error("conflict: `{key}` was changed by another writer")]
    Conflict { key: String },
    /// The stored value is not what the call needs (an `increment` of a non-number).
    #[error("{0}")]
    Value(String),
    /// The store itself failed (disk, NATS); the detail is logged, not given to guests.
    #[error("the key-value store failed: {0}")]
    Failed(String),
}

impl StoreError {
    pub(crate) fn failed(error: impl std::fmt::Display) -> StoreError {
        StoreError::Failed(error.to_string())
    }
}

/// One page of a bucket's keys, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    pub keys: Vec<String>,
    /// Where the next page starts; `None` on the last.
    pub cursor: Option<u64>,
}

/// What one bucket holds: its keys, and its bytes (locally its keys and values together;
/// in a cluster what JetStream stores for it, its messages' overhead included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUsage {
    pub bucket: BucketId,
    pub keys: u64,
    pub bytes: u64,
}

pub(crate) enum Backend {
    Local(LocalStore),
    Cluster(Box<ClusterStore>),
}

/// The host's buckets: one per host, shared by every instance's grants. Cheap to clone.
#[derive(Clone)]
pub struct KeyValueStore {
    backend: Arc<ArcSwap<Backend>>,
    quotas: Quotas,
}

impl std::fmt::Debug for KeyValueStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match **self.backend.load() {
            Backend::Local(_) => "local",
            Backend::Cluster(_) => "cluster",
        };
        f.debug_struct("KeyValueStore")
            .field("backend", &kind)
            .field("quotas", &self.quotas)
            .finish()
    }
}

impl KeyValueStore {
    /// Buckets kept by `local`.
    pub fn local(local: LocalStore, quotas: Quotas) -> KeyValueStore {
        KeyValueStore {
            backend: Arc::new(ArcSwap::from_pointee(Backend::Local(local))),
            quotas,
        }
    }

    /// From now on, keep buckets in the cluster (the host joined NATS): every node then
    /// sees the same data. What the local store holds stays there.
    pub fn use_cluster(&self, cluster: ClusterStore) {
        self.backend
            .store(Arc::new(Backend::Cluster(Box::new(cluster))));
    }

    /// Whether buckets are kept in the cluster.
    pub fn is_clustered(&self) -> bool {
        matches!(**self.backend.load(), Backend::Cluster(_))
    }

    pub fn quotas(&self) -> Quotas {
        self.quotas
    }

    pub async fn get(&self, bucket: &BucketId, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match &*self.backend.load_full() {
            Backend::Local(local) => local.get(bucket, key).await,
            Backend::Cluster(cluster) => cluster.get(bucket, key).await,
        }
    }

    pub async fn set(
        &self,
        bucket: &BucketId,
        key: &str,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.set_many(bucket, vec![(key.to_owned(), value)]).await
    }

    pub async fn delete(&self, bucket: &BucketId, key: &str) -> Result<(), StoreError> {
        self.delete_many(bucket, vec![key.to_owned()]).await
    }

    pub async fn exists(&self, bucket: &BucketId, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(bucket, key).await?.is_some())
    }

    pub async fn list_keys(&self, bucket: &BucketId, cursor: u64) -> Result<KeyPage, StoreError> {
        match &*self.backend.load_full() {
            Backend::Local(local) => local.list_keys(bucket, cursor).await,
            Backend::Cluster(cluster) => cluster.list_keys(bucket, cursor).await,
        }
    }

    /// Every bucket holding at least one key, by name.
    pub async fn buckets(&self) -> Result<Vec<BucketUsage>, StoreError> {
        let mut buckets = match &*self.backend.load_full() {
            Backend::Local(local) => local.buckets().await,
            Backend::Cluster(cluster) => cluster.buckets().await,
        }?;
        buckets.retain(|usage| usage.keys > 0);
        buckets.sort_by(|a, b| a.bucket.cmp(&b.bucket));
        Ok(buckets)
    }

    /// What `bucket` holds; `None` when it holds no key.
    pub async fn usage(&self, bucket: &BucketId) -> Result<Option<BucketUsage>, StoreError> {
        let usage = match &*self.backend.load_full() {
            Backend::Local(local) => local.usage(bucket).await,
            Backend::Cluster(cluster) => cluster.usage(bucket).await,
        }?;
        Ok(usage.filter(|usage| usage.keys > 0))
    }

    /// Add `delta` to the decimal number under `key` (0 when absent), atomically.
    pub async fn increment(
        &self,
        bucket: &BucketId,
        key: &str,
        delta: u64,
    ) -> Result<u64, StoreError> {
        match &*self.backend.load_full() {
            Backend::Local(local) => local.increment(bucket, key, delta, self.quotas).await,
            Backend::Cluster(cluster) => cluster.increment(bucket, key, delta, self.quotas).await,
        }
    }

    pub async fn get_many(
        &self,
        bucket: &BucketId,
        keys: Vec<String>,
    ) -> Result<Vec<Option<(String, Vec<u8>)>>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let value = self.get(bucket, &key).await?;
            found.push(value.map(|value| (key, value)));
        }
        Ok(found)
    }

    pub async fn set_many(
        &self,
        bucket: &BucketId,
        entries: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        if let Some((key, value)) = entries
            .iter()
            .find(|(_, value)| value.len() as u64 > self.quotas.max_value_bytes)
        {
            return Err(StoreError::Quota(format!(
                "the value of `{key}` is {} bytes, over the limit of {} bytes",
                value.len(),
                self.quotas.max_value_bytes
            )));
        }
        match &*self.backend.load_full() {
            Backend::Local(local) => local.set_many(bucket, entries, self.quotas).await,
            Backend::Cluster(cluster) => cluster.set_many(bucket, entries, self.quotas).await,
        }
    }

    pub async fn delete_many(
        &self,
        bucket: &BucketId,
        keys: Vec<String>,
    ) -> Result<(), StoreError> {
        match &*self.backend.load_full() {
            Backend::Local(local) => local.delete_many(bucket, keys).await,
            Backend::Cluster(cluster) => cluster.delete_many(bucket, keys).await,
        }
    }
}

/// The number an `increment` adds to: the value as a decimal `u64`.
pub(crate) fn counter(key: &str, value: Option<&[u8]>) -> Result<u64, StoreError> {
    let Some(value) = value else {
        return Ok(0);
    };
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| StoreError::Value(format!("the value of `{key}` is not a decimal u64")))
}

/// `current + delta`, or the error an overflow is.
pub(crate) fn incremented(key: &str, current: u64, delta: u64) -> Result<u64, StoreError> {
    current
        .checked_add(delta)
        .ok_or_else(|| StoreError::Value(format!("incrementing `{key}` overflows a u64")))
}
