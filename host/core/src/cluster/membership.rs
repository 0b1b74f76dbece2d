//! Membership: every node puts a heartbeat (id, address, version, load, loaded
//! components) under its id in the JetStream key-value bucket `arsenal_nodes` every
//! `cluster.heartbeat_ms`, and watches the bucket. A peer whose last heartbeat is older
//! than `cluster.down_after_ms` is down; while this node is cut off from NATS every peer
//! is `unknown` — it cannot tell.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// The bucket of heartbeats.
pub(super) const BUCKET: &str = "arsenal_nodes";

/// What a node says of itself in each heartbeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    pub(crate) node: String,
    pub(crate) address: Option<String>,
    pub(crate) version: String,
    pub(crate) incarnation: u32,
    pub(crate) started_unix_ms: u64,
    pub(crate) load: NodeLoad,
    pub(crate) components: Vec<ComponentRevision>,
    /// Names registered on the node: (name, pid).
    #[serde(default)]
    pub(crate) names: Vec<(String, String)>,
}

/// Load figures of a node.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct NodeLoad {
    pub(crate) processes: u32,
    pub(crate) instances_in_use: u32,
    pub(crate) load_average: f64,
    pub(crate) rss_bytes: u64,
}

/// A loaded operation or worker component and its revision.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct ComponentRevision {
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) revision: String,
}

/// What this node reports of itself, read fresh for each heartbeat and view.
#[derive(Debug, Clone, Default)]
pub struct LocalFacts {
    pub(crate) address: Option<String>,
    pub(crate) load: NodeLoad,
    pub(crate) components: Vec<ComponentRevision>,
    /// Registered names of this node: (name, pid).
    pub(crate) names: Vec<(String, String)>,
}

/// How this node sees a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeStatus {
    ThisNode,
    Up,
    Down,
    Unknown,
}

/// A member as this node sees it.
#[derive(Debug, Clone)]
pub(crate) struct MemberView {
    pub(crate) beat: Heartbeat,
    pub(crate) status: NodeStatus,
    pub(crate) last_heartbeat: Option<Duration>,
}

/// The heartbeats seen, by node, with when.
#[derive(Debug, Default)]
pub(super) struct Members {
    seen: Mutex<BTreeMap<String, (Heartbeat, Instant)>>,
}

impl Members {
    fn record(&self, beat: Heartbeat, at: Instant) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.insert(beat.node.clone(), (beat, at));
    }

    fn forget(&self, node: &str) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.remove(node);
    }

    /// Every peer but `this`, with its status: down past `down_after`, unknown when this
    /// node is not connected.
    pub(super) fn peers(
        &self,
        this: &str,
        down_after: Duration,
        connected: bool,
    ) -> Vec<MemberView> {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.iter()
            .filter(|(node, _)| node.as_str() != this)
            .map(|(_, (beat, at))| {
                let age = at.elapsed();
                let status = if !connected {
                    NodeStatus::Unknown
                } else if age > down_after {
                    NodeStatus::Down
                } else {
                    NodeStatus::Up
                };
                MemberView {
                    beat: beat.clone(),
                    status,
                    last_heartbeat: Some(age),
                }
            })
            .collect()
    }

    /// A peer's view, if it was ever seen.
    pub(super) fn peer(
        &self,
        node: &str,
        down_after: Duration,
        connected: bool,
    ) -> Option<MemberView> {
        self.peers("", down_after, connected)
            .into_iter()
            .find(|member| member.beat.node == node)
    }
}

/// Now, in milliseconds since the epoch.
pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// The bucket, created when missing. Entries outlive a stopped node long enough to be
/// reported down, then expire.
async fn bucket(js: &jetstream::Context, down_after: Duration) -> Result<kv::Store, String> {
    key_value(js, BUCKET, (down_after * 20).max(Duration::from_secs(60))).await
}

/// The key-value bucket `bucket` (history 1), created when missing with entries kept for
/// `max_age` (zero: for ever); its stream made as `key_value_stream` says why.
pub(super) async fn key_value(
    js: &jetstream::Context,
    bucket: &str,
    max_age: Duration,
) -> Result<kv::Store, String> {
    if let Ok(store) = js.get_key_value(bucket).await {
        return Ok(store);
    }
    let created = js
        .get_or_create_stream(jetstream::stream::Config {
            max_age,
            ..arsenal_wasi::keyvalue::key_value_stream(bucket)
        })
        .await;
    if let Err(error) = created {
        return Err(error.to_string());
    }
    js.get_key_value(bucket)
        .await
        .map_err(|error| error.to_string())
}

/// Announce this node every `every` until `stop`; a failed put is retried at the next
/// beat (NATS down, bucket not there yet).
pub(super) async fn announce(
    js: jetstream::Context,
    every: Duration,
    down_after: Duration,
    beat: impl Fn() -> Heartbeat,
    stop: CancellationToken,
) {
    let mut store = None;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if store.is_none() {
            store = bucket(&js, down_after).await.ok();
        }
        let Some(kv) = &store else { continue };
        let beat = beat();
        let Ok(value) = serde_json::to_vec(&beat) else {
            continue;
        };
        if let Err(error) = kv.put(&beat.node, value.into()).await {
            tracing::debug!(%error, "heartbeat not sent");
            store = None;
        }
    }
}

/// Follow the bucket into `members` until `stop`, starting over after a failure.
pub(super) async fn watch(
    js: jetstream::Context,
    members: Arc<Members>,
    retry: Duration,
    down_after: Duration,
    stop: CancellationToken,
) {
    loop {
        let followed = async {
            let store = bucket(&js, down_after).await?;
            let mut entries = store.watch_all().await.map_err(|error| error.to_string())?;
            while let Some(entry) = entries.next().await {
                let entry = entry.map_err(|error| error.to_string())?;
                match entry.operation {
                    kv::Operation::Put => {
                        let Ok(beat) = serde_json::from_slice::<Heartbeat>(&entry.value) else {
                            continue;
                        };
                        // Stamped by the server: an old heartbeat replayed at start counts
                        // from when it was written, not from now.
                        let written_ns = entry.created.unix_timestamp_nanos();
                        let now_ns = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map(|elapsed| elapsed.as_nanos() as i128)
                            .unwrap_or(0);
                        let age = Duration::from_nanos((now_ns - written_ns).max(0) as u64);
                        let at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
                        members.record(beat, at);
                    }
                    kv::Operation::Delete | kv::Operation::Purge => members.forget(&entry.key),
                }
            }
            Ok::<(), String>(())
        };
        tokio::select! {
            () = stop.cancelled() => return,
            outcome = followed => {
                if let Err(error) = outcome {
                    tracing::debug!(%error, "membership watch interrupted");
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(retry) => {}
        }
    }
}
