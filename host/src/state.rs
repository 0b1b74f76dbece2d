//! What the admin API changed, kept across restarts: the components uploaded (stored by
//! content hash) and a manifest of which version of each operation is live, the earlier
//! ones kept, and the built-ins unloaded. Every file is written atomically (temporary
//! file, fsync, rename), so a crash leaves the old state or the new one, never a torn
//! file; the compile cache means a restart does not recompile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::write_atomically;

/// The manifest: one entry per operation changed through the admin API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// Live uploaded version of each operation: its content hash.
    pub(crate) live: BTreeMap<String, String>,
    /// Earlier versions kept, oldest first, by content hash ("builtin" for a built-in).
    pub(crate) history: BTreeMap<String, Vec<String>>,
    /// Operations unloaded (built-ins included), not to be served after a restart.
    pub(crate) unloaded: Vec<String>,
}

/// A state directory.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    dir: PathBuf,
}

const MANIFEST: &str = "operations.json";

impl StateDir {
    pub(crate) fn new(dir: &Path) -> StateDir {
        StateDir {
            dir: dir.to_owned(),
        }
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
            .live
            .values()
            .chain(manifest.history.values().flatten())
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
