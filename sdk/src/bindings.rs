//! The generated bindings of the `arsenal:runtime/operation` world; the only
//! `generate!` site of the SDK.
#![allow(missing_docs, unreachable_pub, unsafe_code, reason = "generated code")]

wit_bindgen::generate!({
    path: ["../wit/operation", "../wit/runtime"],
    world: "arsenal:runtime/operation",
    pub_export_macro: true,
    default_bindings_module: "arsenal_sdk::bindings",
    generate_all,
});
