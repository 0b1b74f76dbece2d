//! The global name registry: a JetStream key-value bucket `arsenal_names` mapping a
//! registered name to the `node` and `pid` holding it cluster-wide.
//!
//! The conflict rule: **the first claim wins**. Each node claims its registered names
//! with an atomic create; a name already held by a process on a node that is up stays
//! with it, and the later holder is reported as a conflict (it keeps its local
//! registration). A claim held by a node that is down is taken over by the next live
//! claimant with a compare-and-set on its revision, so two nodes cannot both take it.
//! A node withdraws the claims of names it no longer holds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::membership::NodeStatus;
use super::node::Cluster;

const BUCKET: &str = "arsenal_names";

/// Who holds a name cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claim {
    node: String,
    pid: String,
}

/// A name of the global registry.
#[derive(Debug, Clone)]
pub(crate) struct GlobalName {
    pub(crate) name: String,
    pub(crate) pid: String,
    pub(crate) node: String,
    pub(crate) status: NodeStatus,
}

/// A name held on more than one node, or by a node that is down.
#[derive(Debug, Clone)]
pub(crate) struct NameConflict {
    pub(crate) name: String,
    /// `node:pid` of every holder.
    pub(crate) holders: Vec<String>,
    pub(crate) winner: Option<String>,
    pub(crate) reason: String,
}

/// The registry and its conflicts.
#[derive(Debug, Clone, Default)]
pub(crate) struct GlobalRegistry {
    pub(crate) names: Vec<GlobalName>,
    pub(crate) conflicts: Vec<NameConflict>,
}

/// The claims as this node last read them.
#[derive(Debug, Default)]
pub(crate) struct Names {
    claims: Mutex<BTreeMap<String, Claim>>,
}

impl Names {
    fn set(&self, claims: BTreeMap<String, Claim>) {
        *self
            .claims
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = claims;
    }

    fn get(&self) -> BTreeMap<String, Claim> {
        self.claims
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

/// Keep this node's claims in step with its registered names, every heartbeat.
pub(super) fn start(cluster: &Arc<Cluster>) {
    let Some(link) = &cluster.link else { return };
    let js = link.js.clone();
    let weak = Arc::downgrade(cluster);
    let stop = cluster.stop.clone();
    let every = Duration::from_millis(cluster.view().heartbeat_ms);
    cluster.tasks.spawn(async move {
        let mut store: Option<kv::Store> = None;
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let Some(cluster) = weak.upgrade() else {
                return;
            };
            if store.is_none() {
                store = bucket(&js).await.ok();
            }
            let Some(kv) = &store else { continue };
            if let Err(error) = sync(&cluster, kv).await {
                tracing::debug!(%error, "global names not synchronised");
                store = None;
            }
        }
    });
}

async fn bucket(js: &async_nats::jetstream::Context) -> Result<kv::Store, String> {
    super::membership::key_value(js, BUCKET, Duration::ZERO).await
}

/// Claim, take over and withdraw this node's names, then read every claim.
async fn sync(cluster: &Cluster, kv: &kv::Store) -> Result<(), String> {
    let this = cluster.node().to_owned();
    let held: BTreeMap<String, String> = cluster.local_facts().names.into_iter().collect();
    let mut claims = read_all(kv).await?;
    for (name, pid) in &held {
        let mine = Claim {
            node: this.clone(),
            pid: pid.clone(),
        };
        let value = serde_json::to_vec(&mine).map_err(|error| error.to_string())?;
        match claims.get(name) {
            None => {
                // First claim wins: create fails if another node got there first.
                if kv.create(name, value.into()).await.is_ok() {
                    claims.insert(name.clone(), (mine, 0));
                }
            }
            Some((claim, revision)) if claim.node == this && claim.pid != *pid => {
                if kv.update(name, value.into(), *revision).await.is_ok() {
                    claims.insert(name.clone(), (mine, 0));
                }
            }
            Some((claim, revision))
                if claim.node != this
                    && matches!(
                        cluster.status_of(&claim.node),
                        Some(NodeStatus::Down) | None
                    ) =>
            {
                // The holder's node is down: take over, unless someone else just did.
                if kv.update(name, value.into(), *revision).await.is_ok() {
                    claims.insert(name.clone(), (mine, 0));
                }
            }
            Some(_) => {}
        }
    }
    let withdrawn: Vec<String> = claims
        .iter()
        .filter(|(name, (claim, _))| claim.node == this && !held.contains_key(*name))
        .map(|(name, _)| name.clone())
        .collect();
    for name in withdrawn {
        if kv.delete(&name).await.is_ok() {
            claims.remove(&name);
        }
    }
    cluster.names.set(
        claims
            .into_iter()
            .map(|(name, (claim, _))| (name, claim))
            .collect(),
    );
    Ok(())
}

async fn read_all(kv: &kv::Store) -> Result<BTreeMap<String, (Claim, u64)>, String> {
    let mut keys = kv.keys().await.map_err(|error| error.to_string())?;
    let mut claims = BTreeMap::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|error| error.to_string())?;
        if let Ok(Some(entry)) = kv.entry(&key).await
            && entry.operation == kv::Operation::Put
            && let Ok(claim) = serde_json::from_slice::<Claim>(&entry.value)
        {
            claims.insert(key, (claim, entry.revision));
        }
    }
    Ok(claims)
}

impl Cluster {
    /// The global registry as this node sees it. Not clustered: this node's names.
    pub(crate) fn global_registry(&self) -> GlobalRegistry {
        let view = self.view();
        // Every holder of every name, from each live member's heartbeat.
        let mut holders: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        for member in &view.members {
            if matches!(member.status, NodeStatus::Down) {
                continue;
            }
            for (name, pid) in &member.beat.names {
                holders
                    .entry(name.clone())
                    .or_default()
                    .insert((member.beat.node.clone(), pid.clone()));
            }
        }
        let claims = if self.is_clustered() {
            self.names.get()
        } else {
            self.local_facts()
                .names
                .into_iter()
                .map(|(name, pid)| {
                    (
                        name,
                        Claim {
                            node: self.node().to_owned(),
                            pid,
                        },
                    )
                })
                .collect()
        };
        let names = claims
            .iter()
            .map(|(name, claim)| GlobalName {
                name: name.clone(),
                pid: claim.pid.clone(),
                node: claim.node.clone(),
                status: self.status_of(&claim.node).unwrap_or(NodeStatus::Unknown),
            })
            .collect();
        let mut conflicts = Vec::new();
        for (name, holding) in &holders {
            let winner = claims
                .get(name)
                .map(|claim| format!("{}:{}", claim.node, claim.pid));
            if holding.len() > 1 {
                conflicts.push(NameConflict {
                    name: name.clone(),
                    holders: holding
                        .iter()
                        .map(|(node, pid)| format!("{node}:{pid}"))
                        .collect(),
                    winner,
                    reason: "registered on more than one node; the first claim holds the name"
                        .to_owned(),
                });
            }
        }
        for (name, claim) in &claims {
            if matches!(self.status_of(&claim.node), Some(NodeStatus::Down)) {
                conflicts.push(NameConflict {
                    name: name.clone(),
                    holders: vec![format!("{}:{}", claim.node, claim.pid)],
                    winner: Some(format!("{}:{}", claim.node, claim.pid)),
                    reason: "held by a node that is down; the next live claimant takes it over"
                        .to_owned(),
                });
            }
        }
        GlobalRegistry { names, conflicts }
    }
}
