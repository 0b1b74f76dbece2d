//! Built-in operation `memory_info`: memory of the host, the machine and every process.

use std::collections::BTreeMap;

use arsenal_sdk::prelude::*;
use arsenal_sdk::{processes, system};

struct MemoryInfo;

impl Operation for MemoryInfo {
    fn config() -> Config {
        Config::get("memory_info", "/api/v1/system/memory")
            .category(Category::System)
            .summary("Memory of the host and its processes")
            .description(
                "The host's resident memory, the machine's total and available memory, and the \
                 processes': linear memory of resident workers, state kept by hibernated ones, \
                 totals per worker component and the largest processes.",
            )
            .param(Param::query("top").integer().min(1).max(100).default(10))
            .response_schema(json!({
                "type": "object",
                "required": ["host", "machine", "processes"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let top: usize = request.param("top")?;
        let host = system::host_info();
        let mut all = processes::list();
        let mut per_worker: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        let (mut memory, mut state, mut resident, mut hibernated) = (0u64, 0u64, 0u64, 0u64);
        for info in &all {
            memory += info.memory_bytes;
            state += info.state_bytes;
            match info.status.as_str() {
                "hibernated" => hibernated += 1,
                _ if info.worker != "supervisor" => resident += 1,
                _ => {}
            }
            let totals = per_worker.entry(info.worker.clone()).or_default();
            totals.0 += 1;
            totals.1 += info.memory_bytes;
            totals.2 += info.state_bytes;
        }
        all.sort_by(|a, b| {
            (b.memory_bytes + b.state_bytes)
                .cmp(&(a.memory_bytes + a.state_bytes))
                .then_with(|| a.pid.cmp(&b.pid))
        });
        let largest: Vec<Value> = all
            .iter()
            .take(top)
            .map(|info| {
                json!({
                    "pid": info.pid,
                    "name": info.name,
                    "worker": info.worker,
                    "status": info.status,
                    "memory_bytes": info.memory_bytes,
                    "state_bytes": info.state_bytes,
                })
            })
            .collect();
        let workers: Vec<Value> = per_worker
            .into_iter()
            .map(|(worker, (count, memory, state))| {
                json!({ "worker": worker, "processes": count, "memory_bytes": memory, "state_bytes": state })
            })
            .collect();
        Ok(json!({
            "host": { "rss_bytes": host.rss_bytes, "pid": host.pid },
            "machine": {
                "total_bytes": host.memory_total_bytes,
                "available_bytes": host.memory_available_bytes,
            },
            "processes": {
                "count": all.len(),
                "resident": resident,
                "hibernated": hibernated,
                "memory_bytes": memory,
                "state_bytes": state,
                "by_worker": workers,
                "largest": largest,
            },
        }))
    }
}

arsenal_sdk::export!(MemoryInfo);
