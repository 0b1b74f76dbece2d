//! [`LocalStore`]: buckets in an embedded database (redb, `keyvalue.redb` in the state
//! directory, or in memory when persistence is off) that commits with fsync, so a value
//! set survives the host. Every bucket's usage (keys, bytes) is kept beside its values
//! and changed in the same transaction, so quotas hold under concurrent writers. The page
//! cache is bounded (`keyvalue.cache_mib`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use redb::{Database, ReadableDatabase as _, ReadableTable as _, Table, TableDefinition};

use super::bucket::BucketId;
use super::settings::Quotas;
use super::store::{BucketUsage, KeyPage, PAGE_KEYS, StoreError, counter, incremented};

/// Values by (bucket, key).
const VALUES: TableDefinition<'static, (&'static str, &'static str), &'static [u8]> =
    TableDefinition::new("values");
/// Each bucket's keys and bytes (keys and values together).
const USAGE: TableDefinition<'static, &'static str, (u64, u64)> = TableDefinition::new("usage");

/// The database file in the state directory.
const FILE: &str = "keyvalue.redb";

/// The databases open in this process, by file.
static OPEN: Mutex<BTreeMap<PathBuf, Weak<Database>>> = Mutex::new(BTreeMap::new());

/// Buckets in one redb database.
#[derive(Clone)]
pub struct LocalStore {
    db: Arc<Database>,
}

