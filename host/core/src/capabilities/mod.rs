//! The runtime capabilities an operation may import, one module each: the host side of
//! their WIT interfaces, what they reach, and their linking. The policy (which imports a
//! component may have, per source) and the role permits (which capabilities a caller may
//! use) are the engine's vocabulary (`arsenal_engine::policy`, `arsenal_engine::permits`).
//!
//! Each capability module links its interfaces against a store through [`RuntimeView`],
//! never naming the store type, and decides the caller's permission in the getter it
//! links with ([`Granted::check`]): a host function receives the capability's reach only
//! if the caller's roles grant that interface's capability, or traps with [`Denied`].
//! Adding a capability is a module here and a line in [`add_to_linker`].

mod distributed;
mod processes;
mod sandboxes;
mod storage;
mod supervisors;
mod system;
mod tracing;

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use crate::facts::HostFacts;
use crate::permits::{Denied, Permits};
use crate::policy::Capability;

/// Link every runtime capability's interfaces for store data `T`. Whether a component may
/// import them at all was decided at load (`check_imports`).
pub(crate) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    system::add_to_linker(linker)?;
    processes::add_to_linker(linker)?;
    supervisors::add_to_linker(linker)?;
    sandboxes::add_to_linker(linker)?;
    tracing::add_to_linker(linker)?;
    distributed::add_to_linker(linker)?;
    storage::add_to_linker(linker)?;
    Ok(())
}

/// Store data the runtime capabilities can be linked against.
pub(crate) trait RuntimeView: Send + 'static {
    /// What this instance's capabilities reach, for its current call.
    fn reach(&mut self) -> Reach<'_>;
}

/// What the runtime capabilities reach for one call: the host's facts (the process
/// table, the cluster, node and engine figures), the caller and the request.
pub(crate) struct Reach<'a> {
    pub(crate) host: &'a Arc<HostFacts>,
    pub(crate) permits: &'a Permits,
    pub(crate) request_id: &'a str,
}

impl Reach<'_> {
    /// Refuse the call unless the caller may also use `capability`: for a host function
    /// whose arguments decide that it changes more than its own capability covers.
    fn require(&self, capability: Capability) -> wasmtime::Result<()> {
        self.permits.check(capability).map_err(wasmtime::Error::new)
    }
}

/// One host call of a capability: its reach if the caller's roles grant the capability,
/// or why not.
pub(crate) struct Granted<'a> {
    reach: Result<Reach<'a>, Denied>,
}

impl<'a> Granted<'a> {
    /// Decide once, where an interface is linked, whether the caller may use `capability`.
    fn check(reach: Reach<'a>, capability: Capability) -> Granted<'a> {
        Granted {
            reach: reach.permits.check(capability).map(|()| reach),
        }
    }

    /// The capability's reach, or the trap that refuses the caller.
    fn reach(&self) -> wasmtime::Result<&Reach<'a>> {
        self.reach
            .as_ref()
            .map_err(|denied| wasmtime::Error::new(denied.clone()))
    }
}

/// Projects store data onto one host call of a capability, for linking.
struct Gated;

impl HasData for Gated {
    type Data<'a> = Granted<'a>;
}

/// A host function's answer, for the trappable bindings: its value, never a trap (the
/// refusal of a capability is the one trap, decided before).
fn answer<T>(compute: impl FnOnce() -> T) -> wasmtime::Result<T> {
    Ok(compute())
}
