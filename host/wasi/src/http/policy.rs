//! The operator's side of outbound HTTP, built once per host: the destinations granted per
//! source (`[outbound]`) and per component (`[components.<name>] outbound_hosts`), the
//! bounds, and the counters every request adds to.

use std::collections::BTreeMap;
use std::sync::Arc;

use arsenal_engine::policy::Source;

use super::destination::DestinationPattern;
use super::grant::{NotGranted, OutboundGrant};
use super::metrics::OutboundMetrics;
use super::settings::OutboundSettings;
use super::state::{OutboundState, Sender};

/// Outbound HTTP as the operator configured it.
#[derive(Debug)]
pub struct OutboundPolicy {
    settings: OutboundSettings,
    components: BTreeMap<String, Vec<DestinationPattern>>,
    metrics: Arc<OutboundMetrics>,
}

impl OutboundPolicy {
    pub fn new(
        settings: &OutboundSettings,
        components: BTreeMap<String, Vec<DestinationPattern>>,
    ) -> Arc<OutboundPolicy> {
        Arc::new(OutboundPolicy {
            settings: settings.clone(),
            components,
            metrics: Arc::default(),
        })
    }

    /// What the component `name` from `source` reaches, asking for `requested`: its
    /// source's patterns and its own, narrowed to its request.
    pub fn grant(
        self: &Arc<Self>,
        name: &str,
        source: Source,
        requested: &[DestinationPattern],
    ) -> Result<OutboundAccess, Vec<(usize, NotGranted)>> {
        let by_source: &[DestinationPattern] = match source {
            Source::Builtin => &[],
            Source::Directory => &self.settings.directory,
            Source::Upload => &self.settings.upload,
        };
        let granted = by_source
            .iter()
            .chain(self.components.get(name).into_iter().flatten())
            .cloned()
            .collect();
        let grant = OutboundGrant::decide(granted, requested)?;
        Ok(OutboundAccess {
            component: Arc::from(name),
            grant: Arc::new(grant),
            policy: self.clone(),
        })
    }

    /// Outbound requests so far, by host and outcome.
    pub fn metrics(&self) -> &OutboundMetrics {
        &self.metrics
    }
}

/// A loaded component's outbound reach: its grant under the host's policy.
#[derive(Debug, Clone)]
pub struct OutboundAccess {
    component: Arc<str>,
    grant: Arc<OutboundGrant>,
    policy: Arc<OutboundPolicy>,
}

impl OutboundAccess {
    /// The patterns the component reaches, for the catalogue.
    pub fn destinations(&self) -> Vec<String> {
        self.grant.destinations()
    }

    /// The state of a new instance of the component, serving no call yet.
    pub fn instance(&self) -> OutboundState {
        OutboundState::new(Sender {
            component: self.component.clone(),
            grant: self.grant.clone(),
            limits: self.policy.settings.limits(),
            metrics: self.policy.metrics.clone(),
            scope: None,
            sent: 0,
        })
    }
}
