//! The interfaces' host functions, linked against [`KeyValueView`] so operations and
//! workers share them. Each call is checked against the instance's [`KeyValueState`]
//! (what its component was granted at load) when a bucket is opened: an open bucket is
//! the grant's answer, kept in the instance's resource table.

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::bindings::{atomics, batch, store};
use super::bucket::{BucketId, MAX_KEY, OpenRefused};
use super::grant::KeyValueReach;
use super::store::StoreError;

/// A bucket a guest opened.
pub struct OpenBucket {
    id: BucketId,
}

/// One instance's key-value state: what its component may open (nothing when it was not
/// granted the capability).
#[derive(Debug, Clone, Default)]
pub struct KeyValueState {
    reach: Option<KeyValueReach>,
}

impl KeyValueState {
    pub fn new(reach: Option<KeyValueReach>) -> KeyValueState {
        KeyValueState { reach }
    }
}

/// What the host functions work with: the instance's state and its resource table.
pub struct KeyValueCtx<'a> {
    pub state: &'a KeyValueState,
    pub table: &'a mut ResourceTable,
}

/// Store data that can run `wasi:keyvalue`.
pub trait KeyValueView: Send + 'static {
    fn keyvalue(&mut self) -> KeyValueCtx<'_>;
}

struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueCtx<'a>;
}

/// Link `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft`.
pub fn add_to_linker<T: KeyValueView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    store::add_to_linker::<T, HasKeyValue>(linker, T::keyvalue)?;
    atomics::add_to_linker::<T, HasKeyValue>(linker, T::keyvalue)?;
    batch::add_to_linker::<T, HasKeyValue>(linker, T::keyvalue)?;
    Ok(())
}

type Answer<T> = wasmtime::Result<Result<T, store::Error>>;

/// A store failure as the guest sees it; a failure of the store itself is logged, and
/// the guest told only that it failed.
fn guest_error(error: StoreError) -> store::Error {
    if let StoreError::Failed(detail) = &error {
        tracing::warn!(%detail, "key-value store call failed");
        return store::Error::Other("the key-value store failed".to_owned());
    }
    store::Error::Other(error.to_string())
}

fn check_key(key: &str) -> Result<(), store::Error> {
    if key.len() > MAX_KEY {
        return Err(store::Error::Other(format!(
            "a key of {} bytes is over the limit of {MAX_KEY} bytes",
            key.len()
        )));
    }
    Ok(())
}

impl KeyValueCtx<'_> {
    /// The bucket behind `bucket` and where it is kept.
    fn bucket(&self, bucket: &Resource<OpenBucket>) -> wasmtime::Result<(KeyValueReach, BucketId)> {
        let id = self.table.get(bucket)?.id.clone();
        // A bucket is only ever opened through a grant.
        let reach =
            self.state.reach.clone().ok_or_else(|| {
                wasmtime::format_err!("a bucket is open without a key-value grant")
            })?;
        Ok((reach, id))
    }
}

impl store::Host for KeyValueCtx<'_> {
    async fn open(&mut self, identifier: String) -> Answer<Resource<OpenBucket>> {
        let Some(reach) = &self.state.reach else {
            return Ok(Err(store::Error::AccessDenied));
        };
        match reach.grant.open(&identifier) {
            Ok(id) => Ok(Ok(self.table.push(OpenBucket { id })?)),
            Err(OpenRefused::NoSuchStore) => Ok(Err(store::Error::NoSuchStore)),
            Err(OpenRefused::AccessDenied) => Ok(Err(store::Error::AccessDenied)),
        }
    }
}

impl store::HostBucket for KeyValueCtx<'_> {
    async fn get(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<Option<Vec<u8>>> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        Ok(reach.store.get(&id, &key).await.map_err(guest_error))
    }

    async fn set(
        &mut self,
        bucket: Resource<OpenBucket>,
        key: String,
        value: Vec<u8>,
    ) -> Answer<()> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        Ok(reach.store.set(&id, &key, value).await.map_err(guest_error))
    }

    async fn delete(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<()> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        Ok(reach.store.delete(&id, &key).await.map_err(guest_error))
    }

    async fn exists(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<bool> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        Ok(reach.store.exists(&id, &key).await.map_err(guest_error))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<OpenBucket>,
        cursor: Option<u64>,
    ) -> Answer<store::KeyResponse> {
        let (reach, id) = self.bucket(&bucket)?;
        Ok(reach
            .store
            .list_keys(&id, cursor.unwrap_or(0))
            .await
            .map(|page| store::KeyResponse {
                keys: page.keys,
                cursor: page.cursor,
            })
            .map_err(guest_error))
    }

    async fn drop(&mut self, bucket: Resource<OpenBucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueCtx<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<OpenBucket>,
        key: String,
        delta: u64,
    ) -> Answer<u64> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        Ok(reach
            .store
            .increment(&id, &key, delta)
            .await
            .map_err(guest_error))
    }
}

impl batch::Host for KeyValueCtx<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<OpenBucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<Option<(String, Vec<u8>)>>> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Some(error) = keys.iter().find_map(|key| check_key(key).err()) {
            return Ok(Err(error));
        }
        Ok(reach.store.get_many(&id, keys).await.map_err(guest_error))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<OpenBucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Answer<()> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Some(error) = key_values.iter().find_map(|(key, _)| check_key(key).err()) {
            return Ok(Err(error));
        }
        Ok(reach
            .store
            .set_many(&id, key_values)
            .await
            .map_err(guest_error))
    }

    async fn delete_many(&mut self, bucket: Resource<OpenBucket>, keys: Vec<String>) -> Answer<()> {
        let (reach, id) = self.bucket(&bucket)?;
        if let Some(error) = keys.iter().find_map(|key| check_key(key).err()) {
            return Ok(Err(error));
        }
        Ok(reach
            .store
            .delete_many(&id, keys)
            .await
            .map_err(guest_error))
    }
}
