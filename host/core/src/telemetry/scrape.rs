//! State read at scrape time from the live structures — instances in use, compile-cache
//! lookups, processes by status, restarts per supervisor, sandbox memory, outbound
//! requests by host — and written in the Prometheus text format. Nothing here is maintained on the hot path, and a supervisor or sandbox that
//! is gone simply stops appearing.

use std::fmt::Write;

use arsenal_engine::lookups::CacheLookups;
use arsenal_wasi::http::OutboundMetrics;

use crate::registry::Registry;
use crate::runtime::{ProcessTable, Status};

/// What the host looks like at the moment of a scrape.
#[derive(Debug)]
pub struct LiveState {
    instances_in_use: u32,
    instances_max: u32,
    operations_loaded: usize,
    compile_cache_hits: u64,
    compile_cache_misses: u64,
    /// Processes per status, in the order of [`STATUSES`].
    processes: [usize; 4],
    /// Workers hibernated to make room in a full worker pool.
    hibernated_to_make_room: u64,
    supervisors: Vec<SupervisorFacts>,
    sandboxes: Vec<SandboxFacts>,
    /// Outbound HTTP requests: (destination host, outcome, count).
    outbound: Vec<(String, arsenal_wasi::http::Outcome, u64)>,
}

#[derive(Debug)]
struct SupervisorFacts {
    pid: String,
    /// Its registered name; empty without one.
    name: String,
    restarts: u64,
}

#[derive(Debug)]
struct SandboxFacts {
    id: String,
    used_bytes: u64,
    budget_bytes: u64,
}

const STATUSES: [Status; 4] = [
    Status::Running,
    Status::Suspended,
    Status::Hibernated,
    Status::Exiting,
];

impl LiveState {
    /// Read the live structures: the catalogue and its instances, the process table, the
    /// compile cache's lookups, and the outbound requests' counts.
    pub fn of(
        registry: &Registry,
        table: &ProcessTable,
        compile_cache: &CacheLookups,
        outbound: &OutboundMetrics,
    ) -> LiveState {
        let gate = registry.instances();
        let mut processes = [0; 4];
        for entry in table.entries() {
            let status = entry.status();
            if let Some(slot) = STATUSES.iter().position(|known| *known == status) {
                processes[slot] += 1;
            }
        }
        let supervisors = table
            .supervisors()
            .into_iter()
            .map(|handle| SupervisorFacts {
                name: table
                    .entry_by_pid(handle.pid())
                    .and_then(|entry| entry.name.lock().unwrap_or_else(|p| p.into_inner()).clone())
                    .unwrap_or_default(),
                pid: handle.pid().to_string(),
                restarts: handle.restarts_total(),
            })
            .collect();
        let mut sandboxes: Vec<SandboxFacts> = table
            .sandboxes()
            .into_iter()
            .map(|sandbox| SandboxFacts {
                id: sandbox.id().to_owned(),
                used_bytes: sandbox.usage().memory_bytes,
                budget_bytes: sandbox.limits().total_memory_bytes,
            })
            .collect();
        sandboxes.sort_by(|a, b| a.id.cmp(&b.id));
        LiveState {
            instances_in_use: gate.in_use(),
            instances_max: gate.max(),
            operations_loaded: registry.snapshot().operations().len(),
            compile_cache_hits: compile_cache.hits(),
            compile_cache_misses: compile_cache.misses(),
            processes,
            hibernated_to_make_room: table.workers().hibernated_to_make_room(),
            supervisors,
            sandboxes,
            outbound: outbound.snapshot(),
        }
    }

    /// Append the state to `out` in the Prometheus text format.
    pub(crate) fn write(&self, out: &mut String) {
        family(
            out,
            "arsenal_instances_in_use",
            "gauge",
            "Operation instances serving calls now.",
        );
        sample(out, "arsenal_instances_in_use", &[], self.instances_in_use);
        family(
            out,
            "arsenal_instances_max",
            "gauge",
            "Operation instances allowed at once.",
        );
        sample(out, "arsenal_instances_max", &[], self.instances_max);
        family(
            out,
            "arsenal_operations_loaded",
            "gauge",
            "Operations served.",
        );
        sample(
            out,
            "arsenal_operations_loaded",
            &[],
            self.operations_loaded,
        );
        family(
            out,
            "arsenal_compile_cache_hits_total",
            "counter",
            "Operation components loaded compiled from the compile cache.",
        );
        sample(
            out,
            "arsenal_compile_cache_hits_total",
            &[],
            self.compile_cache_hits,
        );
        family(
            out,
            "arsenal_compile_cache_misses_total",
            "counter",
            "Operation components the compile cache lacked, so compiled.",
        );
        sample(
            out,
            "arsenal_compile_cache_misses_total",
            &[],
            self.compile_cache_misses,
        );
        family(
            out,
            "arsenal_processes",
            "gauge",
            "Live processes by status.",
        );
        for (status, count) in STATUSES.iter().zip(self.processes) {
            sample(
                out,
                "arsenal_processes",
                &[("status", status.as_str())],
                count,
            );
        }
        family(
            out,
            "arsenal_workers_hibernated_to_make_room_total",
            "counter",
            "Idle workers hibernated because a spawn or wake found the worker pool full.",
        );
        sample(
            out,
            "arsenal_workers_hibernated_to_make_room_total",
            &[],
            self.hibernated_to_make_room,
        );
        family(
            out,
            "arsenal_supervisor_restarts_total",
            "counter",
            "Children restarted by each live supervisor since it started.",
        );
        for supervisor in &self.supervisors {
            let labels = [
                ("supervisor", &*supervisor.pid),
                ("name", &*supervisor.name),
            ];
            sample(
                out,
                "arsenal_supervisor_restarts_total",
                &labels,
                supervisor.restarts,
            );
        }
        family(
            out,
            "arsenal_sandbox_memory_bytes",
            "gauge",
            "Linear memory the processes of each sandbox hold.",
        );
        for sandbox in &self.sandboxes {
            sample(
                out,
                "arsenal_sandbox_memory_bytes",
                &[("sandbox", &sandbox.id)],
                sandbox.used_bytes,
            );
        }
        family(
            out,
            "arsenal_sandbox_memory_budget_bytes",
            "gauge",
            "The memory budget of each sandbox.",
        );
        for sandbox in &self.sandboxes {
            let labels = [("sandbox", &*sandbox.id)];
            sample(
                out,
                "arsenal_sandbox_memory_budget_bytes",
                &labels,
                sandbox.budget_bytes,
            );
        }
        family(
            out,
            "arsenal_outbound_requests_total",
            "counter",
            "Outbound HTTP requests of operations and workers, by destination host and status (or denied, timeout, failed).",
        );
        for (host, outcome, count) in &self.outbound {
            let status = outcome.to_string();
            sample(
                out,
                "arsenal_outbound_requests_total",
                &[("host", host), ("status", &status)],
                count,
            );
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (index, (key, value)) in labels.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"");
            escape_label(out, value);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape backslash, double quote and newline (the text format's rule).
fn escape_label(out: &mut String, value: &str) {
    for character in value.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_label_values() {
        let mut out = String::new();
        sample(
            &mut out,
            "m",
            &[("a", "x\"y\\z\nw"), ("b", "<local.1.2>")],
            3,
        );
        assert_eq!(out, "m{a=\"x\\\"y\\\\z\\nw\",b=\"<local.1.2>\"} 3\n");
    }
}
