//! The part of a guest's store every component has, operation or worker: the WASI context
//! that grants nothing, the resource table, the limiter, the call's tags and log budget,
//! the captured output, and the caller's permits. The layers above wrap it in their own
//! store data (`arsenal_core`'s `CallState`, `arsenal_runtime`'s `ProcessState`) and hand
//! it to the baseline interfaces through [`GuestView`].

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::limits::CallLimiter;
use crate::permits::Permits;
use crate::wasi::{GuestOutput, wasi_ctx, wasi_ctx_with_dir};

/// Which call a store serves, for tagging logs.
#[derive(Debug)]
pub struct CallContext {
    pub operation: Arc<str>,
    pub request_id: Arc<str>,
    pub log_lines: u32,
    pub log_dropped: u32,
}

/// The store data every guest instance has.
pub struct GuestState {
    /// Built on the guest's first WASI call: most calls of an operation make none, and
    /// building one (random generators, clocks, output streams) is a measurable part of
    /// a fresh instance's cost.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub limiter: CallLimiter,
    pub context: CallContext,
    pub output: GuestOutput,
    /// What the caller may use; nothing until a call names its caller.
    pub permits: Permits,
}

/// Store data that holds a [`GuestState`]: what the baseline interfaces (WASI, `log`)
/// are linked against, so that they never name a store type.
pub trait GuestView: Send + 'static {
    fn guest(&mut self) -> &mut GuestState;
}

impl GuestState {
    pub fn new(limiter: CallLimiter, operation: Arc<str>, request_id: Arc<str>) -> GuestState {
        GuestState {
            wasi: None,
            table: ResourceTable::new(),
            limiter,
            context: CallContext {
                operation,
                request_id,
                log_lines: 0,
                log_dropped: 0,
            },
            output: GuestOutput::default(),
            permits: Permits::default(),
        }
    }

    /// Make a kept instance's store ready for its next call (warm-instance mode): tagged
    /// with the new request, its log budget renewed, the caller's permits.
    pub fn begin_call(&mut self, request_id: Arc<str>, permits: Permits) {
        self.context.request_id = request_id;
        self.context.log_lines = 0;
        self.context.log_dropped = 0;
        self.permits = permits;
    }

    /// [`GuestState::begin_call`] for `principal` with `roles`: the permits the store
    /// holds are kept when they are that caller's, derived anew otherwise.
    pub fn begin_call_of(&mut self, request_id: Arc<str>, principal: &str, roles: &[String]) {
        let permits = if self.permits.are_for(principal, roles) {
            std::mem::take(&mut self.permits)
        } else {
            Permits::for_caller(principal, roles)
        };
        self.begin_call(request_id, permits);
    }

    /// The instance's resource table, shared by every interface linked for it (WASI's
    /// streams and pollables, and the capabilities' resources that use them).
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// Give the guest `dir` as its only directory (a sandbox's private directory).
    pub fn with_private_dir(mut self, dir: &std::path::Path) -> wasmtime::Result<GuestState> {
        self.wasi = Some(wasi_ctx_with_dir(&self.output, dir)?);
        Ok(self)
    }

    /// Write what the guest printed, and how much logging it was denied, to the host log.
    pub fn flush_output(&mut self) {
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

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| wasi_ctx(&self.output)),
            table: &mut self.table,
        }
    }
}

/// Projects store data onto its [`GuestState`], for linking the baseline interfaces.
struct HasGuest;

impl HasData for HasGuest {
    type Data<'a> = &'a mut GuestState;
}

/// Link `arsenal:operation/log` for store data `T`, in every contract version the host
/// accepts (`policy::CONTRACT_VERSIONS`).
pub fn add_log_to_linker<T: GuestView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    crate::bindings::arsenal::operation::log::add_to_linker::<T, HasGuest>(linker, T::guest)?;
    crate::bindings::v0_1_0::arsenal::operation::log::add_to_linker::<T, HasGuest>(linker, T::guest)
}

/// Link `arsenal:operation/types` (an interface of types alone, which a component's
/// handler export imports) for store data `T`, in every contract version the host accepts.
pub fn add_types_to_linker<T: GuestView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    crate::bindings::arsenal::operation::types::add_to_linker::<T, HasGuest>(linker, T::guest)?;
    crate::bindings::v0_1_0::arsenal::operation::types::add_to_linker::<T, HasGuest>(
        linker,
        T::guest,
    )
}

impl crate::bindings::arsenal::operation::types::Host for GuestState {}
impl crate::bindings::v0_1_0::arsenal::operation::types::Host for GuestState {}
