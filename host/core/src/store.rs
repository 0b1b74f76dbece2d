//! The store data of an operation's instance: what every guest has ([`GuestState`]) and
//! the host's facts its runtime capabilities read.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use arsenal_engine::guest::{GuestState, GuestView};
use arsenal_engine::limits::CallLimiter;
use arsenal_wasi::config::{ConfigState, ConfigView};
use arsenal_wasi::http::{CallScope, OutboundState, OutboundView};
use arsenal_wasi::keyvalue::{KeyValueCtx, KeyValueView};
use arsenal_wasi::{ComponentReach, WasiState};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::capabilities::{Reach, RuntimeView};
use crate::facts::HostFacts;

/// The store data of one operation instance (one call, a `describe`, or a warm instance).
pub(crate) struct CallState {
    guest: GuestState,
    pub(crate) host: Arc<HostFacts>,
    /// The standard capabilities' state: what the operation was granted at load.
    wasi: WasiState,
}

impl CallState {
    pub(crate) fn new(
        host: Arc<HostFacts>,
        limiter: CallLimiter,
        operation: Arc<str>,
        request_id: Arc<str>,
        reach: &ComponentReach,
    ) -> CallState {
        CallState {
            guest: GuestState::new(limiter, operation, request_id),
            host,
            wasi: WasiState::new(reach),
        }
    }
}

impl Deref for CallState {
    type Target = GuestState;

    fn deref(&self) -> &GuestState {
        &self.guest
    }
}

impl DerefMut for CallState {
    fn deref_mut(&mut self) -> &mut GuestState {
        &mut self.guest
    }
}

impl GuestView for CallState {
    fn guest(&mut self) -> &mut GuestState {
        &mut self.guest
    }
}

impl RuntimeView for CallState {
    fn reach(&mut self) -> Reach<'_> {
        Reach {
            host: &self.host,
            permits: &self.guest.permits,
            request_id: &self.guest.context.request_id,
        }
    }
}

impl KeyValueView for CallState {
    fn keyvalue(&mut self) -> KeyValueCtx<'_> {
        KeyValueCtx {
            state: &self.wasi.keyvalue,
            table: self.guest.table(),
        }
    }
}

impl CallState {
    /// Serve the outbound requests of a new call: its budget, deadline, trace and ledger.
    pub(crate) fn serve_outbound(&mut self, scope: CallScope) {
        self.wasi.outbound.begin_call(scope);
    }
}

impl OutboundView for CallState {
    fn outbound(&mut self) -> (&mut OutboundState, &mut ResourceTable) {
        (&mut self.wasi.outbound, self.guest.table())
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.guest.ctx()
    }
}

impl ConfigView for CallState {
    fn config(&mut self) -> &ConfigState {
        &self.wasi.config
    }
}
