//! Built-in operation `balance_cluster_load`: a plan moving standalone worker processes
//! from nodes above the cluster's mean process count to nodes below it, applied when
//! asked (each move is `migrate_process`).

use arsenal_sdk::distributed::{self, NodeStatus};
use arsenal_sdk::prelude::*;

struct BalanceClusterLoad;

impl Operation for BalanceClusterLoad {
    fn config() -> Config {
        Config::post("balance_cluster_load", "/api/v1/cluster/balance")
            .category(Category::Distributed)
            .summary("Balance processes across nodes")
            .description(
                "Plans moves of standalone worker processes (not supervised, not host \
                 services) from the most loaded nodes that are up to the least loaded, until \
                 no two nodes differ by more than one; with `apply`, makes them.",
            )
            .status(200)
            .param(Param::body("apply").boolean().default(false))
            .param(Param::body("max_moves").integer().min(1).max(100).default(10))
            .response_schema(json!({
                "type": "object",
                "required": ["applied", "plan", "loads"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let apply: bool = request.param("apply")?;
        let max_moves: usize = request.param("max_moves")?;
        let view = distributed::view();
        let mut loads: Vec<(String, i64)> = Vec::new();
        let mut movable: Vec<(String, Vec<String>)> = Vec::new();
        for member in &view.members {
            if !matches!(member.status, NodeStatus::ThisNode | NodeStatus::Up) {
                continue;
            }
            let data = distributed::get_data(&member.node, "/api/v1/processes?limit=1000")?;
            let processes = data["processes"].as_array().cloned().unwrap_or_default();
            let candidates: Vec<String> = processes
                .iter()
                .filter(|p| p["parent"].is_null() && p["worker"] != "supervisor")
                .filter(|p| p["status"] == "running" || p["status"] == "hibernated")
                .filter_map(|p| p["pid"].as_str().map(str::to_owned))
                .collect();
            loads.push((member.node.clone(), candidates.len() as i64));
            movable.push((member.node.clone(), candidates));
        }
        let total: i64 = loads.iter().map(|(_, load)| load).sum();
        let mean = if loads.is_empty() { 0 } else { total / loads.len() as i64 };
        let before: Vec<Value> = loads
            .iter()
            .map(|(node, load)| json!({ "node": node, "movable_processes": load }))
            .collect();
        let mut plan = Vec::new();
        while plan.len() < max_moves {
            loads.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let (Some(high), Some(low)) = (loads.first().cloned(), loads.last().cloned()) else {
                break;
            };
            if high.1 - low.1 <= 1 {
                break;
            }
            let Some(pid) = movable
                .iter_mut()
                .find(|(node, _)| *node == high.0)
                .and_then(|(_, pids)| pids.pop())
            else {
                break;
            };
            plan.push(json!({ "pid": pid, "from": high.0, "to": low.0 }));
            loads[0].1 -= 1;
            let last = loads.len() - 1;
            loads[last].1 += 1;
        }
        if apply {
            for step in &mut plan {
                let (pid, from, to) = (
                    step["pid"].as_str().unwrap_or_default().to_owned(),
                    step["from"].as_str().unwrap_or_default().to_owned(),
                    step["to"].as_str().unwrap_or_default().to_owned(),
                );
                let body = json!({ "node": to }).to_string();
                let outcome = distributed::call_node(&from, "POST", &format!("/api/v1/processes/{}/migrate", distributed::path_segment(&pid)), &body)
                    .map_err(Error::from)
                    .and_then(|reply| distributed::data_of(&from, reply));
                step["outcome"] = match outcome {
                    Ok(moved) => json!({ "moved": true, "new_pid": moved["to"] }),
                    Err(error) => json!({ "moved": false, "error": error.message() }),
                };
            }
        }
        Ok(json!({ "applied": apply, "mean": mean, "loads": before, "plan": plan }))
    }
}

arsenal_sdk::export!(BalanceClusterLoad);
