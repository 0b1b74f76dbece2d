//! [`ClusterStore`]: buckets in NATS JetStream key-value, so every node of a cluster sees
//! the same data. Each bucket is a JetStream key-value bucket of its own (named by a hash
//! of the bucket's full name, which its description carries), whose stream limits are the
//! bucket's quotas: values over the size limit and writes past the byte limit are refused
//! by the server. An `increment` is a read and a write conditional on the revision read;
//! losing that race to another writer is retried a few times, then reported.
//!
//! Every NATS call is bounded by the cluster's call timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::TryStreamExt as _;

use super::bucket::BucketId;
use super::settings::Quotas;
use super::store::{BucketUsage, KeyPage, PAGE_KEYS, StoreError, counter, incremented};

/// Attempts of one `increment` before a lost race is reported.
const INCREMENT_ATTEMPTS: usize = 8;

/// Buckets in the cluster's JetStream.
#[derive(Clone)]
pub struct ClusterStore {
    js: jetstream::Context,
    timeout: Duration,
    quotas: Quotas,
    opened: Arc<Mutex<HashMap<BucketId, kv::Store>>>,
}

/// The stream of the JetStream key-value bucket `name` (history 1), as
/// `Context::create_key_value` makes it. Made by hand because that call reads the
/// account's JetStream info first, which async-nats cannot parse from nats-server 2.9
/// (Debian bookworm's; it lacks `reserved_memory`); the bucket is the same stream either
/// way, so servers and clients of other versions share it.
pub fn key_value_stream(name: &str) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    }
}

impl ClusterStore {
    /// Buckets in `js`, every call bounded by `timeout`; `quotas` become each bucket's
    /// stream limits when it is created.
    pub fn new(js: jetstream::Context, timeout: Duration, quotas: Quotas) -> ClusterStore {
        ClusterStore {
            js,
            timeout,
            quotas,
            opened: Arc::default(),
        }
    }

