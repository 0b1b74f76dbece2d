//! `GET /api/v1/admin/workers`: the worker components loaded, each with what its processes
//! reach of the standard capabilities — outside a sandbox (its own grant and its source's),
//! and in each sandbox where a process of it runs now (that, and the sandbox's grant). A
//! secret shows only as set or not set.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::admin::{AdminKind, Workers};
use crate::reach::shown;
use arsenal_core::host::Host;
use arsenal_core::runtime::{Pid, Sandbox, WorkerCode};

/// `GET /api/v1/admin/workers`: every loaded worker component, by name.
pub(crate) async fn list(State(host): State<Arc<Host>>) -> Json<Value> {
    let running = running_in_sandboxes(&host);
    let listed: Vec<Value> = host
        .workers()
        .loaded()
        .iter()
        .map(|code| entry(&host, code, running.get(code.name())))
        .collect();
    Json(json!({ "data": listed }))
}

/// One worker component: its live version, the capabilities it imports, what it reaches
/// outside a sandbox, and in each sandbox it runs in.
fn entry(host: &Host, code: &WorkerCode, sandboxes: Option<&Sandboxes>) -> Value {
    let workers = host.workers();
    let in_sandboxes: Vec<Value> = sandboxes
        .into_iter()
        .flatten()
        .map(|(sandbox, pids)| {
            json!({
                "sandbox": sandbox,
                "processes": pids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "granted": shown(&workers.reach(code, Some(sandbox))),
            })
        })
        .collect();
    let mut shown_code = Workers::show(code, true);
    shown_code["capabilities"] = json!(code.capabilities());
    shown_code["granted"] = shown(&workers.reach(code, None));
    shown_code["sandboxes"] = Value::Array(in_sandboxes);
    shown_code
}

/// The pids of a worker's processes in each sandbox, by the sandbox's name.
type Sandboxes = BTreeMap<String, Vec<Pid>>;

/// Where each worker's processes run in sandboxes now, by the worker's name.
fn running_in_sandboxes(host: &Host) -> BTreeMap<String, Sandboxes> {
    let mut running: BTreeMap<String, Sandboxes> = BTreeMap::new();
    for entry in host.processes().kernel().entries() {
        let Some(sandbox) = Sandbox::of(&entry) else {
            continue;
        };
        running
            .entry(entry.worker.clone())
            .or_default()
            .entry(sandbox.id().to_owned())
            .or_default()
            .push(entry.pid.clone());
    }
    for pids in running.values_mut().flat_map(BTreeMap::values_mut) {
        pids.sort();
    }
    running
}
