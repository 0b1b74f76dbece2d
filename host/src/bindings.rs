//! The generated host bindings of the `arsenal:runtime/operation` world: the only
//! `bindgen!` site of the host.
#![allow(unreachable_pub, missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    path: ["../wit/operation", "../wit/runtime"],
    world: "arsenal:runtime/operation",
    imports: {
        "arsenal:runtime/process-control.spawn": async,
        "arsenal:runtime/messaging.call": async,
        "arsenal:runtime/process-control.hibernate": async,
        "arsenal:runtime/process-control.restart": async,
        "arsenal:runtime/processes.get-state": async,
        "arsenal:runtime/supervisors.list-supervisors": async,
        "arsenal:runtime/supervisors.get-supervisor": async,
        "arsenal:runtime/supervisors.which-children": async,
        "arsenal:runtime/supervisors.tree": async,
        "arsenal:runtime/supervisors.history": async,
        "arsenal:runtime/supervisor-control.start-supervisor": async,
        "arsenal:runtime/supervisor-control.stop-supervisor": async,
        "arsenal:runtime/supervisor-control.add-child": async,
        "arsenal:runtime/supervisor-control.restart-child": async,
        "arsenal:runtime/supervisor-control.delete-child": async,
        "arsenal:runtime/supervisor-control.set-flags": async,
        "arsenal:runtime/sandboxes.create-sandbox": async,
        "arsenal:runtime/sandboxes.destroy-sandbox": async,
        "arsenal:runtime/sandboxes.restart-sandbox": async,
        "arsenal:runtime/sandboxes.run-in-sandbox": async,
        "arsenal:runtime/sandboxes.hot-reload": async,
        "arsenal:runtime/tracing.profile-process": async,
    },
    exports: { default: async },
});

pub(crate) use self::arsenal::operation::types as wit;

/// The process world: long-lived workers.
pub(crate) mod process {
    #![allow(unreachable_pub, missing_docs, reason = "generated code")]

    wasmtime::component::bindgen!({
        path: ["../wit/operation", "../wit/process"],
        world: "arsenal:process/worker-process",
        imports: { "arsenal:process/process.call": async },
        exports: { default: async },
        with: { "arsenal:operation/log": crate::bindings::arsenal::operation::log },
    });
}
