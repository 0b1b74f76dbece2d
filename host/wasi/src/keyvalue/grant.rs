//! [`KeyValue`]: the host-wide side of the capability — the store and the operator's
//! grants of shared buckets — which decides, when a component is loaded or a worker
//! started, what that component may open ([`KeyValueReach`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::bucket::{BucketGrant, BucketId, OpenRefused, Owner, valid_bucket_name};
use super::store::KeyValueStore;
use crate::granted::{Granted, Grantee};

/// A grant naming something that cannot be a bucket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{grantee}.buckets: `{bucket}` is not a bucket name (1 to 64 letters, digits, `-`, `_` or `.`)"
)]
pub struct InvalidBucketGrant {
    pub grantee: Grantee,
    pub bucket: String,
}

/// Shared buckets a component requests that the operator does not grant it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("requests buckets not granted to it: {}", .buckets.join(", "))]
pub struct BucketsNotGranted {
    pub buckets: Vec<String>,
}

/// Key-value storage for the whole host.
#[derive(Debug, Clone)]
pub struct KeyValue {
    store: KeyValueStore,
    granted: Granted<BTreeSet<String>>,
    reserved: Arc<BTreeSet<String>>,
}

impl KeyValue {
    /// The capability over `store`, with the shared buckets granted to each component and
    /// to the workers of each sandbox.
    pub fn new(
        store: KeyValueStore,
        grants: &Granted<Vec<String>>,
    ) -> Result<KeyValue, InvalidBucketGrant> {
        for (grantee, buckets) in grants.iter() {
            if let Some(bad) = buckets.iter().find(|name| !valid_bucket_name(name)) {
                return Err(InvalidBucketGrant {
                    grantee,
                    bucket: bad.clone(),
                });
            }
        }
        let set = |part: &BTreeMap<String, Vec<String>>| -> BTreeMap<String, BTreeSet<String>> {
            part.iter()
                .map(|(name, buckets)| (name.clone(), buckets.iter().cloned().collect()))
                .collect()
        };
        let granted = Granted {
            components: set(&grants.components),
            sandboxes: set(&grants.sandboxes),
        };
        let reserved: BTreeSet<String> = granted
            .iter()
            .flat_map(|(_, buckets)| buckets.iter().cloned())
            .collect();
        Ok(KeyValue {
            store,
            granted,
            reserved: Arc::new(reserved),
        })
    }

    pub fn store(&self) -> &KeyValueStore {
        &self.store
    }

    /// What operation `name` may open: its own buckets, and of the shared buckets it
    /// `requested` those the operator grants it; a request beyond the grant is refused.
    pub fn for_operation(
        &self,
        name: &str,
        requested: &[String],
    ) -> Result<KeyValueReach, BucketsNotGranted> {
        let granted = self.granted.component(name);
        let refused: Vec<String> = requested
            .iter()
            .filter(|bucket| !granted.is_some_and(|granted| granted.contains(*bucket)))
            .cloned()
            .collect();
        if !refused.is_empty() {
            return Err(BucketsNotGranted { buckets: refused });
        }
        let shared = requested.iter().cloned().collect();
        Ok(self.reach(&Owner::Operation(name.to_owned()), shared))
    }

    /// What worker `name` may open: its sandbox's buckets (or its own outside a sandbox),
    /// and the shared buckets the operator grants it and its sandbox.
    pub fn for_worker(&self, name: &str, sandbox: Option<&str>) -> KeyValueReach {
        let owner = match sandbox {
            Some(id) => Owner::Sandbox(id.to_owned()),
            None => Owner::Worker(name.to_owned()),
        };
        let shared = self
            .granted
            .component(name)
            .into_iter()
            .chain(self.granted.sandbox(sandbox))
            .flatten()
            .cloned()
            .collect();
        self.reach(&owner, shared)
    }

    fn reach(&self, owner: &Owner, shared: BTreeSet<String>) -> KeyValueReach {
        KeyValueReach {
            store: self.store.clone(),
            grant: BucketGrant::new(owner, shared, self.reserved.clone()),
        }
    }
}

/// What one component may open, and where its buckets are kept. Cheap to clone.
#[derive(Debug, Clone)]
pub struct KeyValueReach {
    pub(crate) store: KeyValueStore,
    pub(crate) grant: BucketGrant,
}

impl KeyValueReach {
    /// The shared buckets granted, by name.
    pub fn shared(&self) -> impl Iterator<Item = &str> {
        self.grant.shared()
    }

    /// The bucket `identifier` names for this component, as its host calls see it.
    pub fn bucket(&self, identifier: &str) -> Result<BucketId, OpenRefused> {
        self.grant.open(identifier)
    }
}
