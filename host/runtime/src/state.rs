//! The store data of a worker process's instance: what every guest has ([`GuestState`])
//! and which process the store belongs to, for the `arsenal:process/process` import.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use arsenal_engine::bindings::process::arsenal::process::types;
use arsenal_engine::guest::{GuestState, GuestView};
use arsenal_engine::limits::CallLimiter;
use arsenal_wasi::config::{ConfigState, ConfigView};
use arsenal_wasi::http::{CallScope, OutboundState, OutboundView};
use arsenal_wasi::keyvalue::{KeyValueCtx, KeyValueView};
use arsenal_wasi::{ComponentReach, WasiState};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::kernel::ProcessHandle;

/// The store data of one worker instance.
pub(crate) struct ProcessState {
    guest: GuestState,
    /// The process the store belongs to, as its handle on the kernel; none for a worker
    /// started on its own.
    pub(crate) process: Option<ProcessHandle>,
    /// The standard capabilities' state: what the worker reaches where it runs.
    wasi: WasiState,
}

impl ProcessState {
    pub(crate) fn new(
        limiter: CallLimiter,
        worker: Arc<str>,
        pid: Arc<str>,
        reach: &ComponentReach,
    ) -> ProcessState {
        ProcessState {
            guest: GuestState::new(limiter, worker, pid),
            process: None,
            wasi: WasiState::new(reach),
        }
    }

    /// Give the worker `dir` as its only directory (a sandbox's private directory).
    pub(crate) fn with_private_dir(self, dir: &std::path::Path) -> wasmtime::Result<ProcessState> {
        Ok(ProcessState {
            guest: self.guest.with_private_dir(dir)?,
            process: self.process,
            wasi: self.wasi,
        })
    }
}

impl Deref for ProcessState {
    type Target = GuestState;

    fn deref(&self) -> &GuestState {
        &self.guest
    }
}

impl DerefMut for ProcessState {
    fn deref_mut(&mut self) -> &mut GuestState {
        &mut self.guest
    }
}

impl GuestView for ProcessState {
    fn guest(&mut self) -> &mut GuestState {
        &mut self.guest
    }
}

impl KeyValueView for ProcessState {
    fn keyvalue(&mut self) -> KeyValueCtx<'_> {
        KeyValueCtx {
            state: &self.wasi.keyvalue,
            table: self.guest.table(),
        }
    }
}

impl ProcessState {
    /// Serve the outbound requests of a new message: its budget, deadline and ledger.
    pub(crate) fn serve_outbound(&mut self, scope: CallScope) {
        self.wasi.outbound.begin_call(scope);
    }
}

impl OutboundView for ProcessState {
    fn outbound(&mut self) -> (&mut OutboundState, &mut ResourceTable) {
        (&mut self.wasi.outbound, self.guest.table())
    }
}

impl WasiView for ProcessState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.guest.ctx()
    }
}

impl types::Host for ProcessState {}

impl ConfigView for ProcessState {
    fn config(&mut self) -> &ConfigState {
        &self.wasi.config
    }
}
