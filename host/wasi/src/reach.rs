//! What one component reaches of the standard capabilities: decided once, when it is
//! loaded (an operation) or started (a worker), from what it imports and requests and
//! what the operator grants ([`WasiCapabilities`]); every instance's state
//! ([`WasiState`]) is made from it and checked on each host call.

use std::collections::BTreeMap;

use arsenal_engine::policy::Capability;

use crate::grants::ComponentGrants;
use crate::keyvalue::{
    BucketsNotGranted, InvalidBucketGrant, KeyValue, KeyValueReach, KeyValueState, KeyValueStore,
};

/// The host-wide side of the standard capabilities: their shared resources and the
/// operator's grants per component.
#[derive(Debug, Clone)]
pub struct WasiCapabilities {
    pub keyvalue: KeyValue,
}

/// The operator's grants cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Buckets(#[from] InvalidBucketGrant),
}

/// A component requests more than the operator grants it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReachError {
    #[error(transparent)]
    Buckets(#[from] BucketsNotGranted),
}

impl WasiCapabilities {
    pub fn new(
        store: KeyValueStore,
        components: &BTreeMap<String, ComponentGrants>,
    ) -> Result<WasiCapabilities, GrantError> {
        Ok(WasiCapabilities {
            keyvalue: KeyValue::new(store, components)?,
        })
    }

    /// What operation `name`, importing `used`, reaches with the shared `buckets` it
    /// requests.
    pub fn for_operation(
        &self,
        name: &str,
        used: &[Capability],
        buckets: &[String],
    ) -> Result<ComponentReach, ReachError> {
        let keyvalue = if used.contains(&Capability::KeyValue) {
            Some(self.keyvalue.for_operation(name, buckets)?)
        } else {
            None
        };
        Ok(ComponentReach { keyvalue })
    }

    /// What a process of worker `name`, importing `used`, reaches in `sandbox` (or
    /// outside one).
    pub fn for_worker(
        &self,
        name: &str,
        sandbox: Option<&str>,
        used: &[Capability],
    ) -> ComponentReach {
        ComponentReach {
            keyvalue: used
                .contains(&Capability::KeyValue)
                .then(|| self.keyvalue.for_worker(name, sandbox)),
        }
    }
}

/// What one component reaches. Cheap to clone; the default reaches nothing.
#[derive(Debug, Clone, Default)]
pub struct ComponentReach {
    pub keyvalue: Option<KeyValueReach>,
}

/// One instance's state of the standard capabilities.
#[derive(Debug, Default)]
pub struct WasiState {
    pub keyvalue: KeyValueState,
}

impl WasiState {
    pub fn new(reach: &ComponentReach) -> WasiState {
        WasiState {
            keyvalue: KeyValueState::new(reach.keyvalue.clone()),
        }
    }
}
