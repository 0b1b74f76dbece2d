//! Keeping what the admin API changes: each change to a component of either kind is
//! recorded in the state directory's manifest (see `state`), and replayed when the host
//! starts, after the built-ins and configured directories, so the server comes back in
//! the same state.

use std::sync::Mutex;

use arsenal_engine::component::{Kind, LoadError, Put, Swapped, Versioned};

use crate::lifecycle::{Lifecycle, LoadProblem};
use crate::policy::Source;
use crate::registry::Registry;
use crate::runtime::WorkerEngine;
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

/// One change made through the admin API to a component `T`.
pub enum Change<'a, T> {
    /// Loaded under a name not loaded, from these bytes.
    Added(&'a T, &'a [u8]),
    /// Made live in place of another version, from these bytes.
    Replaced(&'a Swapped<T>, &'a [u8]),
    RolledBack(&'a Swapped<T>),
    Removed(&'a str),
    /// An unloaded name made live again at the version it has on its own.
    Restored(&'a str),
}

impl<'a, T> Change<'a, T> {
    /// The change a `put` made, if it made one.
    pub fn of_put(put: &'a Put<T>, bytes: &'a [u8]) -> Option<Change<'a, T>> {
        match put {
            Put::Added(added) => Some(Change::Added(added, bytes)),
            Put::Replaced(swapped) => Some(Change::Replaced(swapped, bytes)),
            Put::Unchanged(_) | Put::Disabled(_) => None,
        }
    }
}

/// How a version is named in the manifest: uploads by content hash; what loads at start
/// on its own (built-in or from a directory) as `base`.
fn kept_as<T: Versioned>(version: &T) -> &str {
    match version.source() {
        Source::Upload => version.content_hash(),
        Source::Builtin | Source::Directory => BASE,
    }
}

fn uploaded<T: Versioned>(version: &T) -> Option<&str> {
    (version.source() == Source::Upload).then_some(version.content_hash())
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
    pub fn record<T: Versioned>(&self, change: Change<'_, T>) -> std::io::Result<()> {
        let mut manifest = self.manifest.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = manifest.clone();
        let kept = next.of_kind(T::KIND);
        match change {
            Change::Added(live, bytes) => {
                self.dir.store_component(live.content_hash(), bytes)?;
                kept.put(live.name(), live.content_hash(), None, self.keep);
            }
            Change::Replaced(swapped, bytes) => {
                let live = &swapped.live;
                self.dir.store_component(live.content_hash(), bytes)?;
                let previous = kept_as(&*swapped.previous);
                kept.put(live.name(), live.content_hash(), Some(previous), self.keep);
            }
            Change::RolledBack(swapped) => {
                let live = &swapped.live;
                kept.rolled_back(live.name(), uploaded(&**live));
            }
            Change::Removed(name) => kept.removed(name),
            Change::Restored(name) => kept.restored(name),
        }
        self.dir.save(&next)?;
        *manifest = next;
        Ok(())
    }

    /// Bring the catalogue and the workers to the recorded state. A version that no longer loads is reported
    /// and skipped; the rest still come back.
    pub(crate) async fn replay(
        &self,
        registry: &Registry,
        workers: &WorkerEngine,
    ) -> Vec<LoadProblem> {
        let manifest = self
            .manifest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut problems = Vec::new();
        self.replay_kind(registry, &manifest.operations, &mut problems)
            .await;
        self.replay_kind(workers, &manifest.workers, &mut problems)
            .await;
        problems
    }

    /// Bring the components of one kind to what `kept` recorded: the names unloaded
    /// unloaded, each name's uploads loaded in turn (rebuilding its history), the history
    /// cut to what was recorded.
    async fn replay_kind<L: Lifecycle>(
        &self,
        lifecycle: &L,
        kept: &Kept,
        problems: &mut Vec<LoadProblem>,
    ) {
        let versions = lifecycle.versions();
        let kind = <L::Set as arsenal_engine::component::LiveSet>::Item::KIND;
        for name in &kept.unloaded {
            match versions.remove(name) {
                Ok(_) | Err(LoadError::NotLoaded { .. }) => {}
                Err(error) => problems.push(problem(kind, name, error)),
            }
        }
        for (name, hash) in in_order(kept) {
            let outcome = match self.stored(hash) {
                Ok(bytes) => match lifecycle
                    .prepare(name, &bytes, Source::Upload, ORIGIN)
                    .await
                {
                    Ok(version) => versions.put(version).map(drop),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                problems.push(problem(kind, name, error));
            }
        }
        for name in kept.live.keys() {
            versions.trim_history(name, kept.kept(name));
        }
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

fn problem(kind: Kind, name: &str, error: LoadError) -> LoadProblem {
    tracing::error!(%kind, name, %error, "a kept component did not come back");
    let origin = match kind {
        Kind::Operation => format!("state:{name}"),
        Kind::Worker => format!("state:worker:{name}"),
    };
    LoadProblem { origin, error }
}
