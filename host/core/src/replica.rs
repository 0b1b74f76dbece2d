//! This node's operations and workers as the cluster's follower changes them: the step
//! from what this node holds of a name to the state the cluster recorded for it (nothing,
//! a rollback, a restore, an unload, or the component's bytes fetched and loaded), taken
//! under the host's admin turn. The bucket, its signatures and the revisions applied are
//! the cluster's (`cluster::live`); what a component is, is the catalogue's.

use std::sync::{Arc, Weak};

use futures::future::BoxFuture;

use crate::cluster::{Bring, Cluster, LiveState, Missing, Retry};
use crate::lifecycle::{Item, Lifecycle};
use crate::policy::Source;
use crate::registry::Registry;
use crate::runtime::WorkerEngine;
use arsenal_engine::component::{Kind, LoadError, Put, Versioned};

/// This node's operations and workers, as the follower changes them.
pub(crate) struct Replica {
    pub(crate) registry: Weak<Registry>,
    pub(crate) workers: Weak<WorkerEngine>,
    /// The host's admin turn: the follower changes what is loaded under it too.
    pub(crate) turn: Arc<tokio::sync::Mutex<()>>,
}

/// What brings a node to a recorded state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Nothing,
    RollBack,
    Load(String),
    Unload,
    Restore,
}

/// This node's versions of one name, by content hash.
#[derive(Debug, Clone, Default)]
struct Held {
    /// Live first, then the earlier ones kept, newest first; empty when not loaded.
    versions: Vec<String>,
    /// The version the name has on its own, while it is not loaded.
    restorable: Option<String>,
}

/// The step from what this node holds of a name to `state`.
fn step(state: &LiveState, held: &Held) -> Step {
    let versions = &held.versions;
    match &state.content_hash {
        None if versions.is_empty() => Step::Nothing,
        None => Step::Unload,
        Some(hash) if versions.first() == Some(hash) => Step::Nothing,
        Some(hash) if versions.get(1) == Some(hash) => Step::RollBack,
        Some(hash) if held.restorable.as_ref() == Some(hash) => Step::Restore,
        Some(hash) => Step::Load(hash.clone()),
    }
}

