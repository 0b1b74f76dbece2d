//! The built-in operations, compiled from `operations/` by the build script and embedded
//! in the binary.

include!(concat!(env!("OUT_DIR"), "/builtin_operations.rs"));

/// The embedded components: `(crate name, component bytes)`.
pub(crate) fn components() -> &'static [(&'static str, &'static [u8])] {
    BUILTIN_OPERATIONS
}
