//! What one component reaches of the standard capabilities: decided once, when it is
//! loaded (an operation) or started (a worker), from what it imports and requests and
//! what the operator grants ([`WasiCapabilities`]); every instance's state
//! ([`WasiState`]) is made from it and checked on each host call.

use std::collections::BTreeMap;

use std::sync::Arc;

use arsenal_engine::policy::{Capability, Source};
use arsenal_engine::spec::DestinationPattern;

use crate::config::{ConfigGrant, ConfigState, ConfigValues, Configuration, InvalidConfigGrant};
use crate::granted::Granted;
use crate::grants::ComponentGrants;
use crate::http::{NotGranted, OutboundAccess, OutboundPolicy, OutboundSettings, OutboundState};
use crate::keyvalue::{
    BucketsNotGranted, InvalidBucketGrant, KeyValue, KeyValueReach, KeyValueState, KeyValueStore,
};

/// The host-wide side of the standard capabilities: their shared resources and the
/// operator's grants per component and per sandbox name.
#[derive(Debug, Clone)]
pub struct WasiCapabilities {
    pub keyvalue: KeyValue,
    pub outbound: Arc<OutboundPolicy>,
    pub config: Configuration,
}

/// The operator's grants cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Buckets(#[from] InvalidBucketGrant),
    #[error(transparent)]
    Config(#[from] InvalidConfigGrant),
}

/// A component requests more than the operator grants it: every request refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("it requests more than it is granted")]
pub struct ReachError {
    pub buckets: Option<BucketsNotGranted>,
    /// Requested destinations outside the grant, by their index in the request.
    pub destinations: Vec<(usize, NotGranted)>,
}

/// What an operation requests in its config of the standard capabilities.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requests<'a> {
    pub buckets: &'a [String],
    pub outbound_hosts: &'a [DestinationPattern],
}

impl WasiCapabilities {
    /// The capabilities with the operator's `[components.<name>]` and `[sandboxes.<name>]`
    /// tables, each capability taking its own part of them.
    pub fn new(
        store: KeyValueStore,
        outbound: &OutboundSettings,
        components: &BTreeMap<String, ComponentGrants>,
        sandboxes: &BTreeMap<String, ComponentGrants>,
    ) -> Result<WasiCapabilities, GrantError> {
        let tables = (components, sandboxes);
        Ok(WasiCapabilities {
            keyvalue: KeyValue::new(store, &each(tables, |grants| grants.buckets.clone()))?,
            outbound: OutboundPolicy::new(
                outbound,
                each(tables, |grants| grants.outbound_hosts.clone()),
            ),
            config: Configuration::new(each(tables, |grants| ConfigGrant {
                config: grants.config.clone(),
                secrets: grants.secrets.clone(),
            }))?,
        })
    }

    /// What operation `name` from `source`, importing `used`, reaches with what it
    /// `requests`. A request outside the grant is refused even when the capability is
    /// not imported: the config says what the component expects to reach.
    pub fn for_operation(
        &self,
        name: &str,
        source: Source,
        used: &[Capability],
        requests: Requests<'_>,
    ) -> Result<ComponentReach, ReachError> {
        let keyvalue = self.keyvalue.for_operation(name, requests.buckets);
        let outbound = self.outbound.grant(name, source, requests.outbound_hosts);
        match (keyvalue, outbound) {
            (Ok(keyvalue), Ok(outbound)) => Ok(ComponentReach {
                keyvalue: used.contains(&Capability::KeyValue).then_some(keyvalue),
                outbound: used.contains(&Capability::OutboundHttp).then_some(outbound),
                config: used
                    .contains(&Capability::Config)
                    .then(|| self.config.for_component(name)),
            }),
            (keyvalue, outbound) => Err(ReachError {
                buckets: keyvalue.err(),
                destinations: outbound.err().unwrap_or_default(),
            }),
        }
    }

    /// What a process of worker `name` from `source`, importing `used`, reaches in
    /// `sandbox` (by name) or outside one: everything granted to it, and to its sandbox.
    pub fn for_worker(
        &self,
        name: &str,
        source: Source,
        sandbox: Option<&str>,
        used: &[Capability],
    ) -> ComponentReach {
        ComponentReach {
            keyvalue: used
                .contains(&Capability::KeyValue)
                .then(|| self.keyvalue.for_worker(name, sandbox)),
            outbound: used
                .contains(&Capability::OutboundHttp)
                .then(|| self.outbound.for_worker(name, source, sandbox)),
            config: used
                .contains(&Capability::Config)
                .then(|| self.config.for_worker(name, sandbox)),
        }
    }
}

/// The grants of every component and sandbox (`[components.<name>]`, `[sandboxes.<name>]`).
type Tables<'a> = (
    &'a BTreeMap<String, ComponentGrants>,
    &'a BTreeMap<String, ComponentGrants>,
);

/// One capability's part of every component's and sandbox's grant, by name.
fn each<T>(
    (components, sandboxes): Tables<'_>,
    part: impl Fn(&ComponentGrants) -> T,
) -> Granted<T> {
    let pick = |tables: &BTreeMap<String, ComponentGrants>| {
        tables
            .iter()
            .map(|(name, grants)| (name.clone(), part(grants)))
            .collect()
    };
    Granted {
        components: pick(components),
        sandboxes: pick(sandboxes),
    }
}

/// What one component reaches. Cheap to clone; the default reaches nothing.
#[derive(Debug, Clone, Default)]
pub struct ComponentReach {
    pub keyvalue: Option<KeyValueReach>,
    /// The destinations it may call; none when it does not import `wasi:http`.
    pub outbound: Option<OutboundAccess>,
    /// Its configuration values; none when it does not import `wasi:config`.
    pub config: Option<ConfigValues>,
}

impl ComponentReach {
    /// The destination patterns it reaches (its request ∩ the grant, the grant whole
    /// when it requests none), for the catalogue; none without `wasi:http`.
    pub fn destinations(&self) -> Vec<String> {
        self.outbound
            .as_ref()
            .map_or_else(Vec::new, OutboundAccess::destinations)
    }

    /// Its configuration keys, each with its plain value or whether the secret is set,
    /// for the catalogue; none without `wasi:config`.
    pub fn config(&self) -> BTreeMap<String, crate::config::Shown> {
        self.config
            .as_ref()
            .map_or_else(BTreeMap::new, |config| config.shown().clone())
    }

    /// The shared buckets it may open, for the catalogue; none without `wasi:keyvalue`.
    pub fn shared_buckets(&self) -> Vec<String> {
        self.keyvalue.as_ref().map_or_else(Vec::new, |keyvalue| {
            keyvalue.shared().map(str::to_owned).collect()
        })
    }
}

/// One instance's state of the standard capabilities.
pub struct WasiState {
    pub keyvalue: KeyValueState,
    pub outbound: OutboundState,
    pub config: ConfigState,
}

impl WasiState {
    pub fn new(reach: &ComponentReach) -> WasiState {
        WasiState {
            keyvalue: KeyValueState::new(reach.keyvalue.clone()),
            outbound: reach
                .outbound
                .as_ref()
                .map_or_else(OutboundState::none, OutboundAccess::instance),
            config: ConfigState::new(reach.config.clone().unwrap_or_default()),
        }
    }
}
