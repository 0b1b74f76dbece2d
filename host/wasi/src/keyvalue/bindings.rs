//! The host side of `wasi:keyvalue@0.2.0-draft` (store, atomics, batch), generated from
//! the standard WIT in `wit/deps/keyvalue`: this module's only `bindgen!` site.

wasmtime::component::bindgen!({
    path: "../../wit/deps/keyvalue",
    world: "wasi:keyvalue/imports",
    imports: { default: async | trappable },
    require_store_data_send: true,
    with: {
        "wasi:keyvalue/store.bucket": super::host::OpenBucket,
    },
});

pub(crate) use wasi::keyvalue::{atomics, batch, store};
