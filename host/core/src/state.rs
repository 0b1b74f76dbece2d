//! What the admin API changed, kept across restarts: the components uploaded (stored by
//! content hash) and a manifest of which version of each operation is live, the earlier
//! ones kept, and the built-ins unloaded (until restored). Every file is written atomically (temporary
//! file, fsync, rename), so a crash leaves the old state or the new one, never a torn
//! file; the compile cache means a restart does not recompile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::write_atomically;
use arsenal_engine::component::Kind;

/// The manifest: what the admin API changed, for operations and for worker components.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    #[serde(flatten)]
    pub(crate) operations: Kept,
    #[serde(default)]
    pub(crate) workers: Kept,
}

impl Manifest {
    /// What is kept of the components of `kind`.
    pub(crate) fn of_kind(&mut self, kind: Kind) -> &mut Kept {
        match kind {
            Kind::Operation => &mut self.operations,
            Kind::Worker => &mut self.workers,
        }
    }
}

/// One kind of component changed through the admin API, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Kept {
    /// Live uploaded version of each: its content hash.
    #[serde(default)]
    pub(crate) live: BTreeMap<String, String>,
    /// Earlier versions kept, oldest first, by content hash (`base` for the version that
    /// loads at start on its own: built-in or from a directory).
    #[serde(default)]
    pub(crate) history: BTreeMap<String, Vec<String>>,
    /// Unloaded (built-ins and directory ones included), not to come back after a restart.
    #[serde(default)]
    pub(crate) unloaded: Vec<String>,
}

impl Kept {
    /// `name` is live at `hash` (an upload); `previous` (a hash, or `base`) is kept for
    /// rollback, at most `keep` of them.
    pub(crate) fn put(&mut self, name: &str, hash: &str, previous: Option<&str>, keep: usize) {
        if let Some(previous) = previous {
            let history = self.history.entry(name.to_owned()).or_default();
            history.push(previous.to_owned());
            let excess = history.len().saturating_sub(keep);
            history.drain(..excess);
        }
        self.unloaded.retain(|other| other != name);
        self.live.insert(name.to_owned(), hash.to_owned());
    }

    /// `name` went back to its previous version: `live` is its hash when it is an upload.
    pub(crate) fn rolled_back(&mut self, name: &str, live: Option<&str>) {
        if let Some(history) = self.history.get_mut(name) {
            history.pop();
        }
        match live {
            Some(hash) => self.live.insert(name.to_owned(), hash.to_owned()),
            None => self.live.remove(name),
        };
    }

    /// `name` was unloaded, with its history.
    pub(crate) fn removed(&mut self, name: &str) {
        self.live.remove(name);
        self.history.remove(name);
        if !self.unloaded.iter().any(|other| other == name) {
            self.unloaded.push(name.to_owned());
        }
    }

    /// `name` is live again at the version that loads at start on its own: no longer
    /// unloaded at start.
    pub(crate) fn restored(&mut self, name: &str) {
        self.unloaded.retain(|other| other != name);
    }

    /// How many earlier versions of `name` are kept.
    pub(crate) fn kept(&self, name: &str) -> usize {
        self.history.get(name).map_or(0, Vec::len)
    }

    fn hashes(&self) -> impl Iterator<Item = &String> {
        self.live.values().chain(self.history.values().flatten())
    }
}

/// A state directory.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    dir: PathBuf,
}

const MANIFEST: &str = "operations.json";

impl StateDir {
    /// The state directory at `dir`, swept of temporary files a crash left half written
    /// (they were never renamed into place, so nothing refers to them).
    pub(crate) fn new(dir: &Path) -> StateDir {
        let state = StateDir {
            dir: dir.to_owned(),
        };
        for place in [state.dir.clone(), state.dir.join("components")] {
            let Ok(entries) = std::fs::read_dir(&place) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".tmp") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        state
    }

    fn component_path(&self, hash: &str) -> PathBuf {
        self.dir.join("components").join(format!("{hash}.wasm"))
    }

    /// The manifest, or an empty one when there is none yet. A manifest that cannot be
    /// read is reported and treated as empty: the server starts with its built-ins.
    pub(crate) fn manifest(&self) -> Manifest {
        let path = self.dir.join(MANIFEST);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::error!(path = %path.display(), %error, "unreadable state manifest; starting without it");
                Manifest::default()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "state manifest not read; starting without it");
                Manifest::default()
            }
        }
    }

    /// Keep a component's bytes (once per content hash).
    pub(crate) fn store_component(&self, hash: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.component_path(hash);
        if path.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(path.parent().expect("under the state dir"))?;
        write_atomically(&path, bytes)
    }

    pub(crate) fn component(&self, hash: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.component_path(hash))
    }

    /// Write the manifest, then drop components no longer named by it.
    pub(crate) fn save(&self, manifest: &Manifest) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
        write_atomically(&self.dir.join(MANIFEST), &bytes)?;
        let named: std::collections::BTreeSet<&String> = manifest
            .operations
            .hashes()
            .chain(manifest.workers.hashes())
            .collect();
        if let Ok(entries) = std::fs::read_dir(self.dir.join("components")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let hash = name.trim_end_matches(".wasm").to_owned();
                if !named.contains(&hash) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }
}
