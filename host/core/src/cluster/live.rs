//! What is live cluster-wide. Every change the admin API makes to an operation or a worker
//! component — load, replace, roll back, unload — is recorded as the new state of its name
//! in the JetStream key-value bucket `arsenal_live` (key `operation.<name>` or
//! `worker.<name>`; the state names the content hash now live, or none once unloaded),
//! signed with the cluster secret. The write is a compare-and-set on the revision of the
//! last state of that name this node applied, so the bucket's revisions order the changes
//! of each name across the cluster: of two nodes changing one name at once, the first
//! write wins and the other fails, and that node's admin call answers 409
//! `cluster_conflict` (its follower then brings it to the winner's state).
//!
//! Every node follows the bucket from its beginning — a node that joins later too — and
//! brings each name to the state recorded: nothing when its live version has the content
//! hash named; a rollback when its previous version has it; otherwise the component's
//! bytes from the object store (`objects.rs`), loaded as an upload (same policy and
//! capability checks); an unload; a restore when the name is not loaded and the version
//! it has on its own (built in, or from a directory) has the content hash named. So every node converges on the same live version.
//! Changes are made under the host's admin turn, like the admin API's own; compiling
//! happens before taking it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::node::Cluster;
use arsenal_engine::component::Kind;

const BUCKET: &str = "arsenal_live";

/// What made a state live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Changed {
    Loaded,
    Replaced,
    RolledBack,
    Unloaded,
    /// An unloaded name made live again at the version every node has on its own.
    Restored,
}

/// The state of one component name, cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LiveState {
    pub(crate) kind: Kind,
    pub(crate) name: String,
    /// The content hash live; `None` once unloaded.
    pub(crate) content_hash: Option<String>,
    pub(crate) changed: Changed,
    /// The node whose admin API made the change.
    pub(crate) origin: String,
    pub(crate) at_unix_ms: u64,
}

/// A bucket entry: the state as JSON text and its HMAC-SHA256 under the cluster secret,
/// so that only nodes holding the secret can say what every node runs.
#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    state: String,
    signature: String,
}

/// An admin change made live on this node, for every node.
#[derive(Debug, Clone, Copy)]
pub struct LiveChange<'a> {
    pub kind: Kind,
    pub name: &'a str,
    pub changed: Changed,
    /// The content hash made live; `None` for an unload.
    pub content_hash: Option<&'a str>,
    /// Its bytes, when the change brought them (a load or a replacement). A rollback
    /// returns to bytes the store has already, or that every node has (a built-in).
    pub bytes: Option<&'a [u8]>,
}

/// Why an admin change was not recorded cluster-wide.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ShareError {
    #[error(
        "another change to {} `{name}` came first (cluster revision {revision}, made on node `{origin}`); this node follows it",
        .kind.name()
    )]
    Conflict {
        kind: Kind,
        name: String,
        revision: u64,
        origin: String,
        /// The content hash the winning change made live; `None`: it unloaded the name.
        content_hash: Option<String>,
    },
    #[error(
        "the change could not be recorded for the cluster ({0}); it is live on this node only, until the cluster's state replaces it"
    )]
    Unavailable(String),
    #[error(
        "this node is not connected to the cluster's NATS, so the change could not reach the other nodes; nothing was changed"
    )]
    Disconnected,
}

/// The follower's bookkeeping.
#[derive(Default)]
pub(super) struct Ledger {
    /// The revision of the last state of each key this node applied or wrote.
    applied: Mutex<HashMap<String, u64>>,
    /// Wakes the follower to read the bucket again from its beginning.
    resync: Arc<Notify>,
    /// Set once the follower starts: it is started once.
    following: OnceLock<()>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").finish_non_exhaustive()
    }
}

