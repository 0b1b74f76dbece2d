//! `wasi:config/store` linked against a view of the store data, and the state each
//! instance holds: its component's resolved values.

use wasmtime::component::Linker;
use wasmtime_wasi_config::WasiConfig;

use super::values::ConfigValues;

/// Store data that can run `wasi:config/store`.
pub trait ConfigView: Send + 'static {
    fn config(&mut self) -> &ConfigState;
}

/// One instance's configuration: its component's values, shared by every instance.
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    values: ConfigValues,
}

impl ConfigState {
    pub fn new(values: ConfigValues) -> ConfigState {
        ConfigState { values }
    }
}

/// Link `wasi:config/store`.
pub fn add_to_linker<T: ConfigView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi_config::add_to_linker(linker, view::<T>)
}

fn view<T: ConfigView>(data: &mut T) -> WasiConfig<'_> {
    WasiConfig::new(data.config().values.variables())
}
