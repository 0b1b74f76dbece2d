//! Capability `system` (`arsenal:runtime/system`): read-only facts about the host and
//! its engine.

use wasmtime::component::Linker;

use crate::bindings::arsenal::runtime::system::{self, EngineInfo, Host, HostInfo};
use crate::policy::Capability;

use super::{Gated, Granted, RuntimeView};

/// Link this module's interfaces, each behind its capability.
pub(super) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    system::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::System)
    })?;
    Ok(())
}

impl Host for Granted<'_> {
    fn get_host_info(&mut self) -> wasmtime::Result<HostInfo> {
        let reach = self.reach()?;
        Ok(reach.host.host_info())
    }

    fn get_engine_info(&mut self) -> wasmtime::Result<EngineInfo> {
        let reach = self.reach()?;
        Ok(reach.host.engine_info())
    }
}
