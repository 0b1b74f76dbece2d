//! The operator's side of outbound HTTP, built once per host: the destinations granted per
//! source (`[outbound]`), per component (`[components.<name>] outbound_hosts`) and to the
//! workers of a sandbox (`[sandboxes.<name>] outbound_hosts`), the bounds, and the
//! counters every request adds to.

use std::sync::Arc;

use arsenal_engine::policy::Source;

use super::destination::DestinationPattern;
use super::grant::{NotGranted, OutboundGrant};
use super::metrics::OutboundMetrics;
use super::settings::OutboundSettings;
use super::state::{OutboundState, Sender};
use crate::granted::Granted;

/// Outbound HTTP as the operator configured it.
#[derive(Debug)]
pub struct OutboundPolicy {
    settings: OutboundSettings,
    granted: Granted<Vec<DestinationPattern>>,
    metrics: Arc<OutboundMetrics>,
}

impl OutboundPolicy {
    pub fn new(
        settings: &OutboundSettings,
        granted: Granted<Vec<DestinationPattern>>,
    ) -> Arc<OutboundPolicy> {
        Arc::new(OutboundPolicy {
            settings: settings.clone(),
            granted,
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
        let granted = self.patterns(name, source, None);
        let grant = OutboundGrant::decide(granted, requested)?;
        Ok(self.access(name, grant))
    }

    /// What a process of worker `name` from `source` reaches in `sandbox` (by name), or
    /// outside one: its source's patterns, its own and its sandbox's.
    pub fn for_worker(
        self: &Arc<Self>,
        name: &str,
        source: Source,
        sandbox: Option<&str>,
    ) -> OutboundAccess {
        let granted = self.patterns(name, source, sandbox);
        let grant =
            OutboundGrant::decide(granted, &[]).expect("an empty request is inside every grant");
        self.access(name, grant)
    }

    /// The patterns granted to `name` from `source` in `sandbox`, each once.
    fn patterns(
        &self,
        name: &str,
        source: Source,
        sandbox: Option<&str>,
    ) -> Vec<DestinationPattern> {
        let by_source: &[DestinationPattern] = match source {
            Source::Builtin => &[],
            Source::Directory => &self.settings.directory,
            Source::Upload => &self.settings.upload,
        };
        let mut granted: Vec<DestinationPattern> = Vec::new();
        let own = self.granted.component(name).into_iter().flatten();
        let in_sandbox = self.granted.sandbox(sandbox).into_iter().flatten();
        for pattern in by_source.iter().chain(own).chain(in_sandbox) {
            if !granted.contains(pattern) {
                granted.push(pattern.clone());
            }
        }
        granted
    }

    fn access(self: &Arc<Self>, name: &str, grant: OutboundGrant) -> OutboundAccess {
        OutboundAccess {
            component: Arc::from(name),
            grant: Arc::new(grant),
            policy: self.clone(),
        }
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