    async fn bounded<T, E: std::fmt::Display>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(done) => done.map_err(StoreError::failed),
            Err(_) => Err(StoreError::Failed(format!(
                "NATS did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    /// The bucket's JetStream key-value store, created when missing.
    async fn bucket(&self, bucket: &BucketId) -> Result<kv::Store, StoreError> {
        if let Some(store) = self
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(bucket)
        {
            return Ok(store.clone());
        }
        let name = stream_bucket(bucket);
        let store = match self.bounded(self.js.get_key_value(&name)).await {
            Ok(store) => store,
            Err(_) => {
                self.bounded(self.js.get_or_create_stream(jetstream::stream::Config {
                    description: Some(bucket.to_string()),
                    max_message_size:
                        i32::try_from(self.quotas.max_value_bytes + 4096).unwrap_or(i32::MAX),
                    max_bytes: i64::try_from(self.quotas.max_bucket_bytes).unwrap_or(i64::MAX),
                    ..key_value_stream(&name)
                }))
                .await?;
                self.bounded(self.js.get_key_value(&name)).await?
            }
        };
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(bucket.clone(), store.clone());
        Ok(store)
    }

    pub(crate) async fn get(
        &self,
        bucket: &BucketId,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let store = self.bucket(bucket).await?;
        let value = self.bounded(store.get(subject_key(key))).await?;
        Ok(value.map(|value| value.to_vec()))
    }

    pub(crate) async fn list_keys(
        &self,
        bucket: &BucketId,
        cursor: u64,
    ) -> Result<KeyPage, StoreError> {
        let store = self.bucket(bucket).await?;
        let mut keys = self.keys(&store).await?;
        keys.sort();
        let skip = usize::try_from(cursor)
            .unwrap_or(usize::MAX)
            .min(keys.len());
        let rest = keys.split_off(skip);
        let more = rest.len() > PAGE_KEYS;
        let keys: Vec<String> = rest.into_iter().take(PAGE_KEYS).collect();
        let cursor = more.then(|| cursor + keys.len() as u64);
        Ok(KeyPage { keys, cursor })
    }

    /// The live keys of `store`, as guests name them.
    async fn keys(&self, store: &kv::Store) -> Result<Vec<String>, StoreError> {
        let subjects = self
            .bounded(async {
                let keys = store.keys().await.map_err(StoreError::failed)?;
                keys.try_collect::<Vec<String>>()
                    .await
                    .map_err(StoreError::failed)
            })
            .await?;
        Ok(subjects
            .iter()
            .filter_map(|subject| guest_key(subject))
            .collect())
    }

    /// Every bucket kept in JetStream: the streams this store made, each named by its
    /// description.
    pub(crate) async fn buckets(&self) -> Result<Vec<BucketUsage>, StoreError> {
        let streams: Vec<jetstream::stream::Info> = self
            .bounded(self.js.streams().try_collect::<Vec<_>>())
            .await?;
        let mut buckets = Vec::new();
        for info in streams {
            let Some(description) = &info.config.description else {
                continue;
            };
            let bucket = BucketId::stored(description);
            if info.config.name != format!("KV_{}", stream_bucket(&bucket)) {
                continue;
            }
            buckets.push(self.counted(bucket, &info).await?);
        }
        Ok(buckets)
    }

    /// What `bucket` holds, without creating it; `None` when it was never made.
    pub(crate) async fn usage(&self, bucket: &BucketId) -> Result<Option<BucketUsage>, StoreError> {
        let name = format!("KV_{}", stream_bucket(bucket));
        let found = tokio::time::timeout(self.timeout, self.js.get_stream(&name)).await;
        let stream = match found {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => match error.kind() {
                jetstream::context::GetStreamErrorKind::JetStream(error)
                    if error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    return Ok(None);
                }
                _ => return Err(StoreError::failed(error)),
            },
            Err(_) => {
                return Err(StoreError::Failed(format!(
                    "NATS did not answer within {:?}",
                    self.timeout
                )));
            }
        };
        let info = stream.cached_info().clone();
        Ok(Some(self.counted(bucket.clone(), &info).await?))
    }

    /// A bucket's usage: its live keys (a deleted key's marker is not one) and the bytes
    /// its stream stores.
    async fn counted(
        &self,
        bucket: BucketId,
        info: &jetstream::stream::Info,
    ) -> Result<BucketUsage, StoreError> {
        let store = self.bucket(&bucket).await?;
        let keys = self.keys(&store).await?.len() as u64;
        Ok(BucketUsage {
            bucket,
            keys,
            bytes: info.state.bytes,
        })
    }

    pub(crate) async fn set_many(
        &self,
        bucket: &BucketId,
        entries: Vec<(String, Vec<u8>)>,
        quotas: Quotas,
    ) -> Result<(), StoreError> {
        let store = self.bucket(bucket).await?;
        for (key, value) in entries {
            self.admit_key(&store, bucket, &key, quotas).await?;
            let put = self
                .bounded(store.put(subject_key(&key), value.into()))
                .await;
            put.map_err(|error| over_limits(bucket, error))?;
        }
        Ok(())
    }

    /// Refuse a new key once the bucket holds its limit of keys. The count is the
    /// stream's: a deleted key counts until its marker is compacted.
    async fn admit_key(
        &self,
        store: &kv::Store,
        bucket: &BucketId,
        key: &str,
        quotas: Quotas,
    ) -> Result<(), StoreError> {
        let held = self.bounded(store.status()).await?.values();
        if held < quotas.max_keys {
            return Ok(());
        }
        let existing = self.bounded(store.entry(subject_key(key))).await?;
        if existing.is_some_and(|entry| entry.operation == kv::Operation::Put) {
            return Ok(());
        }
        Err(StoreError::Quota(format!(
            "bucket `{bucket}` holds its limit of {} keys",
            quotas.max_keys
        )))
    }

    pub(crate) async fn delete_many(
        &self,
        bucket: &BucketId,
        keys: Vec<String>,
    ) -> Result<(), StoreError> {
        let store = self.bucket(bucket).await?;
        for key in keys {
            self.bounded(store.purge(subject_key(&key))).await?;
        }
        Ok(())
    }

    /// Read the value and its revision, write the sum only if the revision is unchanged;
    /// a write lost to another node is tried again, up to [`INCREMENT_ATTEMPTS`] times.
    pub(crate) async fn increment(
        &self,
        bucket: &BucketId,
        key: &str,
        delta: u64,
        quotas: Quotas,
    ) -> Result<u64, StoreError> {
        let store = self.bucket(bucket).await?;
        let subject = subject_key(key);
        for _ in 0..INCREMENT_ATTEMPTS {
            let entry = self.bounded(store.entry(subject.clone())).await?;
            let live = entry
                .as_ref()
                .filter(|entry| entry.operation == kv::Operation::Put);
            let current = counter(key, live.map(|entry| entry.value.as_ref()))?;
            let next = incremented(key, current, delta)?;
            let value = next.to_string().into_bytes().into();
            let written = match &entry {
                Some(entry) => {
                    self.bounded(store.update(&subject, value, entry.revision))
                        .await
                }
                None => {
                    self.admit_key(&store, bucket, key, quotas).await?;
                    self.bounded(store.create(&subject, value)).await
                }
            };
            match written {
                Ok(_) => return Ok(next),
                Err(StoreError::Failed(reason)) if lost_race(&reason) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Conflict {
            key: key.to_owned(),
        })
    }
}

/// The JetStream key-value bucket holding `bucket`: a hash of its full name, since bucket
/// names there are letters, digits, `-` and `_` only.
fn stream_bucket(bucket: &BucketId) -> String {
    let hash = blake3::hash(bucket.as_str().as_bytes());
    format!("arsenal-kv-{}", &hash.to_hex()[..32])
}

/// A guest's key as a NATS key (letters, digits and a few marks only): `k` and its bytes
/// in hex.
fn subject_key(key: &str) -> String {
    format!("k{}", hex::encode(key))
}

fn guest_key(subject: &str) -> Option<String> {
    let bytes = hex::decode(subject.strip_prefix('k')?).ok()?;
    String::from_utf8(bytes).ok()
}

/// Whether a conditional write failed because another writer came first.
fn lost_race(reason: &str) -> bool {
    reason.contains("wrong last") || reason.contains("already exists")
}

/// A put the server refused for the stream's limits is over the bucket's quota.
fn over_limits(bucket: &BucketId, error: StoreError) -> StoreError {
    match error {
        StoreError::Failed(reason) if reason.contains("maximum") => {
            StoreError::Quota(format!("bucket `{bucket}` is full ({reason})"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_nats_subjects() {
        for key in ["", "plain", "with space/and.dots", "ünïcode"] {
            let subject = subject_key(key);
            assert!(
                subject.bytes().all(|byte| byte.is_ascii_alphanumeric()),
                "{subject}"
            );
            assert_eq!(guest_key(&subject).as_deref(), Some(key));
        }
    }
}
