//! Capabilities `storage` and `storage_control` (`arsenal:runtime/storage`,
//! `arsenal:runtime/storage-control`): every component's key-value buckets as the host's
//! [`KeyValueStore`] keeps them, for the storage built-ins and the console. A key that
//! `keyvalue.secret_keys` marks secret is answered with its size, never its value.

use arsenal_wasi::keyvalue::{
    BucketId, BucketUsage, KeyValueStore, MAX_KEY, PAGE_KEYS, StoreError,
};
use wasmtime::component::Linker;

use crate::bindings::arsenal::runtime::storage::{
    self as wit, BucketInfo, Entry, KeyInfo, KeyPage, StorageError as Refused,
};
use crate::bindings::arsenal::runtime::storage_control as control;
use crate::policy::Capability;

use super::{Gated, Granted, Reach, RuntimeView};

/// Link this module's interfaces, each behind its capability.
pub(super) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::Storage)
    })?;
    control::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::StorageControl)
    })?;
    Ok(())
}

type Answer<T> = wasmtime::Result<Result<T, Refused>>;

/// A store failure as the caller sees it: a quota is the caller's to fix; a failure of the
/// store itself is logged with the request, and answered only as unavailable.
fn refused(reach: &Reach<'_>, error: StoreError) -> Refused {
    match error {
        StoreError::Quota(message) => Refused::QuotaExceeded(message),
        StoreError::Conflict { .. } | StoreError::Value(_) => {
            Refused::Unavailable(error.to_string())
        }
        StoreError::Failed(detail) => {
            tracing::warn!(request_id = reach.request_id, %detail, "key-value store call failed");
            Refused::Unavailable("the key-value store failed".to_owned())
        }
    }
}

fn bucket(name: &str) -> Result<BucketId, Refused> {
    BucketId::parse(name).map_err(|error| Refused::InvalidBucket(error.to_string()))
}

fn check_key(key: &str) -> Result<(), Refused> {
    if key.is_empty() {
        return Err(Refused::InvalidKey("a key is not empty".to_owned()));
    }
    if key.len() > MAX_KEY {
        return Err(Refused::InvalidKey(format!(
            "a key of {} bytes is over the limit of {MAX_KEY} bytes",
            key.len()
        )));
    }
    Ok(())
}

fn info(usage: &BucketUsage) -> BucketInfo {
    let parts = usage.bucket.parts();
    BucketInfo {
        name: usage.bucket.to_string(),
        owner_kind: parts.kind.to_owned(),
        owner: parts.owner.to_owned(),
        identifier: parts.identifier.to_owned(),
        keys: usage.keys,
        bytes: usage.bytes,
    }
}

impl Reach<'_> {
    fn store(&self) -> &KeyValueStore {
        &self.host.keyvalue
    }

    /// `key`'s entry: its size, and its value unless it is secret.
    fn entry(&self, key: String, value: Vec<u8>) -> Entry {
        let secret = self.host.secret_keys.is_secret(&key);
        Entry {
            size: value.len() as u64,
            value: (!secret).then_some(value),
            secret,
            key,
        }
    }

    /// The usage of a bucket that holds a key, or `bucket-not-found`.
    async fn existing(&self, bucket: &BucketId) -> Result<BucketUsage, Refused> {
        self.store()
            .usage(bucket)
            .await
            .map_err(|error| refused(self, error))?
            .ok_or_else(|| Refused::BucketNotFound(format!("no bucket `{bucket}` holds a key")))
    }
}

fn key_not_found(bucket: &BucketId, key: &str) -> Refused {
    Refused::KeyNotFound(format!("bucket `{bucket}` holds no key `{key}`"))
}

impl wit::Host for Granted<'_> {
    async fn list_buckets(&mut self, offset: u32, limit: u32) -> Answer<(Vec<BucketInfo>, u64)> {
        let reach = self.reach()?;
        Ok(async {
            let buckets = reach
                .store()
                .buckets()
                .await
                .map_err(|error| refused(reach, error))?;
            let page = buckets
                .iter()
                .skip(offset as usize)
                .take(limit as usize)
                .map(info)
                .collect();
            Ok((page, buckets.len() as u64))
        }
        .await)
    }

    async fn get_bucket(&mut self, name: String) -> Answer<BucketInfo> {
        let reach = self.reach()?;
        Ok(async {
            let bucket = bucket(&name)?;
            Ok(info(&reach.existing(&bucket).await?))
        }
        .await)
    }

    async fn list_keys(&mut self, name: String, offset: u32, limit: u32) -> Answer<KeyPage> {
        let reach = self.reach()?;
        Ok(async {
            let bucket = bucket(&name)?;
            let usage = reach.existing(&bucket).await?;
            let page = reach
                .store()
                .list_keys(&bucket, offset as u64)
                .await
                .map_err(|error| refused(reach, error))?;
            let keys = page
                .keys
                .into_iter()
                .take((limit as usize).min(PAGE_KEYS))
                .map(|key| KeyInfo {
                    secret: reach.host.secret_keys.is_secret(&key),
                    key,
                })
                .collect();
            Ok(KeyPage {
                keys,
                total: usage.keys,
            })
        }
        .await)
    }

    async fn get_value(&mut self, name: String, key: String) -> Answer<Entry> {
        let reach = self.reach()?;
        Ok(async {
            let bucket = bucket(&name)?;
            check_key(&key)?;
            reach.existing(&bucket).await?;
            let value = reach
                .store()
                .get(&bucket, &key)
                .await
                .map_err(|error| refused(reach, error))?
                .ok_or_else(|| key_not_found(&bucket, &key))?;
            Ok(reach.entry(key, value))
        }
        .await)
    }
}

impl control::Host for Granted<'_> {
    async fn set_value(&mut self, name: String, key: String, value: Vec<u8>) -> Answer<Entry> {
        let reach = self.reach()?;
        Ok(async {
            let bucket = bucket(&name)?;
            check_key(&key)?;
            reach
                .store()
                .set(&bucket, &key, value.clone())
                .await
                .map_err(|error| refused(reach, error))?;
            Ok(reach.entry(key, value))
        }
        .await)
    }

    async fn delete_value(&mut self, name: String, key: String) -> Answer<()> {
        let reach = self.reach()?;
        Ok(async {
            let bucket = bucket(&name)?;
            check_key(&key)?;
            reach.existing(&bucket).await?;
            let store = reach.store();
            let held = store
                .exists(&bucket, &key)
                .await
                .map_err(|error| refused(reach, error))?;
            if !held {
                return Err(key_not_found(&bucket, &key));
            }
            store
                .delete(&bucket, &key)
                .await
                .map_err(|error| refused(reach, error))
        }
        .await)
    }
}
