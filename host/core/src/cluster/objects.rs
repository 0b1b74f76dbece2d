//! Component bytes for the cluster: the JetStream object store `arsenal_components`, one
//! object per content hash (`component.<sha256>`). The node whose admin API loads a
//! component puts it there before it records the change (`live.rs`); the nodes that bring
//! themselves to that change read it, and check that its bytes have the hash named.
//! Stored by content, a version is stored once, and a rollback names bytes already there.

use async_nats::jetstream::{self, object_store};
use tokio::io::AsyncReadExt;

use super::node::Cluster;

const BUCKET: &str = "arsenal_components";

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

/// Why a component's bytes could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Missing {
    #[error("component {0} is not in the cluster's object store")]
    NotStored(String),
    #[error("the stored bytes of component {0} have another content hash")]
    Corrupt(String),
    #[error("the cluster's object store cannot be read: {0}")]
    Unreachable(String),
}

fn object_name(content_hash: &str) -> String {
    format!("component.{content_hash}")
}

impl Cluster {
    /// Put `bytes` (whose content hash is `content_hash`) in the store, unless there.
    pub(super) async fn put_component(
        &self,
        content_hash: &str,
        bytes: &[u8],
    ) -> Result<(), String> {
        let Some(link) = &self.link else {
            return Ok(());
        };
        let store = bucket(&link.js).await?;
        let name = object_name(content_hash);
        if let Ok(info) = store.info(&name).await
            && !info.deleted
            && info.size == bytes.len()
        {
            return Ok(());
        }
        let mut reader = bytes;
        store
            .put(name.as_str(), &mut reader)
            .await
            .map_err(|error| error.to_string())?;
        Ok(())
    }

    /// The bytes of the component whose content hash is `content_hash`, checked.
    pub(crate) async fn component(&self, content_hash: &str) -> Result<Vec<u8>, Missing> {
        let unreachable = |error: String| Missing::Unreachable(error);
        let link = self
            .link
            .as_ref()
            .ok_or_else(|| unreachable("this node is not clustered".to_owned()))?;
        let store = bucket(&link.js).await.map_err(unreachable)?;
        let mut object = store
            .get(object_name(content_hash))
            .await
            .map_err(|error| match error.kind() {
                object_store::GetErrorKind::NotFound => Missing::NotStored(content_hash.to_owned()),
                _ => unreachable(error.to_string()),
            })?;
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        if crate::cache::content_hash(&bytes) != content_hash {
            return Err(Missing::Corrupt(content_hash.to_owned()));
        }
        Ok(bytes)
    }
}
