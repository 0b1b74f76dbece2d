//! Built-in operation `analyze_deadlocks`: cycles of processes blocked in calls on each
//! other.

use std::collections::HashMap;

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct AnalyzeDeadlocks;

impl Operation for AnalyzeDeadlocks {
    fn config() -> Config {
        Config::get("analyze_deadlocks", "/api/v1/system/deadlocks")
            .category(Category::System)
            .summary("Find processes deadlocked in calls")
            .description(
                "Follows who is blocked calling whom. A cycle (A calls B while B calls A, or \
                 longer) is a deadlock that lasts until a call times out; processes blocked on \
                 a member of a cycle are listed with it as stuck behind it.",
            )
            .response_schema(json!({
                "type": "object",
                "required": ["blocked", "deadlocks"],
                "properties": {
                    "blocked": { "type": "integer" },
                    "deadlocks": { "type": "array", "items": { "type": "object" } }
                }
            }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let all = processes::list();
        let names: HashMap<&str, Option<&str>> = all
            .iter()
            .map(|info| (info.pid.as_str(), info.name.as_deref()))
            .collect();
        // Each process waits on at most one other: the graph is a functional graph, whose
        // cycles are found by walking each chain once.
        let waits: HashMap<&str, &str> = all
            .iter()
            .filter_map(|info| Some((info.pid.as_str(), info.waiting_on.as_deref()?)))
            .collect();
        let mut cycle_of: HashMap<&str, usize> = HashMap::new();
        let mut cycles: Vec<Vec<&str>> = Vec::new();
        let mut done: HashMap<&str, ()> = HashMap::new();
        let mut starts: Vec<&str> = waits.keys().copied().collect();
        starts.sort_unstable();
        for start in starts {
            let mut path: Vec<&str> = Vec::new();
            let mut at = start;
            while !done.contains_key(at) {
                if let Some(index) = path.iter().position(|pid| *pid == at) {
                    let cycle = path[index..].to_vec();
                    for pid in &cycle {
                        cycle_of.insert(pid, cycles.len());
                    }
                    cycles.push(cycle);
                    break;
                }
                path.push(at);
                match waits.get(at) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            for pid in path {
                done.insert(pid, ());
            }
        }
        // Processes outside a cycle whose chain of calls ends in one.
        let mut stuck: Vec<Vec<&str>> = vec![Vec::new(); cycles.len()];
        for (&pid, _) in waits.iter().filter(|(pid, _)| !cycle_of.contains_key(*pid)) {
            let mut at = pid;
            let mut steps = 0;
            while let Some(next) = waits.get(at) {
                if let Some(&cycle) = cycle_of.get(next) {
                    stuck[cycle].push(pid);
                    break;
                }
                at = next;
                steps += 1;
                if steps > waits.len() {
                    break;
                }
            }
        }
        let describe = |pid: &str| json!({ "pid": pid, "name": names.get(pid).copied().flatten(), "waiting_on": waits.get(pid) });
        let deadlocks: Vec<Value> = cycles
            .iter()
            .zip(stuck.iter_mut())
            .map(|(cycle, stuck)| {
                stuck.sort_unstable();
                json!({
                    "cycle": cycle.iter().map(|pid| describe(pid)).collect::<Vec<_>>(),
                    "stuck_behind": stuck.iter().map(|pid| describe(pid)).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(json!({ "scanned": all.len(), "blocked": waits.len(), "deadlocks": deadlocks }))
    }
}

arsenal_sdk::export!(AnalyzeDeadlocks);
