//! The generated host bindings of the `arsenal:runtime/operation` world, the process
//! world, and the earlier operation contract the host still loads: the only `bindgen!`
//! site of the host.
#![allow(unreachable_pub, missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    path: ["../../wit/operation", "../../wit/runtime"],
    world: "arsenal:runtime/operation",
    imports: {
        // Every capability call may trap: a caller whose roles do not grant the
        // capability is refused there (`capabilities::permits`). Logging may not.
        "arsenal:operation/log.log": exact,
        "arsenal:runtime/process-control.spawn": async | trappable,
        "arsenal:runtime/messaging.call": async | trappable,
        "arsenal:runtime/process-control.hibernate": async | trappable,
        "arsenal:runtime/process-control.restart": async | trappable,
        "arsenal:runtime/processes.get-state": async | trappable,
        "arsenal:runtime/supervisors.list-supervisors": async | trappable,
        "arsenal:runtime/supervisors.get-supervisor": async | trappable,
        "arsenal:runtime/supervisors.which-children": async | trappable,
        "arsenal:runtime/supervisors.tree": async | trappable,
        "arsenal:runtime/supervisors.history": async | trappable,
        "arsenal:runtime/supervisor-control.start-supervisor": async | trappable,
        "arsenal:runtime/supervisor-control.stop-supervisor": async | trappable,
        "arsenal:runtime/supervisor-control.add-child": async | trappable,
        "arsenal:runtime/supervisor-control.restart-child": async | trappable,
        "arsenal:runtime/supervisor-control.delete-child": async | trappable,
        "arsenal:runtime/supervisor-control.set-flags": async | trappable,
        "arsenal:runtime/sandboxes.create-sandbox": async | trappable,
        "arsenal:runtime/sandboxes.destroy-sandbox": async | trappable,
        "arsenal:runtime/sandboxes.restart-sandbox": async | trappable,
        "arsenal:runtime/sandboxes.run-in-sandbox": async | trappable,
        "arsenal:runtime/sandboxes.hot-reload": async | trappable,
        "arsenal:runtime/tracing.profile-process": async | trappable,
        "arsenal:runtime/distributed.call-node": async | trappable,
        "arsenal:runtime/distributed-control.migrate": async | trappable,
        "arsenal:runtime/storage.list-buckets": async | trappable,
        "arsenal:runtime/storage.get-bucket": async | trappable,
        "arsenal:runtime/storage.list-keys": async | trappable,
        "arsenal:runtime/storage.get-value": async | trappable,
        "arsenal:runtime/storage-control.set-value": async | trappable,
        "arsenal:runtime/storage-control.delete-value": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});

pub use self::arsenal::operation::types as wit;

/// The process world: long-lived workers.
pub mod process {
    #![allow(unreachable_pub, missing_docs, reason = "generated code")]

    wasmtime::component::bindgen!({
        path: ["../../wit/operation", "../../wit/process"],
        world: "arsenal:process/worker-process",
        imports: { "arsenal:process/process.call": async },
        exports: { default: async },
        with: { "arsenal:operation/log": crate::bindings::arsenal::operation::log },
    });
}

/// The operation contract `arsenal:operation@0.1.0`, frozen as it was released
/// (`host/engine/wit/operation-0.1.0`): its `log` and `types` are linked beside the
/// current ones so components built against it keep loading. Its `handler` needs no
/// bindings of its own: the host calls it through the current types, which it matches
/// but for the config's fields added since (`spec::Described`).
pub mod v0_1_0 {
    #![allow(unreachable_pub, missing_docs, reason = "generated code")]

    wasmtime::component::bindgen!({
        path: "wit/operation-0.1.0",
        world: "arsenal:operation/operation@0.1.0",
        imports: { "arsenal:operation/log.log": exact },
        exports: { default: async },
    });
}