impl Ledger {
    pub(crate) fn applied(&self, key: &str) -> Option<u64> {
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    fn set_applied(&self, key: &str, revision: u64) {
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        let entry = applied.entry(key.to_owned()).or_default();
        *entry = (*entry).max(revision);
    }

    fn forget(&self, key: &str) {
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// The bucket key of a component: `operation.<name>` or `worker.<name>`, every character
/// of the name but letters, digits, `_` and `-` written `=XX` (a `.` would split it).
pub(super) fn key_of(kind: Kind, name: &str) -> String {
    let mut key = format!("{}.", kind.name());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            key.push(char::from(byte));
        } else {
            key.push_str(&format!("={byte:02X}"));
        }
    }
    key
}

async fn bucket(js: &jetstream::Context) -> Result<kv::Store, String> {
    super::membership::key_value(js, BUCKET, Duration::ZERO).await
}

/// The follower could not finish an entry for a reason that may pass (NATS): it reads
/// the bucket again after a pause.
pub(crate) struct Retry(pub(crate) String);

/// What the follower does with each state of the bucket, verified and filed under its
/// own key: bring this node to it. Written above the catalogue (`crate::replica`), so the
/// cluster knows nothing of what a component is.
pub(crate) trait Bring: Send + Sync + 'static {
    /// Bring this node to `state`, recorded under `key` at `revision`; `Retry` when the
    /// reason may pass (NATS). The follower then counts the revision applied.
    fn bring<'a>(
        &'a self,
        cluster: &'a Cluster,
        key: &'a str,
        revision: u64,
        state: LiveState,
    ) -> BoxFuture<'a, Result<(), Retry>>;
}

impl Cluster {
    /// Whether an admin change may be made now: always when not clustered; when
    /// clustered, only while connected to NATS (so that it reaches every node).
    pub fn admits_changes(&self) -> Result<(), ShareError> {
        if self.link.is_none() || self.connected() {
            Ok(())
        } else {
            Err(ShareError::Disconnected)
        }
    }

