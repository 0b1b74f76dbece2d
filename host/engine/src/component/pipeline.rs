//! The one way a component becomes loadable, for both kinds: its shape is read (is it a
//! component, and does it meet the kind's contract), its imports are judged by the
//! capability policy for its source, it is compiled through the cache, linked, and then
//! the kind finishes it (an operation runs `describe()` and parses its config; a worker
//! finds its exports). Each step refuses with a [`LoadError`] saying why.

use std::future::Future;

use wasmtime::component::{Component, InstancePre, Linker};

use super::{Compilation, LoadError};
use crate::cache::content_hash;
use crate::inspect::ComponentShape;
use crate::policy::{Capability, Grants, ImportVerdict, Source, check_imports};

/// What one kind of component brings to the [`Pipeline`], for store data `T`.
pub trait Contract<T: 'static>: Sync {
    /// What the kind reads from a component's shape before it compiles.
    type Facts: Send;
    /// What loading makes.
    type Loaded: Send;

    /// Check the component's exports against the kind's contract (its version included).
    /// Returns what was read, and the imports the capability policy judges: those the
    /// kind provides to every component of its own (a worker's `process`) are left out.
    fn inspect(&self, shape: &ComponentShape) -> Result<(Self::Facts, Vec<String>), LoadError>;

    /// Make the loaded component from the linked one.
    fn finish(
        &self,
        linked: Linked<T, Self::Facts>,
    ) -> impl Future<Output = Result<Self::Loaded, LoadError>> + Send;
}

/// A component compiled and linked, handed to [`Contract::finish`].
pub struct Linked<T: 'static, F> {
    pub pre: InstancePre<T>,
    pub component: Component,
    /// Hex SHA-256 of the component's bytes.
    pub content_hash: String,
    pub source: Source,
    /// Where it came from: `builtin:echo`, a file path, `upload`.
    pub origin: String,
    /// The named capabilities it imports (the baseline is not listed).
    pub capabilities: Vec<Capability>,
    pub facts: F,
}

/// The pipeline of one engine: its compilation, its linker and the capability grants.
pub struct Pipeline<T: 'static> {
    compilation: Compilation,
    linker: Linker<T>,
    grants: Grants,
}

impl<T: Send + 'static> Pipeline<T> {
    pub fn new(compilation: Compilation, linker: Linker<T>, grants: Grants) -> Pipeline<T> {
        Pipeline {
            compilation,
            linker,
            grants,
        }
    }

    pub fn compilation(&self) -> &Compilation {
        &self.compilation
    }

    /// Load `bytes`, from `source`, as the component `contract` describes.
    pub async fn load<C: Contract<T>>(
        &self,
        contract: &C,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<C::Loaded, LoadError> {
        let shape = ComponentShape::read(bytes)
            .map_err(|error| LoadError::InvalidComponent(error.to_string()))?;
        let (facts, imports) = contract.inspect(&shape)?;
        let capabilities = match check_imports(&imports, source, &self.grants) {
            ImportVerdict::Allowed(capabilities) => capabilities,
            ImportVerdict::Refused(problems) => {
                return Err(LoadError::UnsupportedImports(problems));
            }
        };
        let content_hash = content_hash(bytes);
        let component = self
            .compilation
            .component(&content_hash, bytes, source)
            .await?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| LoadError::InvalidComponent(format!("cannot link: {error:#}")))?;
        let linked = Linked {
            pre,
            component,
            content_hash,
            source,
            origin: origin.to_owned(),
            capabilities,
            facts,
        };
        contract.finish(linked).await
    }
}
