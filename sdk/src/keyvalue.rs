//! Key-value storage through the standard `wasi:keyvalue@0.2.0-draft` interfaces: a
//! [`Bucket`] opened by name.
//!
//! Calling anything here makes the component import `wasi:keyvalue`, which its source must
//! be granted (`key_value`). A name opens the component's own bucket of that name (an
//! operation's own, or its sandbox's for a worker), or a shared bucket the operator grants
//! it. Values survive the host, and in a cluster every node sees the same ones.

use std::fmt;

#[allow(missing_docs, unreachable_pub, unsafe_code, reason = "generated code")]
mod wit {
    wit_bindgen::generate!({
        path: "../wit/deps/keyvalue",
        world: "wasi:keyvalue/imports",
    });
}

use wit::wasi::keyvalue::{atomics, batch, store};

/// Why a key-value call failed, as the host answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The name is not a bucket name (1 to 64 letters, digits, `-`, `_` or `.`).
    NoSuchStore,
    /// A shared bucket this component is not granted.
    AccessDenied,
    /// Anything else: a quota exceeded, a write lost to another writer, the store failing.
    Other(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NoSuchStore => f.write_str("no such bucket"),
            StoreError::AccessDenied => f.write_str("access to the bucket is denied"),
            StoreError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<store::Error> for StoreError {
    fn from(error: store::Error) -> StoreError {
        match error {
            store::Error::NoSuchStore => StoreError::NoSuchStore,
            store::Error::AccessDenied => StoreError::AccessDenied,
            store::Error::Other(message) => StoreError::Other(message),
        }
    }
}

impl From<StoreError> for crate::Error {
    /// A refused bucket is 403 `forbidden`; any other failure 503 `unavailable`.
    fn from(error: StoreError) -> crate::Error {
        match error {
            StoreError::NoSuchStore | StoreError::AccessDenied => {
                crate::Error::forbidden(error.to_string())
            }
            StoreError::Other(_) => crate::Error::unavailable(error.to_string()),
        }
    }
}

/// A key and its value.
pub type Entry = (String, Vec<u8>);

/// An open bucket of key-value pairs.
pub struct Bucket(store::Bucket);

impl Bucket {
    /// Open the bucket `name` (`""` is the bucket `default`).
    pub fn open(name: &str) -> Result<Bucket, StoreError> {
        Ok(Bucket(store::open(name)?))
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(key)?)
    }

    /// Set the value of `key`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        Ok(self.0.set(key, value)?)
    }

    /// Remove `key`; nothing happens when it has no value.
    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        Ok(self.0.delete(key)?)
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.0.exists(key)?)
    }

    /// Every key of the bucket, in order.
    pub fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.0.list_keys(cursor)?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// Add `delta` to the number under `key` (0 when it has none), atomically, and return
    /// the sum. The value is kept as decimal text.
    pub fn increment(&self, key: &str, delta: u64) -> Result<u64, StoreError> {
        Ok(atomics::increment(&self.0, key, delta)?)
    }

    /// The values of `keys`, `None` for those without one.
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Entry>>, StoreError> {
        Ok(batch::get_many(&self.0, keys)?)
    }

    /// Set several values; on an error some may have been set.
    pub fn set_many(&self, entries: &[Entry]) -> Result<(), StoreError> {
        Ok(batch::set_many(&self.0, entries)?)
    }

    /// Remove several keys; on an error some may have been removed.
    pub fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        Ok(batch::delete_many(&self.0, keys)?)
    }
}