    /// Record `change`, made live here by the admin API under the host's admin turn, as
    /// the state of its name for every node: a compare-and-set on the revision of the
    /// last state of that name this node applied. `Conflict` when another node's change
    /// came first (the follower then brings this node to it); `Unavailable` when NATS did
    /// not take it within `cluster.call_timeout_ms` (the follower reads the bucket again,
    /// and brings this node back to the cluster's state once it can). Not clustered: `Ok`.
    pub async fn share(&self, change: LiveChange<'_>) -> Result<(), ShareError> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let key = key_of(change.kind, change.name);
        let state = LiveState {
            kind: change.kind,
            name: change.name.to_owned(),
            content_hash: change.content_hash.map(str::to_owned),
            changed: change.changed,
            origin: self.node().to_owned(),
            at_unix_ms: super::membership::unix_ms(),
        };
        let value = self.seal(&state);
        let expected = self.live.applied(&key).unwrap_or(0);
        let recorded = async {
            if let (Some(hash), Some(bytes)) = (change.content_hash, change.bytes) {
                self.put_component(hash, bytes)
                    .await
                    .map_err(ShareError::Unavailable)?;
            }
            let store = bucket(&link.js).await.map_err(ShareError::Unavailable)?;
            match store.update(&key, value.into(), expected).await {
                Ok(revision) => Ok(revision),
                Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    let winner = store.entry(key.as_str()).await.ok().flatten();
                    let (revision, winner) = match winner {
                        Some(entry) => (entry.revision, self.open(&entry.value).ok()),
                        None => {
                            // The name's states were purged from the bucket: the next
                            // change starts it again.
                            self.live.forget(&key);
                            (0, None)
                        }
                    };
                    Err(ShareError::Conflict {
                        kind: change.kind,
                        name: change.name.to_owned(),
                        revision,
                        origin: winner
                            .as_ref()
                            .map_or_else(|| "unknown".to_owned(), |w| w.origin.clone()),
                        content_hash: winner.and_then(|w| w.content_hash),
                    })
                }
                Err(error) => Err(ShareError::Unavailable(error.to_string())),
            }
        };
        let outcome = tokio::time::timeout(self.call_timeout(), recorded)
            .await
            .unwrap_or_else(|_| {
                Err(ShareError::Unavailable(
                    "NATS did not answer in time".to_owned(),
                ))
            });
        match outcome {
            Ok(revision) => {
                self.live.set_applied(&key, revision);
                tracing::info!(component = %key, revision, "change recorded for the cluster");
                Ok(())
            }
            Err(conflict @ ShareError::Conflict { .. }) => {
                tracing::warn!(component = %key, error = %conflict, "admin change lost to another node's");
                Err(conflict)
            }
            Err(error) => {
                // Not recorded (or not known to be): read the bucket again, so this node
                // returns to the cluster's state of the name once NATS answers.
                self.live.forget(&key);
                self.live.resync.notify_one();
                tracing::error!(component = %key, %error, "admin change not recorded for the cluster");
                Err(error)
            }
        }
    }

    fn seal(&self, state: &LiveState) -> Vec<u8> {
        let text = serde_json::to_string(state).expect("a live state serialises");
        let signature = self
            .link
            .as_ref()
            .map(|link| link.secret.sign(text.as_bytes()))
            .unwrap_or_default();
        serde_json::to_vec(&Sealed {
            state: text,
            signature,
        })
        .expect("a sealed state serialises")
    }

    /// A bucket entry's state, if its signature verifies.
    fn open(&self, value: &[u8]) -> Result<LiveState, String> {
        let link = self.link.as_ref().ok_or("this node is not clustered")?;
        let sealed: Sealed = serde_json::from_slice(value).map_err(|error| error.to_string())?;
        if !link
            .secret
            .verifies(sealed.state.as_bytes(), &sealed.signature)
        {
            return Err("its signature does not verify under the cluster secret".to_owned());
        }
        serde_json::from_str(&sealed.state).map_err(|error| error.to_string())
    }

    /// Follow the bucket from its beginning, bringing this node to each state recorded,
    /// until stopped. Not clustered: nothing to follow.
    pub(crate) fn follow_live(self: &Arc<Self>, bring: Arc<dyn Bring>) {
        if self.live.following.set(()).is_err() {
            return;
        }
        let Some(link) = &self.link else { return };
        let js = link.js.clone();
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        let resync = self.live.resync.clone();
        let pause = self.call_timeout().min(Duration::from_secs(1));
        self.tasks.spawn(async move {
            loop {
                let followed = async {
                    let store = bucket(&js).await?;
                    let mut entries = store
                        .watch_with_history(">")
                        .await
                        .map_err(|error| error.to_string())?;
                    loop {
                        let entry = tokio::select! {
                            () = resync.notified() => return Ok(true),
                            entry = entries.next() => entry,
                        };
                        let Some(entry) = entry else {
                            return Ok(false);
                        };
                        let entry = entry.map_err(|error| error.to_string())?;
                        if entry.operation != kv::Operation::Put {
                            continue;
                        }
                        let Some(cluster) = weak.upgrade() else {
                            return Ok(false);
                        };
                        if let Err(Retry(error)) = cluster
                            .bring(&*bring, &entry.key, entry.revision, &entry.value)
                            .await
                        {
                            return Err(error);
                        }
                    }
                };
                let again_at_once = tokio::select! {
                    () = stop.cancelled() => return,
                    outcome = followed => match outcome {
                        Ok(resync) => resync,
                        Err(error) => {
                            tracing::debug!(%error, "live component states watch interrupted");
                            false
                        }
                    },
                };
                if !again_at_once {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        });
    }

    /// Bring this node to the state recorded under `key` at `revision`, unless it is
    /// there already.
    async fn bring(
        &self,
        bring: &dyn Bring,
        key: &str,
        revision: u64,
        value: &[u8],
    ) -> Result<(), Retry> {
        if self
            .live
            .applied(key)
            .is_some_and(|applied| applied >= revision)
        {
            return Ok(());
        }
        let state = match self.open(value) {
            Ok(state) if key_of(state.kind, &state.name) == key => state,
            Ok(_) => {
                tracing::warn!(key, "ignored a live state filed under another key");
                return Ok(());
            }
            Err(error) => {
                tracing::warn!(key, %error, "ignored a live state");
                return Ok(());
            }
        };
        bring.bring(self, key, revision, state).await?;
        self.live.set_applied(key, revision);
        Ok(())
    }

    /// The revision of `key`'s last state this node applied or wrote.
    pub(crate) fn applied(&self, key: &str) -> Option<u64> {
        self.live.applied(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_plain_names_and_escape_the_rest() {
        assert_eq!(key_of(Kind::Operation, "greet_v2"), "operation.greet_v2");
        assert_eq!(key_of(Kind::Worker, "ledger-1.2"), "worker.ledger-1=2E2");
    }
}
