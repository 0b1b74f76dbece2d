//! Keeping what the admin API changes: each change is recorded in the state directory's
//! manifest (see `state`), and replayed when the host starts, after the built-ins and
//! configured directories, so the server comes back in the same state.

use std::sync::Mutex;

use crate::host::{Host, LoadProblem};
use crate::loader::{LoadError, LoadedOperation};
use crate::policy::Source;
use crate::registry::Swapped;
use crate::runtime::WorkerCode;
use crate::state::{Kept, Manifest, StateDir};

/// A history entry for a version that loads at start on its own (built-in or directory).
const BASE: &str = "base";
const ORIGIN: &str = "upload";

/// The state directory and its manifest, kept in step.
pub struct Uploads {
    dir: StateDir,
    manifest: Mutex<Manifest>,
    keep: usize,
}

/// One change made through the admin API.
pub enum Change<'a> {
    Added(&'a LoadedOperation, &'a [u8]),
    Replaced(&'a Swapped, &'a [u8]),
    RolledBack(&'a Swapped),
    Removed(&'a str),
    /// An unloaded name made live again at the version it has on its own.
    Restored(&'a str),
    /// A worker component loaded under a name, and the version it replaced.
    WorkerLoaded(&'a WorkerCode, Option<&'a WorkerCode>, &'a [u8]),
    /// A worker returned to the version given.
    WorkerRolledBack(&'a WorkerCode),
    WorkerRemoved(&'a str),
}

fn hash_of(operation: &LoadedOperation) -> &str {
    kept_as(operation.source, &operation.content_hash)
}

/// How a version is named in the manifest: uploads by content hash; what loads at start
/// on its own (built-in or from a directory) as `base`.
fn kept_as(source: Source, hash: &str) -> &str {
    match source {
        Source::Upload => hash,
        Source::Builtin | Source::Directory => BASE,
    }
}

fn uploaded(source: Source, hash: &str) -> Option<&str> {
    (source == Source::Upload).then_some(hash)
}

impl Uploads {
    pub(crate) fn open(dir: &std::path::Path, keep: usize) -> Uploads {
        let dir = StateDir::new(dir);
        let manifest = dir.manifest();
        Uploads {
            dir,
            manifest: Mutex::new(manifest),
            keep,
        }
    }

    /// Record a change; the state on disk is the old one or the new one, never a mix.
    pub fn record(&self, change: Change<'_>) -> std::io::Result<()> {
        let mut manifest = self.manifest.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = manifest.clone();
        match change {
            Change::Added(operation, bytes) => {
                self.dir.store_component(&operation.content_hash, bytes)?;
                let hash = &operation.content_hash;
                next.operations
                    .put(&operation.spec.name, hash, None, self.keep);
            }
            Change::Replaced(swapped, bytes) => {
                let hash = &swapped.live.content_hash;
                self.dir.store_component(hash, bytes)?;
                let previous = hash_of(&swapped.previous);
                next.operations
                    .put(&swapped.live.spec.name, hash, Some(previous), self.keep);
            }
            Change::RolledBack(swapped) => {
                let live = &swapped.live;
                next.operations
                    .rolled_back(&live.spec.name, uploaded(live.source, &live.content_hash));
            }
            Change::Removed(name) => next.operations.removed(name),
            Change::Restored(name) => next.operations.restored(name),
            Change::WorkerLoaded(code, previous, bytes) => {
                self.dir.store_component(code.content_hash(), bytes)?;
                // The engine keeps a replaced version only when it differs.
                let previous = previous
                    .filter(|previous| previous.version() != code.version())
                    .map(|previous| kept_as(previous.source(), previous.content_hash()));
                next.workers
                    .put(code.name(), code.content_hash(), previous, self.keep);
            }
            Change::WorkerRolledBack(live) => next
                .workers
                .rolled_back(live.name(), uploaded(live.source(), live.content_hash())),
            Change::WorkerRemoved(name) => next.workers.removed(name),
        }
        self.dir.save(&next)?;
        *manifest = next;
        Ok(())
    }

    /// Bring the registry to the recorded state. A version that no longer loads is
    /// reported and skipped; the rest still come back.
    pub(crate) async fn replay(&self, host: &Host) -> Vec<LoadProblem> {
        let manifest = self
            .manifest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let registry = host.registry();
        let mut problems = Vec::new();
        for name in &manifest.operations.unloaded {
            match registry.remove(name).await {
                Ok(_) | Err(LoadError::NotLoaded(_)) => {}
                Err(error) => problems.push(problem(name, error)),
            }
        }
        for (name, hash) in in_order(&manifest.operations) {
            let outcome = match self.stored(hash) {
                Ok(bytes) if registry.snapshot().get(name).is_some() => registry
                    .replace(name, &bytes, Source::Upload, ORIGIN)
                    .await
                    .map(|_| ()),
                Ok(bytes) => registry
                    .add(&bytes, Source::Upload, ORIGIN)
                    .await
                    .map(|_| ()),
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                problems.push(problem(name, error));
            }
        }
        for name in manifest.operations.live.keys() {
            registry.trim_history(name, manifest.operations.kept(name));
        }
        let workers = host.workers();
        for name in &manifest.workers.unloaded {
            workers.unload(name);
        }
        for (name, hash) in in_order(&manifest.workers) {
            let outcome = match self.stored(hash) {
                Ok(bytes) => workers
                    .load(name, &bytes, Source::Upload)
                    .await
                    .map(|_| ())
                    .map_err(|error| LoadError::InvalidComponent(error.to_string())),
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                problems.push(problem(&format!("worker:{name}"), error));
            }
        }
        for name in manifest.workers.live.keys() {
            workers.trim_history(name, manifest.workers.kept(name));
        }
        problems
    }

    fn stored(&self, hash: &str) -> Result<Vec<u8>, LoadError> {
        self.dir.component(hash).map_err(|error| {
            LoadError::InvalidComponent(format!("stored component {hash} unreadable: {error}"))
        })
    }
}

/// Each name's uploaded versions to load, oldest first and the live one last, so loading
/// them in turn rebuilds the history.
fn in_order(kept: &Kept) -> impl Iterator<Item = (&String, &String)> {
    kept.live.iter().flat_map(|(name, live)| {
        let earlier = kept.history.get(name).into_iter().flatten();
        earlier
            .chain(std::iter::once(live))
            .filter(|hash| *hash != BASE)
            .map(move |hash| (name, hash))
    })
}

fn problem(name: &str, error: LoadError) -> LoadProblem {
    tracing::error!(operation = name, %error, "a kept operation did not come back");
    LoadProblem {
        origin: format!("state:{name}"),
        error,
    }
}