impl LocalStore {
    /// The store in `dir` (`keyvalue.redb`), created if missing, or in memory without a
    /// directory; its page cache holds at most `cache_bytes`.
    ///
    /// A file can be open once per process: a host started on the state directory of
    /// another in the same process (or of one whose last references are still going
    /// away) shares that one's database, and its cache size.
    pub fn open(dir: Option<&Path>, cache_bytes: usize) -> Result<LocalStore, StoreError> {
        let mut builder = Database::builder();
        builder.set_cache_size(cache_bytes);
        let Some(dir) = dir else {
            let db = builder
                .create_with_backend(redb::backends::InMemoryBackend::new())
                .map_err(StoreError::failed)?;
            return LocalStore::ready(Arc::new(db));
        };
        std::fs::create_dir_all(dir).map_err(StoreError::failed)?;
        let path = dir.canonicalize().map_err(StoreError::failed)?.join(FILE);
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|_, db| db.strong_count() > 0);
        if let Some(db) = open.get(&path).and_then(Weak::upgrade) {
            return Ok(LocalStore { db });
        }
        let db = Arc::new(builder.create(&path).map_err(StoreError::failed)?);
        open.insert(path, Arc::downgrade(&db));
        LocalStore::ready(db)
    }

    /// The store over `db`, its tables made.
    fn ready(db: Arc<Database>) -> Result<LocalStore, StoreError> {
        let txn = db.begin_write().map_err(StoreError::failed)?;
        txn.open_table(VALUES).map_err(StoreError::failed)?;
        txn.open_table(USAGE).map_err(StoreError::failed)?;
        txn.commit().map_err(StoreError::failed)?;
        Ok(LocalStore { db })
    }

    /// Run `work` on a blocking thread: redb's reads and fsynced commits block.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(StoreError::failed)?
    }

    pub(crate) async fn get(
        &self,
        bucket: &BucketId,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (bucket, key) = (bucket.clone(), key.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(StoreError::failed)?;
            let values = txn.open_table(VALUES).map_err(StoreError::failed)?;
            let value = values
                .get((bucket.as_str(), key.as_str()))
                .map_err(StoreError::failed)?;
            Ok(value.map(|value| value.value().to_vec()))
        })
        .await
    }

    pub(crate) async fn list_keys(
        &self,
        bucket: &BucketId,
        cursor: u64,
    ) -> Result<KeyPage, StoreError> {
        let bucket = bucket.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(StoreError::failed)?;
            let values = txn.open_table(VALUES).map_err(StoreError::failed)?;
            let skip = usize::try_from(cursor).unwrap_or(usize::MAX);
            let mut keys = Vec::new();
            let mut more = false;
            for entry in values
                .range((bucket.as_str(), "")..)
                .map_err(StoreError::failed)?
                .skip(skip)
            {
                let (found, _) = entry.map_err(StoreError::failed)?;
                let (found_bucket, key) = found.value();
                if found_bucket != bucket.as_str() {
                    break;
                }
                if keys.len() == PAGE_KEYS {
                    more = true;
                    break;
                }
                keys.push(key.to_owned());
            }
            let cursor = more.then(|| cursor + keys.len() as u64);
            Ok(KeyPage { keys, cursor })
        })
        .await
    }

    /// Every bucket's usage, as kept beside its values.
    pub(crate) async fn buckets(&self) -> Result<Vec<BucketUsage>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(StoreError::failed)?;
            let usage = txn.open_table(USAGE).map_err(StoreError::failed)?;
            usage
                .iter()
                .map_err(StoreError::failed)?
                .map(|entry| {
                    let (bucket, counts) = entry.map_err(StoreError::failed)?;
                    let (keys, bytes) = counts.value();
                    Ok(BucketUsage {
                        bucket: BucketId::stored(bucket.value()),
                        keys,
                        bytes,
                    })
                })
                .collect()
        })
        .await
    }

    pub(crate) async fn usage(&self, bucket: &BucketId) -> Result<Option<BucketUsage>, StoreError> {
        let bucket = bucket.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(StoreError::failed)?;
            let usage = txn.open_table(USAGE).map_err(StoreError::failed)?;
            let counts = usage.get(bucket.as_str()).map_err(StoreError::failed)?;
            Ok(counts.map(|counts| {
                let (keys, bytes) = counts.value();
                BucketUsage {
                    bucket,
                    keys,
                    bytes,
                }
            }))
        })
        .await
    }

    pub(crate) async fn set_many(
        &self,
        bucket: &BucketId,
        entries: Vec<(String, Vec<u8>)>,
        quotas: Quotas,
    ) -> Result<(), StoreError> {
        let bucket = bucket.clone();
        self.blocking(move |db| {
            write(db, |values, usage| {
                for (key, value) in &entries {
                    put(values, usage, &bucket, key, value, quotas)?;
                }
                Ok(())
            })
        })
        .await
    }

    pub(crate) async fn delete_many(
        &self,
        bucket: &BucketId,
        keys: Vec<String>,
    ) -> Result<(), StoreError> {
        let bucket = bucket.clone();
        self.blocking(move |db| {
            write(db, |values, usage| {
                for key in &keys {
                    remove(values, usage, &bucket, key)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Read, add and write in one write transaction: redb runs one at a time, so no other
    /// writer comes between.
    pub(crate) async fn increment(
        &self,
        bucket: &BucketId,
        key: &str,
        delta: u64,
        quotas: Quotas,
    ) -> Result<u64, StoreError> {
        let (bucket, key) = (bucket.clone(), key.to_owned());
        self.blocking(move |db| {
            write(db, |values, usage| {
                let current = {
                    let stored = values
                        .get((bucket.as_str(), key.as_str()))
                        .map_err(StoreError::failed)?;
                    counter(&key, stored.as_ref().map(|value| value.value()))?
                };
                let next = incremented(&key, current, delta)?;
                put(
                    values,
                    usage,
                    &bucket,
                    &key,
                    next.to_string().as_bytes(),
                    quotas,
                )?;
                Ok(next)
            })
        })
        .await
    }
}

type Values<'txn> = Table<'txn, (&'static str, &'static str), &'static [u8]>;
type Usage<'txn> = Table<'txn, &'static str, (u64, u64)>;

/// Run `change` in one write transaction, committed only when it succeeds.
fn write<T>(
    db: &Database,
    change: impl FnOnce(&mut Values<'_>, &mut Usage<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let txn = db.begin_write().map_err(StoreError::failed)?;
    let done = {
        let mut values = txn.open_table(VALUES).map_err(StoreError::failed)?;
        let mut usage = txn.open_table(USAGE).map_err(StoreError::failed)?;
        change(&mut values, &mut usage)?
    };
    txn.commit().map_err(StoreError::failed)?;
    Ok(done)
}

fn usage_of(usage: &Usage<'_>, bucket: &BucketId) -> Result<(u64, u64), StoreError> {
    Ok(usage
        .get(bucket.as_str())
        .map_err(StoreError::failed)?
        .map_or((0, 0), |found| found.value()))
}

/// Set one value, keeping the bucket's usage and refusing what would take it over a quota.
fn put(
    values: &mut Values<'_>,
    usage: &mut Usage<'_>,
    bucket: &BucketId,
    key: &str,
    value: &[u8],
    quotas: Quotas,
) -> Result<(), StoreError> {
    let previous = values
        .get((bucket.as_str(), key))
        .map_err(StoreError::failed)?
        .map(|value| value.value().len() as u64);
    let (keys, bytes) = usage_of(usage, bucket)?;
    let entry = (key.len() + value.len()) as u64;
    let (keys, bytes) = match previous {
        Some(previous) => (keys, bytes - (key.len() as u64 + previous) + entry),
        None => (keys + 1, bytes + entry),
    };
    if previous.is_none() && keys > quotas.max_keys {
        return Err(StoreError::Quota(format!(
            "bucket `{bucket}` holds its limit of {} keys",
            quotas.max_keys
        )));
    }
    if bytes > quotas.max_bucket_bytes {
        return Err(StoreError::Quota(format!(
            "bucket `{bucket}` would hold {bytes} bytes, over its limit of {} bytes",
            quotas.max_bucket_bytes
        )));
    }
    values
        .insert((bucket.as_str(), key), value)
        .map_err(StoreError::failed)?;
    usage
        .insert(bucket.as_str(), (keys, bytes))
        .map_err(StoreError::failed)?;
    Ok(())
}

/// Remove one value, if present, and give its bytes back to the bucket.
fn remove(
    values: &mut Values<'_>,
    usage: &mut Usage<'_>,
    bucket: &BucketId,
    key: &str,
) -> Result<(), StoreError> {
    let removed = values
        .remove((bucket.as_str(), key))
        .map_err(StoreError::failed)?
        .map(|value| value.value().len() as u64);
    if let Some(removed) = removed {
        let (keys, bytes) = usage_of(usage, bucket)?;
        let (keys, bytes) = (keys - 1, bytes - (key.len() as u64 + removed));
        if keys == 0 {
            usage.remove(bucket.as_str()).map_err(StoreError::failed)?;
        } else {
            usage
                .insert(bucket.as_str(), (keys, bytes))
                .map_err(StoreError::failed)?;
        }
    }
    Ok(())
}
