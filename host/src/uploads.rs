//! Keeping what the admin API changes: each change is recorded in the state directory's
//! manifest (see `state`), and replayed when the host starts, after the built-ins and
//! configured directories, so the server comes back in the same state.

use std::sync::Mutex;

use crate::capabilities::Source;
use crate::host::{Host, LoadProblem};
use crate::loader::{LoadError, LoadedOperation};
use crate::registry::Swapped;
use crate::state::{Manifest, StateDir};

/// A history entry for a version that loads at start on its own (built-in or directory).
const BASE: &str = "base";
const ORIGIN: &str = "upload";

/// The state directory and its manifest, kept in step.
pub(crate) struct Uploads {
    dir: StateDir,
    manifest: Mutex<Manifest>,
    keep: usize,
}

/// One change made through the admin API.
pub(crate) enum Change<'a> {
    Added(&'a LoadedOperation, &'a [u8]),
    Replaced(&'a Swapped, &'a [u8]),
    RolledBack(&'a Swapped),
    Removed(&'a str),
}

fn hash_of(operation: &LoadedOperation) -> String {
    match operation.source {
        Source::Upload => operation.content_hash.clone(),
        Source::Builtin | Source::Directory => BASE.to_owned(),
    }
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
    pub(crate) fn record(&self, change: Change<'_>) -> std::io::Result<()> {
        let mut manifest = self.manifest.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = manifest.clone();
        match change {
            Change::Added(operation, bytes) => {
                self.dir.store_component(&operation.content_hash, bytes)?;
                let name = operation.spec.name.clone();
                next.unloaded.retain(|other| *other != name);
                next.live.insert(name, operation.content_hash.clone());
            }
            Change::Replaced(swapped, bytes) => {
                self.dir
                    .store_component(&swapped.live.content_hash, bytes)?;
                let name = swapped.live.spec.name.clone();
                let history = next.history.entry(name.clone()).or_default();
                history.push(hash_of(&swapped.previous));
                while history.len() > self.keep {
                    history.remove(0);
                }
                next.live.insert(name, swapped.live.content_hash.clone());
            }
            Change::RolledBack(swapped) => {
                let name = swapped.live.spec.name.clone();
                if let Some(history) = next.history.get_mut(&name) {
                    history.pop();
                }
                match swapped.live.source {
                    Source::Upload => {
                        next.live.insert(name, swapped.live.content_hash.clone());
                    }
                    _ => {
                        next.live.remove(&name);
                    }
                }
            }
            Change::Removed(name) => {
                next.live.remove(name);
                next.history.remove(name);
                if !next.unloaded.iter().any(|other| other == name) {
                    next.unloaded.push(name.to_owned());
                }
            }
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
        for name in &manifest.unloaded {
            match registry.remove(name).await {
                Ok(_) | Err(LoadError::NotLoaded(_)) => {}
                Err(error) => problems.push(problem(name, error)),
            }
        }
        for (name, live) in &manifest.live {
            let earlier = manifest.history.get(name).into_iter().flatten();
            for hash in earlier
                .chain(std::iter::once(live))
                .filter(|hash| *hash != BASE)
            {
                let bytes = match self.dir.component(hash) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        problems.push(problem(
                            name,
                            LoadError::InvalidComponent(format!(
                                "stored component {hash} unreadable: {error}"
                            )),
                        ));
                        continue;
                    }
                };
                let outcome = if registry.snapshot().get(name).is_some() {
                    registry
                        .replace(name, &bytes, Source::Upload, ORIGIN)
                        .await
                        .map(|_| ())
                } else {
                    registry
                        .add(&bytes, Source::Upload, ORIGIN)
                        .await
                        .map(|_| ())
                };
                if let Err(error) = outcome {
                    problems.push(problem(name, error));
                }
            }
        }
        problems
    }
}

fn problem(name: &str, error: LoadError) -> LoadProblem {
    tracing::error!(operation = name, %error, "a kept operation did not come back");
    LoadProblem {
        origin: format!("state:{name}"),
        error,
    }
}
