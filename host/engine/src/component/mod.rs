//! The life of a component, whatever its kind — an operation (a REST endpoint) or a worker
//! (the code of long-lived processes). One pipeline turns bytes into a linked component
//! (`pipeline`: inspect → policy → compile through the cache → link → the kind's own
//! description); one error type says why it did not load or change (`error`); one version
//! store keeps the live versions of a kind with their history, rollback, unload and
//! restore (`versions`). The kinds differ only in what they plug in: a [`Contract`] for
//! the pipeline, a [`LiveSet`] for the store.

mod compile;
mod error;
mod kind;
mod pipeline;
mod versions;

pub use compile::Compilation;
pub use error::LoadError;
pub use kind::Kind;
pub use pipeline::{Contract, Linked, Pipeline};
pub use versions::{Added, LiveSet, Put, Swapped, Upkeep, VersionStore, Versioned, revision};
