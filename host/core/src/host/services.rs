//! The host's own services as processes of the root tree `arsenal` (see
//! `runtime::service`): what each one is, and the live facts it answers a call with.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;

use super::Host;
use crate::runtime::{ServiceSpec, SpawnError};

/// Start the root tree with one service process per part of the host.
pub(crate) async fn start(host: &Host) -> Result<(), SpawnError> {
    let facts = host.facts.clone();
    let listening = host.listening.clone();
    let registry = host.registry().clone();
    let workers = host.workers_arc();
    let table = Arc::downgrade(host.processes());
    let cache_dir = host
        .settings()
        .cache
        .enabled
        .then(|| host.settings().cache.resolved_dir());
    let tick_ms = host.settings().limits.epoch_tick_ms;
    let services = vec![
        service("arsenal.http", move || {
            json!({
                "service": "http",
                "listening": listening.get().map(ToString::to_string),
            })
        }),
        service("arsenal.registry", move || {
            json!({
                "service": "registry",
                "operations": registry.snapshot().operations().len(),
            })
        }),
        {
            let facts = facts.clone();
            service("arsenal.engine", move || {
                json!({
                    "service": "engine",
                    "wasmtime": facts.engine.wasmtime_version,
                    "pooling": facts.engine.pooling,
                    "instances_in_use": facts.instances.in_use(),
                    "max_instances": facts.instances.max(),
                    "epoch_tick_ms": tick_ms,
                })
            })
        },
        {
            let registry = host.registry().clone();
            service("arsenal.compile_cache", move || {
                json!({
                    "service": "compile_cache",
                    "enabled": cache_dir.is_some(),
                    "dir": cache_dir.as_ref().map(|dir| dir.display().to_string()),
                    "compiler": registry.loader().compiler().facts(),
                })
            })
        },
        service("arsenal.workers", move || {
            let loaded: Vec<_> = workers
                .list()
                .into_iter()
                .map(|(name, version)| json!({ "name": name, "version": version }))
                .collect();
            json!({ "service": "workers", "loaded": loaded })
        }),
        service("arsenal.processes", move || {
            let Some(table) = table.upgrade() else {
                return json!({ "service": "processes", "stopping": true });
            };
            json!({
                "service": "processes",
                "processes": table.len(),
                "supervisors": table.supervisors().len(),
                "sandboxes": table.sandboxes().len(),
                "operations_loaded": facts.operations_loaded.load(Ordering::Relaxed),
            })
        }),
    ];
    host.processes().start_host_tree(services).await?;
    Ok(())
}

fn service(
    name: &str,
    probe: impl Fn() -> serde_json::Value + Send + Sync + 'static,
) -> ServiceSpec {
    ServiceSpec {
        name: name.to_owned(),
        probe: Arc::new(probe),
    }
}
