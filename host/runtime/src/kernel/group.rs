//! Process groups: what a process belongs to above the kernel (a sandbox), which counts
//! it while it lives. The kernel admits a process into its group before registering it
//! and releases it when it exits; the layers above read the group back by its type.

use std::any::Any;
use std::sync::Arc;

/// A group that counts its processes.
pub(crate) trait ProcessGroup: Any + Send + Sync {
    /// Count a new member, or say which budget refuses it.
    fn admit(&self) -> Result<(), String>;

    /// A member exited, or was never started.
    fn release(&self);
}

/// The group a process is in, read back as its concrete type.
pub(crate) fn group_as<G: ProcessGroup>(group: &Option<Arc<dyn ProcessGroup>>) -> Option<Arc<G>> {
    let any: Arc<dyn Any + Send + Sync> = group.clone()?;
    any.downcast().ok()
}
