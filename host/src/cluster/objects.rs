//! Component propagation: an operation or worker component loaded through the admin API
//! is put in the JetStream object store `arsenal_components` (object `operation.<name>`
//! or `worker.<name>`, its content hash in the description). Every node follows the
//! store from its beginning — a node that joins later gets every component — and loads
//! each object whose content hash differs from its live version, as an upload. The last
//! write of a name wins everywhere, so versions converge; each node's heartbeat lists
//! the revisions it serves, and the topology reports any that differ.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_nats::jetstream::{self, object_store};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::node::Cluster;

const BUCKET: &str = "arsenal_components";

/// Which registry a component goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ComponentKind {
    Operation,
    Worker,
}

impl ComponentKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ComponentKind::Operation => "operation",
            ComponentKind::Worker => "worker",
        }
    }
}

/// What the description of an object says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Published {
    pub(crate) kind: ComponentKind,
    pub(crate) name: String,
    pub(crate) content_hash: String,
}

/// Loads a propagated component on this node: `(published, bytes)` → loaded or why not.
pub(crate) type Apply = Arc<
    dyn Fn(Published, Vec<u8>) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

async fn bucket(js: &jetstream::Context) -> Result<object_store::ObjectStore, String> {
    if let Ok(store) = js.get_object_store(BUCKET).await {
        return Ok(store);
    }
    js.create_object_store(object_store::Config {
        bucket: BUCKET.to_owned(),
        ..Default::default()
    })
    .await
    .map_err(|error| error.to_string())
}

impl Cluster {
    /// Put a component loaded here in the store for every node. Not clustered: nothing.
    pub(crate) async fn publish(
        &self,
        kind: ComponentKind,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), String> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let store = bucket(&link.js).await?;
        let published = Published {
            kind,
            name: name.to_owned(),
            content_hash: crate::cache::content_hash(bytes),
        };
        let meta = object_store::ObjectMetadata {
            name: format!("{}.{name}", kind.name()),
            description: Some(serde_json::to_string(&published).map_err(|e| e.to_string())?),
            ..Default::default()
        };
        let mut reader = bytes;
        store
            .put(meta, &mut reader)
            .await
            .map_err(|error| error.to_string())?;
        Ok(())
    }

    /// Publish a component loaded here through the admin API, in the background (the
    /// admin answer does not wait for NATS; a failure is logged).
    pub(crate) fn propagate(self: &Arc<Self>, kind: ComponentKind, name: &str, bytes: &[u8]) {
        if self.link.is_none() {
            return;
        }
        let cluster = self.clone();
        let name = name.to_owned();
        let bytes = bytes.to_vec();
        self.tasks.spawn(async move {
            if let Err(error) = cluster.publish(kind, &name, &bytes).await {
                tracing::error!(component = %name, %error, "component not propagated to the cluster");
            }
        });
    }

    /// Follow the store from its beginning and load what differs here, until stopped.
    pub(crate) fn follow_components(self: &Arc<Self>, apply: Apply) {
        let Some(link) = &self.link else { return };
        let js = link.js.clone();
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        let retry = self.call_timeout().min(std::time::Duration::from_secs(1));
        self.tasks.spawn(async move {
            loop {
                let followed = async {
                    let store = bucket(&js).await?;
                    let mut changes = store
                        .watch_with_history()
                        .await
                        .map_err(|error| error.to_string())?;
                    while let Some(change) = changes.next().await {
                        let info = change.map_err(|error| error.to_string())?;
                        if info.deleted {
                            continue;
                        }
                        let Some(published) = info
                            .description
                            .as_deref()
                            .and_then(|text| serde_json::from_str::<Published>(text).ok())
                        else {
                            continue;
                        };
                        let Some(cluster) = weak.upgrade() else {
                            return Ok(());
                        };
                        if cluster.serves(&published) {
                            continue;
                        }
                        let mut object = store
                            .get(&info.name)
                            .await
                            .map_err(|error| error.to_string())?;
                        let mut bytes = Vec::with_capacity(info.size);
                        object
                            .read_to_end(&mut bytes)
                            .await
                            .map_err(|error| error.to_string())?;
                        let name = published.name.clone();
                        match apply(published, bytes).await {
                            Ok(()) => tracing::info!(component = %name, "propagated component loaded"),
                            Err(error) => tracing::error!(component = %name, %error, "propagated component not loaded"),
                        }
                    }
                    Ok::<(), String>(())
                };
                tokio::select! {
                    () = stop.cancelled() => return,
                    outcome = followed => if let Err(error) = outcome {
                        tracing::debug!(%error, "component store watch interrupted");
                    },
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(retry) => {}
                }
            }
        });
    }

    /// Whether this node already serves `published`'s content.
    fn serves(&self, published: &Published) -> bool {
        self.local_facts().components.iter().any(|component| {
            component.kind == published.kind.name()
                && component.name == published.name
                && published.content_hash.starts_with(&component.revision)
        })
    }
}
