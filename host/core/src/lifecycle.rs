//! One kind of component — operations or workers — as everything that changes what is
//! loaded sees it: the admin API, the state replay at start and the cluster's follower.
//! Each compiles a version first, holding nothing, then changes the kind's version store
//! under the host's admin turn. The two kinds differ here only in how a version is
//! prepared.

use std::future::Future;
use std::sync::Arc;

use arsenal_engine::component::{LiveSet, LoadError, VersionStore, Versioned};

use crate::policy::Source;
use crate::registry::{Catalog, Registry};
use crate::runtime::{WorkerCode, WorkerEngine, WorkerSet};

/// A component that did not load at start-up; the server starts without it.
#[derive(Debug)]
pub struct LoadProblem {
    pub origin: String,
    pub error: LoadError,
}

/// A version of the components `L` keeps.
pub type Item<L> = <<L as Lifecycle>::Set as LiveSet>::Item;

/// The components of one kind: their version store, and how a version is prepared.
pub trait Lifecycle: Send + Sync + 'static {
    type Set: LiveSet;

    /// The live versions, with their history and the versions to restore.
    fn versions(&self) -> &VersionStore<Self::Set>;

    /// Compile `bytes` as a version of `name`, without making it live. An operation
    /// names itself: refused (`NameMismatch`) when that is not `name`.
    fn prepare(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> impl Future<Output = Result<Arc<Item<Self>>, LoadError>> + Send;
}

impl Lifecycle for Registry {
    type Set = Catalog;

    fn versions(&self) -> &VersionStore<Catalog> {
        Registry::versions(self)
    }

    async fn prepare(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<Arc<crate::loader::LoadedOperation>, LoadError> {
        let operation = self.inspect(bytes, source, origin).await?;
        if operation.spec.name != name {
            return Err(LoadError::NameMismatch {
                kind: crate::loader::LoadedOperation::KIND,
                expected: name.to_owned(),
                found: operation.spec.name.clone(),
            });
        }
        Ok(Arc::new(operation))
    }
}

impl Lifecycle for WorkerEngine {
    type Set = WorkerSet;

    fn versions(&self) -> &VersionStore<WorkerSet> {
        WorkerEngine::versions(self)
    }

    async fn prepare(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<Arc<WorkerCode>, LoadError> {
        WorkerEngine::prepare(self, name, bytes, source, origin).await
    }
}
