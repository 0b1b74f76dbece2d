//! Compiling a component through the cache, the one way for both kinds: a verified cache
//! entry when there is one; else code that came with the binary compiles in this process
//! on a blocking thread, and everything else through the bounded [`Compiler`].

use std::sync::Arc;

use wasmtime::component::Component;

use super::LoadError;
use crate::cache::CompileCache;
use crate::compiler::Compiler;
use crate::engine::EngineRecipe;
use crate::lookups::CacheLookups;
use crate::policy::Source;

/// What compiles components for one engine.
#[derive(Clone)]
pub struct Compilation {
    engine: wasmtime::Engine,
    /// How a compiler child process builds the same engine.
    recipe: EngineRecipe,
    cache: CompileCache,
    compiler: Arc<Compiler>,
    /// Hits and misses, counted for the host's metrics.
    lookups: Arc<CacheLookups>,
}

impl Compilation {
    pub fn new(
        engine: wasmtime::Engine,
        recipe: EngineRecipe,
        cache: CompileCache,
        compiler: Arc<Compiler>,
        lookups: Arc<CacheLookups>,
    ) -> Compilation {
        Compilation {
            engine,
            recipe,
            cache,
            compiler,
            lookups,
        }
    }

    pub fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }

    /// The compiler of code from outside the binary.
    pub fn compiler(&self) -> &Compiler {
        &self.compiler
    }

    /// The compiled component of `bytes`, whose content hash is `hash`.
    pub async fn component(
        &self,
        hash: &str,
        bytes: &[u8],
        source: Source,
    ) -> Result<Component, LoadError> {
        let cached = self.cache.cached(&self.engine, hash);
        self.lookups.count(cached.is_some());
        if let Some(component) = cached {
            return Ok(component);
        }
        if source == Source::Builtin {
            let (engine, cache) = (self.engine.clone(), self.cache.clone());
            let (hash, bytes) = (hash.to_owned(), bytes.to_vec());
            // Compiling is CPU-bound and can take seconds; keep it off the async workers.
            return tokio::task::spawn_blocking(move || cache.compile(&engine, &hash, &bytes))
                .await
                .map_err(|error| {
                    LoadError::InvalidComponent(format!("compilation panicked: {error}"))
                })?
                .map_err(|error| LoadError::InvalidComponent(format!("{error:#}")));
        }
        let artifact = self.compiler.compile(self.recipe, bytes).await?;
        self.cache
            .adopt(&self.engine, hash, &artifact)
            .map_err(|error| {
                LoadError::Compiler(format!("the compiled artifact is unusable: {error:#}"))
            })
    }
}