/// What this node holds of `name`.
fn held<L: Lifecycle>(lifecycle: &L, name: &str) -> Held {
    let versions = lifecycle.versions();
    Held {
        versions: versions
            .of(name)
            .map(|versions| {
                versions
                    .iter()
                    .map(|version| version.content_hash().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        restorable: versions
            .restorable(name)
            .map(|base| base.content_hash().to_owned()),
    }
}

/// Take a step that needs no component from elsewhere.
fn take<L: Lifecycle>(lifecycle: &L, name: &str, step: &Step) -> Result<(), LoadError> {
    let versions = lifecycle.versions();
    match step {
        Step::Nothing | Step::Load(_) => Ok(()),
        Step::RollBack => versions.rollback(name).map(drop),
        Step::Restore => versions.restore(name).map(drop),
        Step::Unload => match versions.remove(name) {
            Ok(_) | Err(LoadError::NotLoaded { .. }) => Ok(()),
            Err(error) => Err(error),
        },
    }
}

/// Make a version fetched from the cluster live here.
fn publish<L: Lifecycle>(lifecycle: &L, version: Arc<Item<L>>) -> Result<(), LoadError> {
    match lifecycle.versions().put(version)? {
        Put::Disabled(name) => Err(LoadError::InvalidComponent(format!(
            "`{name}` is disabled by this node's configuration"
        ))),
        Put::Added(_) | Put::Replaced(_) | Put::Unchanged(_) => Ok(()),
    }
}

impl Bring for Replica {
    fn bring<'a>(
        &'a self,
        cluster: &'a Cluster,
        key: &'a str,
        revision: u64,
        state: LiveState,
    ) -> BoxFuture<'a, Result<(), Retry>> {
        Box::pin(async move {
            let outcome = match state.kind {
                Kind::Operation => match self.registry.upgrade() {
                    Some(registry) => {
                        self.bring_to(cluster, &*registry, key, revision, &state)
                            .await?
                    }
                    None => return Ok(()),
                },
                Kind::Worker => match self.workers.upgrade() {
                    Some(workers) => {
                        self.bring_to(cluster, &*workers, key, revision, &state)
                            .await?
                    }
                    None => return Ok(()),
                },
            };
            match outcome {
                None => {}
                Some(Ok(())) => tracing::info!(
                    component = key,
                    revision,
                    content_hash = state.content_hash.as_deref().unwrap_or("none"),
                    origin = %state.origin,
                    "brought to the cluster's state"
                ),
                // Not retried: the topology lists the name as inconsistent until the next
                // change of it.
                Some(Err(error)) => tracing::error!(
                    component = key,
                    revision,
                    %error,
                    "cannot bring this node to the cluster's state"
                ),
            }
            Ok(())
        })
    }
}

impl Replica {
    /// Bring `lifecycle`'s components to `state`: compile first (as the admin API does),
    /// then, under the admin turn, take the step from what is loaded then. `None` when
    /// another change applied the revision meanwhile.
    async fn bring_to<L: Lifecycle>(
        &self,
        cluster: &Cluster,
        lifecycle: &L,
        key: &str,
        revision: u64,
        state: &LiveState,
    ) -> Result<Option<Result<(), LoadError>>, Retry> {
        let origin = format!("cluster:{}", state.origin);
        let mut prepared = match step(state, &held(lifecycle, &state.name)) {
            Step::Load(hash) => {
                Some(Self::fetch_and_prepare(cluster, lifecycle, state, &hash, &origin).await?)
            }
            _ => None,
        };
        let _turn = self.turn.lock().await;
        if cluster
            .applied(key)
            .is_some_and(|applied| applied >= revision)
        {
            return Ok(None);
        }
        // Again under the turn: what is loaded may have changed meanwhile.
        Ok(Some(match step(state, &held(lifecycle, &state.name)) {
            Step::Load(hash) => {
                let ready = match prepared.take() {
                    Some(ready) => ready,
                    None => {
                        Self::fetch_and_prepare(cluster, lifecycle, state, &hash, &origin).await?
                    }
                };
                ready.and_then(|version| publish(lifecycle, version))
            }
            other => take(lifecycle, &state.name, &other),
        }))
    }

    /// The component with `hash`, fetched and compiled; the outer error is one that may
    /// pass (NATS), the inner one is final.
    async fn fetch_and_prepare<L: Lifecycle>(
        cluster: &Cluster,
        lifecycle: &L,
        state: &LiveState,
        hash: &str,
        origin: &str,
    ) -> Result<Result<Arc<Item<L>>, LoadError>, Retry> {
        let bytes = match cluster.component(hash).await {
            Ok(bytes) => bytes,
            Err(Missing::Unreachable(error)) => return Err(Retry(error)),
            Err(missing) => return Ok(Err(LoadError::InvalidComponent(missing.to_string()))),
        };
        Ok(lifecycle
            .prepare(&state.name, &bytes, Source::Upload, origin)
            .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Changed;

    fn state(hash: Option<&str>) -> LiveState {
        LiveState {
            kind: Kind::Operation,
            name: "greet".to_owned(),
            content_hash: hash.map(str::to_owned),
            changed: Changed::Replaced,
            origin: "a".to_owned(),
            at_unix_ms: 0,
        }
    }

    #[test]
    fn the_step_to_a_state_is_the_least_change() {
        let versions = |list: &[&str]| Held {
            versions: list.iter().map(|v| (*v).to_owned()).collect(),
            restorable: None,
        };
        assert_eq!(
            step(&state(Some("h2")), &versions(&["h2", "h1"])),
            Step::Nothing
        );
        assert_eq!(
            step(&state(Some("h1")), &versions(&["h2", "h1"])),
            Step::RollBack
        );
        assert_eq!(
            step(&state(Some("h0")), &versions(&["h2", "h1", "h0"])),
            Step::Load("h0".to_owned())
        );
        assert_eq!(
            step(&state(Some("h1")), &versions(&[])),
            Step::Load("h1".to_owned())
        );
        assert_eq!(step(&state(None), &versions(&["h2"])), Step::Unload);
        assert_eq!(step(&state(None), &versions(&[])), Step::Nothing);
        let unloaded = Held {
            versions: Vec::new(),
            restorable: Some("h0".to_owned()),
        };
        assert_eq!(step(&state(Some("h0")), &unloaded), Step::Restore);
        assert_eq!(
            step(&state(Some("h1")), &unloaded),
            Step::Load("h1".to_owned())
        );
    }
}
