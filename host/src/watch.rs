//! A watched directory of operations: adding a `.wasm` file loads it, replacing the file
//! replaces the live version, deleting it unloads it. Events are debounced (a file is
//! acted on once it has been quiet for the debounce time, so a file still being written is
//! not read); a file that does not load — half-written, not a component, refused — is
//! reported and the live version keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::{broadcast, mpsc};

use crate::capabilities::Source;
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
    /// The file did not load; the live version (if any) keeps serving.
    Refused {
        path: PathBuf,
        error: String,
    },
}

/// A running watch; dropping it stops watching.
pub struct DirectoryWatch {
    _debouncer: Debouncer<RecommendedWatcher>,
    events: broadcast::Sender<WatchEvent>,
}

impl DirectoryWatch {
    /// What the watcher does from now on.
    pub fn events(&self) -> broadcast::Receiver<WatchEvent> {
        self.events.subscribe()
    }
}

/// Watch `dir` (which must exist) and apply its changes to `registry`.
pub fn watch(
    registry: Arc<Registry>,
    dir: &Path,
    debounce: Duration,
) -> Result<DirectoryWatch, notify_debouncer_mini::notify::Error> {
    let (changed, mut changes) = mpsc::unbounded_channel::<PathBuf>();
    let mut debouncer = new_debouncer(debounce, move |result: DebounceEventResult| match result {
        Ok(events) => {
            for event in events {
                let _ = changed.send(event.path);
            }
        }
        Err(error) => tracing::error!(%error, "watching operations failed"),
    })?;
    debouncer
        .watcher()
        .watch(dir, RecursiveMode::NonRecursive)?;
    let (events, _) = broadcast::channel(256);
    let sender = events.clone();
    tokio::spawn(async move {
        while let Some(path) = changes.recv().await {
            if path.extension().is_some_and(|ext| ext == "wasm") {
                let event = apply(&registry, &path).await;
                log(&event);
                let _ = sender.send(event);
            }
        }
    });
    tracing::info!(dir = %dir.display(), "watching for operations");
    Ok(DirectoryWatch {
        _debouncer: debouncer,
        events,
    })
}

/// Bring the registry in line with one file.
async fn apply(registry: &Registry, path: &Path) -> WatchEvent {
    let origin = path.display().to_string();
    let from_file = |registry: &Registry| {
        registry
            .snapshot()
            .operations()
            .iter()
            .find(|op| op.origin == origin)
            .map(|op| op.spec.name.clone())
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let Some(name) = from_file(registry) else {
                return refused(path, "deleted, and no operation was loaded from it");
            };
            return match registry.remove(&name).await {
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
    match registry.put(&bytes, Source::Directory, &origin).await {
        Ok(Put::Added(operation)) => WatchEvent::Loaded {
            name: operation.spec.name.clone(),
            path,
        },
        Ok(Put::Replaced(swapped)) => WatchEvent::Replaced {
            name: swapped.live.spec.name.clone(),
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
        other => tracing::info!(?other, "watched directory applied"),
    }
}
