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
