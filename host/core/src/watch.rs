//! A watched directory of operations: adding a `.wasm` file loads it, replacing the file
//! replaces the live version, deleting it unloads it. Changes are debounced (a file is
//! acted on once it has been quiet for the debounce time, so a file still being written is
//! not read); a file that does not load — half-written, not a component, refused — is
//! reported and the live version keeps serving. The files already there when the host
//! starts are loaded by `Host::watch_dir`.
//!
//! Only changes to a file's content count: opening or reading a file (as this watcher
//! does to load it, or a backup does) is not a change, or every load would trigger the
//! next one. A file written again with the code already live from it changes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{self, Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tracing::instrument::WithSubscriber as _;

use crate::cache::content_hash;
use crate::policy::Source;
use crate::registry::{Put, Registry};

/// What the watcher did about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    Loaded {
        name: String,
        path: PathBuf,
    },
    Replaced {
        name: String,
        path: PathBuf,
    },
    Unloaded {
        name: String,
        path: PathBuf,
    },
    /// The file holds the code already live from it (written again with the same bytes,
    /// or its metadata changed): nothing to do.
    Unchanged {
        name: String,
        path: PathBuf,
    },
    /// The file did not load; the live version (if any) keeps serving.
    Refused {
        path: PathBuf,
        error: String,
    },
}

/// A running watch; dropping it stops watching.
pub struct DirectoryWatch {
    _watcher: RecommendedWatcher,
    events: broadcast::Sender<WatchEvent>,
}

impl DirectoryWatch {
    /// What the watcher does from now on.
    pub fn events(&self) -> broadcast::Receiver<WatchEvent> {
        self.events.subscribe()
    }
}

/// Whether an event can mean the file's content changed. Opening a file and closing it
/// unwritten are reads, not changes.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Watch `dir` (which must exist) and apply its changes to `registry`.
pub fn watch(
    registry: Arc<Registry>,
    dir: &Path,
    debounce: Duration,
) -> Result<DirectoryWatch, notify::Error> {
    let (changed, changes) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher =
        notify::recommended_watcher(move |result: notify::Result<Event>| match result {
            Ok(event) if changes_content(&event.kind) => {
                for path in event.paths {
                    let _ = changed.send(path);
                }
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "watching operations failed"),
        })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    let (events, _) = broadcast::channel(256);
    // Ends when the watcher is dropped: its handler holds the only sender of `changes`.
    // It logs where its creator logs (a host embedded with a subscriber of its own).
    tokio::spawn(
        apply_when_quiet(registry, changes, debounce, events.clone()).with_current_subscriber(),
    );
    tracing::info!(dir = %dir.display(), "watching for operations");
    Ok(DirectoryWatch {
        _watcher: watcher,
        events,
    })
}

/// Apply each changed `.wasm` file once no change to it has come for `debounce`, in the
/// order they fell quiet.
async fn apply_when_quiet(
    registry: Arc<Registry>,
    mut changes: mpsc::UnboundedReceiver<PathBuf>,
    debounce: Duration,
    events: broadcast::Sender<WatchEvent>,
) {
    // When each changed file will have been quiet long enough.
    let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
    loop {
        let next = pending.values().min().copied();
        tokio::select! {
            changed = changes.recv() => match changed {
                Some(path) if path.extension().is_some_and(|ext| ext == "wasm") => {
                    pending.insert(path, Instant::now() + debounce);
                }
                Some(_) => {}
                None => return,
            },
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                let mut quiet: Vec<(PathBuf, Instant)> =
                    pending.extract_if(|_, at| *at <= now).collect();
                quiet.sort_by_key(|(_, at)| *at);
                for (path, _) in quiet {
                    let event = apply(&registry, &path).await;
                    log(&event);
                    let _ = events.send(event);
                }
            }
        }
    }
}

/// Bring the registry in line with one file.
async fn apply(registry: &Registry, path: &Path) -> WatchEvent {
    let origin = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            // Gone with its file: no longer a version to restore its name to.
            registry.versions().forget_base_from(&origin);
            let from_file = registry
                .snapshot()
                .operations()
                .iter()
                .find(|op| op.origin == origin)
                .map(|op| op.spec.name.clone());
            let Some(name) = from_file else {
                return refused(path, "deleted, and no operation was loaded from it");
            };
            return match registry.versions().remove(&name) {
                Ok(_) => WatchEvent::Unloaded {
                    name,
                    path: path.to_owned(),
                },
                Err(error) => refused(path, &error.to_string()),
            };
        }
        Err(error) => return refused(path, &format!("cannot read it: {error}")),
    };
    let path = path.to_owned();
    // Checked here too, before anything is inspected: the usual case of a file touched.
    let hash = content_hash(&bytes);
    if let Some(live) = registry
        .snapshot()
        .operations()
        .iter()
        .find(|op| op.origin == origin && op.content_hash == hash)
    {
        return WatchEvent::Unchanged {
            name: live.spec.name.clone(),
            path,
        };
    }
    match registry.put(&bytes, Source::Directory, &origin).await {
        Ok(Put::Added(operation)) => WatchEvent::Loaded {
            name: operation.spec.name.clone(),
            path,
        },
        Ok(Put::Replaced(swapped)) => WatchEvent::Replaced {
            name: swapped.live.spec.name.clone(),
            path,
        },
        Ok(Put::Unchanged(live)) => WatchEvent::Unchanged {
            name: live.spec.name.clone(),
            path,
        },
        Ok(Put::Disabled(name)) => refused(&path, &format!("operation `{name}` is disabled")),
        Err(error) => refused(&path, &error.to_string()),
    }
}

fn refused(path: &Path, error: &str) -> WatchEvent {
    WatchEvent::Refused {
        path: path.to_owned(),
        error: error.to_owned(),
    }
}

fn log(event: &WatchEvent) {
    match event {
        WatchEvent::Refused { path, error } => {
            tracing::error!(path = %path.display(), %error, "watched file not loaded; the live version keeps serving");
        }
        WatchEvent::Unchanged { .. } => {}
        other => tracing::info!(?other, "watched directory applied"),
    }
}
