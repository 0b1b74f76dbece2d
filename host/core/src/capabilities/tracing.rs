//! Capability `tracing` (`arsenal:runtime/tracing`): traces and profiles of processes.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Linker;

use crate::bindings::arsenal::runtime::tracing::{
    self as wit, KindProfile, Profile, TraceError as Refused, TraceEvent, TraceInfo,
};
use crate::policy::Capability;
use crate::runtime::{ProcessTable, Trace, TraceError, TraceKind, TraceOptions};

use super::{Gated, Granted, Reach, RuntimeView, answer};

/// Link this module's interfaces, each behind its capability.
pub(super) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::Tracing)
    })?;
    Ok(())
}

fn refused(error: TraceError) -> Refused {
    let message = error.to_string();
    match error {
        TraceError::NotFound(_) => Refused::NotFound(message),
        TraceError::NoProcess(_) => Refused::NoProcess(message),
        TraceError::Invalid(_) => Refused::Invalid(message),
        TraceError::TooMany(_) => Refused::Conflict(message),
    }
}

fn info(trace: &Trace) -> TraceInfo {
    TraceInfo {
        id: trace.id,
        pid: trace.pid.to_string(),
        status: trace.status().name().to_owned(),
        started_unix_ms: trace.started_unix_ms(),
        kinds: trace
            .options
            .kinds
            .iter()
            .map(|kind| kind.name().to_owned())
            .collect(),
        duration_ms: trace.options.duration.as_millis() as u32,
        max_events: trace.options.max_events as u32,
        events: trace.events(0, 0).1 as u32,
    }
}

impl Reach<'_> {
    fn tracing_table(&self) -> Result<Arc<ProcessTable>, Refused> {
        self.table()
            .ok_or_else(|| Refused::NotFound("no process table".to_owned()))
    }
}

impl wit::Host for Granted<'_> {
    fn start_trace(
        &mut self,
        target: String,
        options: wit::TraceOptions,
    ) -> wasmtime::Result<Result<TraceInfo, Refused>> {
        let reach = self.reach()?;
        answer(|| -> Result<TraceInfo, Refused> {
            let table = reach.tracing_table()?;
            let kinds = [
                (options.send, TraceKind::Send),
                (options.receive, TraceKind::Receive),
                (options.lifecycle, TraceKind::Lifecycle),
                (options.host_calls, TraceKind::HostCall),
            ]
            .into_iter()
            .filter_map(|(wanted, kind)| wanted.then_some(kind))
            .collect();
            let options = TraceOptions {
                kinds,
                duration: Duration::from_millis(options.duration_ms as u64),
                max_events: options.max_events.max(1) as usize,
            };
            let trace = table.start_trace(&target, options).map_err(refused)?;
            Ok(info(&trace))
        })
    }

    fn get_trace(
        &mut self,
        id: u64,
        offset: u32,
        limit: u32,
    ) -> wasmtime::Result<Result<(TraceInfo, Vec<TraceEvent>), Refused>> {
        let reach = self.reach()?;
        answer(|| -> Result<(TraceInfo, Vec<TraceEvent>), Refused> {
            let table = reach.tracing_table()?;
            let trace = table.trace(id).map_err(refused)?;
            let (events, _) = trace.events(offset as usize, limit as usize);
            let events = events
                .into_iter()
                .map(|event| TraceEvent {
                    offset_us: event.offset_us,
                    kind: event.kind.name().to_owned(),
                    detail: event.detail,
                })
                .collect();
            Ok((info(&trace), events))
        })
    }

    fn stop_trace(&mut self, id: u64) -> wasmtime::Result<Result<TraceInfo, Refused>> {
        let reach = self.reach()?;
        answer(|| -> Result<TraceInfo, Refused> {
            let table = reach.tracing_table()?;
            let trace = table.stop_trace(id).map_err(refused)?;
            Ok(info(&trace))
        })
    }

    async fn profile_process(
        &mut self,
        target: String,
        window_ms: u32,
    ) -> wasmtime::Result<Result<Profile, Refused>> {
        let reach = self.reach()?;
        let result: Result<Profile, Refused> = async move {
            let table = reach.tracing_table()?;
            let window = Duration::from_millis(window_ms as u64);
            let profile = table.profile(&target, window).await.map_err(refused)?;
            Ok(Profile {
                pid: profile.pid.to_string(),
                window_ms,
                kinds: profile
                    .kinds
                    .into_iter()
                    .map(|(kind, measured)| KindProfile {
                        kind,
                        count: measured.count,
                        total_us: measured.total.as_micros() as u64,
                        max_us: measured.max.as_micros() as u64,
                        memory_growth_bytes: measured.memory_growth_bytes,
                    })
                    .collect(),
                memory_start_bytes: profile.memory_start,
                memory_end_bytes: profile.memory_end,
                exited: profile.exited,
            })
        }
        .await;
        Ok(result)
    }
}
