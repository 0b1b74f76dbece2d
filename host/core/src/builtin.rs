//! The built-in operations, compiled from `operations/` by the build script and embedded
//! in the binary.

include!(concat!(env!("OUT_DIR"), "/builtin_operations.rs"));

/// The embedded components: `(crate name, component bytes)` (the crate names are the
/// directories of `operations/`, e.g. `echo`, `engine-info`).
pub fn components() -> &'static [(&'static str, &'static [u8])] {
    BUILTIN_OPERATIONS
}
