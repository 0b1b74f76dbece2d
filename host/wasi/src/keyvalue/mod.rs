//! Key-value storage through `wasi:keyvalue@0.2.0-draft` (store, atomics, batch).
//!
//! A component opens buckets by identifier; which bucket an identifier is comes from its
//! grant ([`bucket`]): its own namespace, or a shared bucket the operator grants by name.
//! The buckets are kept by one [`KeyValueStore`] per host: a local redb database in the
//! state directory, or NATS JetStream key-value when the host is clustered — chosen when
//! the host is assembled. Quotas per bucket (value size, keys, bytes) are answered as the
//! interface's `other` error, like every store failure.

mod bindings;
mod bucket;
mod cluster;
mod grant;
mod host;
mod local;
mod secret;
mod settings;
mod store;

pub use bucket::{
    BucketGrant, BucketId, BucketParts, InvalidBucket, MAX_BUCKET_NAME, MAX_KEY, MAX_OWNER,
    OpenRefused, Owner, valid_bucket_name,
};
pub use cluster::{ClusterStore, key_value_stream};
pub use grant::{BucketsNotGranted, InvalidBucketGrant, KeyValue, KeyValueReach};
pub use host::{KeyValueCtx, KeyValueState, KeyValueView, OpenBucket, add_to_linker};
pub use local::LocalStore;
pub use secret::{DEFAULT_SECRET_KEYS, InvalidSecretPattern, SecretKeys};
pub use settings::{KeyValueSettings, Quotas};
pub use store::{BucketUsage, KeyPage, KeyValueStore, PAGE_KEYS, StoreError};
