//! The generated host bindings of the `arsenal:runtime/operation` world: the only
//! `bindgen!` site of the host.
#![allow(unreachable_pub, missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    path: ["../wit/operation", "../wit/runtime"],
    world: "arsenal:runtime/operation",
    exports: { default: async },
});

pub(crate) use arsenal::operation::types as wit;
