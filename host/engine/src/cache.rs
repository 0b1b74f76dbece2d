//! The on-disk cache of compiled components and their `describe()` results.
//!
//! Entries are keyed by the component's content hash under a directory named for the
//! engine fingerprint (wasmtime version + every setting that affects compiled code), so
//! one cache serves every process on the machine — server, CLI, each test binary — and
//! nothing compiles twice. Files are written to a temporary name and renamed, so readers
//! never see a torn entry; an artifact is loaded only if its recorded hash matches.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

/// The content hash of a component: hex SHA-256 of its bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The compile cache, or no cache at all.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

/// What is recorded beside a compiled artifact.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    artifact_sha256: String,
    /// The `describe()` result, as the host's JSON form of the config.
    describe: Option<serde_json::Value>,
}

impl CompileCache {
    /// A cache under `root` for the engine with `fingerprint`, or a disabled one.
    pub fn new(root: Option<&Path>, fingerprint: &str) -> CompileCache {
        let dir = root.map(|root| root.join(fingerprint));
        if let Some(dir) = &dir
            && let Err(error) = fs::create_dir_all(dir)
        {
            tracing::warn!(dir = %dir.display(), %error, "compile cache disabled: cannot create its directory");
            return CompileCache { dir: None };
        }
        CompileCache { dir }
    }

    /// A cache that never stores anything.
    pub fn disabled() -> CompileCache {
        CompileCache { dir: None }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The compiled component for `bytes` (whose hash is `hash`): from the cache when a
    /// verified entry exists, else compiled now and stored. Returns whether it was a hit.
    pub fn component(
        &self,
        engine: &wasmtime::Engine,
        hash: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, bool)> {
        if let Some(component) = self.cached(engine, hash) {
            return Ok((component, true));
        }
        Ok((self.compile(engine, hash, bytes)?, false))
    }

    /// Compile `bytes` in this process and store the artifact, without looking first.
    #[expect(
        unsafe_code,
        reason = "deserializing an artifact this engine just produced"
    )]
    pub fn compile(
        &self,
        engine: &wasmtime::Engine,
        hash: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let artifact = engine.precompile_component(bytes)?;
        // SAFETY: the artifact was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        self.store(hash, &artifact);
        Ok(component)
    }

    /// Take in an artifact compiled for `engine` by a compiler child process: store it,
    /// then load it back through the cache's verified path. With the cache disabled the
    /// artifact is loaded as it is; wasmtime checks it was built for this engine.
    #[expect(
        unsafe_code,
        reason = "deserializing an artifact our own compiler process produced"
    )]
    pub fn adopt(
        &self,
        engine: &wasmtime::Engine,
        hash: &str,
        artifact: &[u8],
    ) -> wasmtime::Result<Component> {
        self.store(hash, artifact);
        if let Some(component) = self.cached(engine, hash) {
            return Ok(component);
        }
        // SAFETY: the bytes come from this binary's compiler child, run with this engine's
        // recipe, through a private temporary file; `deserialize` refuses an artifact whose
        // engine settings differ.
        unsafe { Component::deserialize(engine, artifact) }
    }

    /// Drop the entry for `hash` (a version no longer kept anywhere).
    pub fn remove(&self, hash: &str) {
        let Some(dir) = &self.dir else { return };
        for extension in ["cwasm", "json"] {
            let path = dir.join(format!("{hash}.{extension}"));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "could not remove a compile cache entry")
                }
            }
        }
    }

    /// The verified compiled component for `hash`, if the cache holds one.
    #[expect(unsafe_code, reason = "loading a verified artifact from our own cache")]
    pub fn cached(&self, engine: &wasmtime::Engine, hash: &str) -> Option<Component> {
        let dir = self.dir.as_ref()?;
        let meta = self.meta(hash)?;
        let path = dir.join(format!("{hash}.cwasm"));
        let artifact = fs::read(&path).ok()?;
        if hex::encode(Sha256::digest(&artifact)) != meta.artifact_sha256 {
            tracing::warn!(path = %path.display(), "cached artifact does not match its recorded hash; recompiling");
            return None;
        }
        // SAFETY: the artifact was written by an engine with the same fingerprint (the
        // directory name) and its bytes match the hash recorded when it was written.
        match unsafe { Component::deserialize(engine, &artifact) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cached artifact unusable; recompiling");
                None
            }
        }
    }

    /// The cached `describe()` result of a component, if any.
    pub fn describe(&self, hash: &str) -> Option<serde_json::Value> {
        self.meta(hash)?.describe
    }

    /// Record the `describe()` result of a component whose artifact is cached.
    pub fn store_describe(&self, hash: &str, describe: serde_json::Value) {
        let Some(mut meta) = self.meta(hash) else {
            return;
        };
        meta.describe = Some(describe);
        self.write_meta(hash, &meta);
    }

    fn meta(&self, hash: &str) -> Option<Meta> {
        let dir = self.dir.as_ref()?;
        let text = fs::read(dir.join(format!("{hash}.json"))).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn store(&self, hash: &str, artifact: &[u8]) {
        let Some(dir) = &self.dir else { return };
        let meta = Meta {
            artifact_sha256: hex::encode(Sha256::digest(artifact)),
            describe: None,
        };
        if let Err(error) = write_atomically(&dir.join(format!("{hash}.cwasm")), artifact) {
            tracing::warn!(%error, "could not store a compiled artifact");
            return;
        }
        self.write_meta(hash, &meta);
    }

    fn write_meta(&self, hash: &str, meta: &Meta) {
        let Some(dir) = &self.dir else { return };
        let bytes = serde_json::to_vec(meta).expect("cache metadata serializes");
        if let Err(error) = write_atomically(&dir.join(format!("{hash}.json")), &bytes) {
            tracing::warn!(%error, "could not store compiled artifact metadata");
        }
    }
}

/// Write `bytes` to `path` through a temporary file in the same directory, fsync, rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
