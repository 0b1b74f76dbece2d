//! Capabilities `storage` and `storage_control`: every component's key-value buckets as
//! the host keeps them. Calling a function here makes the component import
//! `arsenal:runtime/storage` (or `arsenal:runtime/storage-control` to write). A key the
//! host marks secret comes back with its size, never its value.

use crate::bindings::arsenal::runtime::storage as host;
pub use crate::bindings::arsenal::runtime::storage::{
    BucketInfo, Entry, KeyInfo, KeyPage, StorageError,
};
use crate::bindings::arsenal::runtime::storage_control as control;

/// The `bucket` query parameter: a bucket's full name.
pub fn bucket_param() -> crate::Param {
    crate::Param::query("bucket")
        .string()
        .min_length(1)
        .max_length(256)
        .describe(
            "The bucket's full name: operation/<name>/<bucket>, worker/<name>/<bucket>, \
             sandbox/<id>/<bucket> or shared/<bucket>",
        )
}

/// The `key` query parameter.
pub fn key_param() -> crate::Param {
    crate::Param::query("key")
        .string()
        .min_length(1)
        .max_length(1024)
        .describe("The key, 1 to 1,024 bytes")
}

/// Buckets holding a key, from `offset`, at most `limit`, and how many there are.
pub fn list_buckets(offset: u32, limit: u32) -> Result<(Vec<BucketInfo>, u64), StorageError> {
    host::list_buckets(offset, limit)
}

/// One bucket's usage.
pub fn bucket(name: &str) -> Result<BucketInfo, StorageError> {
    host::get_bucket(name)
}

/// A bucket's keys from `offset`, at most `limit`.
pub fn list_keys(bucket: &str, offset: u32, limit: u32) -> Result<KeyPage, StorageError> {
    host::list_keys(bucket, offset, limit)
}

/// A key's value (none when it is secret) and size.
pub fn get(bucket: &str, key: &str) -> Result<Entry, StorageError> {
    host::get_value(bucket, key)
}

/// Set a key's value.
pub fn set(bucket: &str, key: &str, value: &[u8]) -> Result<Entry, StorageError> {
    control::set_value(bucket, key, value)
}

/// Delete a key.
pub fn delete(bucket: &str, key: &str) -> Result<(), StorageError> {
    control::delete_value(bucket, key)
}

/// A bucket as JSON.
pub fn bucket_json(info: &BucketInfo) -> serde_json::Value {
    serde_json::json!({
        "name": info.name,
        "owner_kind": info.owner_kind,
        "owner": info.owner,
        "identifier": info.identifier,
        "keys": info.keys,
        "bytes": info.bytes,
    })
}

/// The usual answers to a refused storage request.
impl From<StorageError> for crate::Error {
    fn from(error: StorageError) -> crate::Error {
        match error {
            StorageError::InvalidBucket(message) => {
                crate::Error::invalid_params(message).with_code("invalid_bucket")
            }
            StorageError::InvalidKey(message) => {
                crate::Error::invalid_params(message).with_code("invalid_key")
            }
            StorageError::BucketNotFound(message) => {
                crate::Error::not_found(message).with_code("bucket_not_found")
            }
            StorageError::KeyNotFound(message) => {
                crate::Error::not_found(message).with_code("key_not_found")
            }
            StorageError::QuotaExceeded(message) => {
                crate::Error::conflict(message).with_code("quota_exceeded")
            }
            StorageError::Unavailable(message) => {
                crate::Error::unavailable(message).with_code("storage_unavailable")
            }
        }
    }
}
