//! The data a guest's store holds for one call (or one `describe`): the WASI context
//! that grants nothing, the limiter, and what host functions need to know about the call.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::{GuestOutput, HostFacts, wasi_ctx};
use crate::limits::CallLimiter;

/// Which call a store serves, for tagging logs.
#[derive(Debug)]
pub(crate) struct CallContext {
    pub(crate) operation: Arc<str>,
    pub(crate) request_id: Arc<str>,
    pub(crate) log_lines: u32,
    pub(crate) log_dropped: u32,
}

/// The store data of one guest instance.
pub(crate) struct CallState {
    /// Built on the guest's first WASI call: most calls of an operation make none, and
    /// building one (random generators, clocks, output streams) is a measurable part of
    /// a fresh instance's cost.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    pub(crate) host: Arc<HostFacts>,
    pub(crate) context: CallContext,
    pub(crate) output: GuestOutput,
    /// Set for worker processes: who the store belongs to.
    pub(crate) process: Option<crate::runtime::ProcessContext>,
    /// What the caller may use; nothing until a call names its caller.
    pub(crate) permits: crate::capabilities::Permits,
}

impl CallState {
    pub(crate) fn new(
        host: Arc<HostFacts>,
        limiter: CallLimiter,
        operation: Arc<str>,
        request_id: Arc<str>,
    ) -> CallState {
        let output = GuestOutput::default();
        CallState {
            wasi: None,
            table: ResourceTable::new(),
            limiter,
            host,
            context: CallContext {
                operation,
                request_id,
                log_lines: 0,
                log_dropped: 0,
            },
            output,
            process: None,
            permits: Default::default(),
        }
    }

    /// Make a kept instance's store ready for its next call (warm-instance mode): tagged
    /// with the new request, its log budget renewed, the caller's permits.
    pub(crate) fn begin_call(
        &mut self,
        request_id: Arc<str>,
        permits: crate::capabilities::Permits,
    ) {
        self.context.request_id = request_id;
        self.context.log_lines = 0;
        self.context.log_dropped = 0;
        self.permits = permits;
    }

    /// Refuse a capability the caller's roles do not grant (traps the operation).
    pub(crate) fn permit(
        &self,
        capability: crate::capabilities::Capability,
    ) -> wasmtime::Result<()> {
        self.permits.check(capability).map_err(wasmtime::Error::new)
    }

    /// Give the guest `dir` as its only directory (a sandbox's private directory).
    pub(crate) fn with_private_dir(mut self, dir: &std::path::Path) -> wasmtime::Result<CallState> {
        self.wasi = Some(crate::capabilities::wasi_ctx_with_dir(&self.output, dir)?);
        Ok(self)
    }

    /// Write what the guest printed, and how much logging it was denied, to the host log.
    pub(crate) fn flush_output(&mut self) {
        let (lines, dropped) = self.output.take();
        let operation = &*self.context.operation;
        let request_id = &*self.context.request_id;
        for (stream, line) in lines {
            tracing::info!(target: "guest", operation, request_id, stream, "{line}");
        }
        if dropped > 0 {
            tracing::warn!(target: "guest", operation, request_id, dropped_bytes = dropped, "guest output over the per-call cap was dropped");
        }
        if self.context.log_dropped > 0 {
            tracing::warn!(target: "guest", operation, request_id, dropped_lines = self.context.log_dropped, "guest log lines over the per-call budget were dropped");
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| wasi_ctx(&self.output)),
            table: &mut self.table,
        }
    }
}

impl crate::bindings::arsenal::operation::types::Host for CallState {}

impl crate::bindings::process::arsenal::process::types::Host for CallState {}
