//! An operation's two entry points, `describe` and `execute`, found and type-checked
//! once per component instead of once per instance.
//!
//! bindgen's `OperationPre::instantiate_async` looks up both exports and type-checks
//! them again on every instance (`GuestIndices::load`), a share of every fresh instance's
//! cost. Every instance of one `InstancePre` has the same types, so the check is done
//! here, when the component is loaded, and each instance only fetches its two functions
//! by index.

use arsenal_wasi::ComponentReach;
use wasmtime::component::{ComponentExportIndex, Func, InstancePre, TypedFunc, types};
use wasmtime::{Engine, Store};

use crate::bindings::wit;
use crate::inspect::HANDLER_INTERFACE;
use crate::spec::{ConfigVersion, Described};
use crate::store::CallState;

// `execute`'s signature, as checked at load and as called: one definition for both.
// `describe`'s is `Described`'s, which copies the config out under its size budget.
type ExecuteParams<'a> = (&'a wit::Request,);
type ExecuteResults = (Result<wit::Response, wit::OpError>,);

/// A linked operation component, ready to instantiate.
#[derive(Clone)]
pub(crate) struct OperationPre {
    instance_pre: InstancePre<CallState>,
    describe: ComponentExportIndex,
    execute: ComponentExportIndex,
    /// What its instances reach of the standard capabilities (nothing for `describe`).
    reach: ComponentReach,
    config: ConfigVersion,
}

/// The entry points of one instance.
#[derive(Clone, Copy)]
pub(crate) struct Handler {
    describe: Func,
    execute: Func,
    config: ConfigVersion,
}

impl OperationPre {
    /// Find `describe` and `execute` in the component's handler export of
    /// `contract_version` (as `ComponentShape::contract_version` read it) and check their
    /// types against that contract: `execute` is the same in every version the host
    /// accepts, `describe`'s config has the fields of its version.
    pub(crate) fn new(
        instance_pre: InstancePre<CallState>,
        contract_version: &str,
    ) -> wasmtime::Result<OperationPre> {
        let config = ConfigVersion::of_contract(contract_version).ok_or_else(|| {
            wasmtime::format_err!("contract version {contract_version} is not accepted")
        })?;
        let component = instance_pre.component();
        let name = format!("{HANDLER_INTERFACE}@{contract_version}");
        let handler = component
            .get_export_index(None, &name)
            .ok_or_else(|| wasmtime::format_err!("no exported instance named `{name}`"))?;
        let instance_type = instance_pre.instance_type();
        let function = |function: &str| match component.get_export(Some(&handler), function) {
            Some((types::ComponentItem::ComponentFunc(func), index)) => Ok((func, index)),
            Some(_) => Err(wasmtime::format_err!(
                "`{name}` exports `{function}`, but not as a function"
            )),
            None => Err(wasmtime::format_err!(
                "`{name}` does not export `{function}`"
            )),
        };
        let (describe_type, describe) = function("describe")?;
        // `typecheck` is the check bindgen's own generated code runs (public, if hidden
        // from the docs); wasmtime is pinned to one exact version.
        Described::typecheck(&describe_type, &instance_type, config)
            .map_err(|error| error.context("type-checking `describe`"))?;
        let (execute_type, execute) = function("execute")?;
        execute_type
            .typecheck::<ExecuteParams<'static>, ExecuteResults>(&instance_type)
            .map_err(|error| error.context("type-checking `execute`"))?;
        Ok(OperationPre {
            instance_pre,
            describe,
            execute,
            reach: ComponentReach::default(),
            config,
        })
    }

    /// The same component, its instances reaching `reach`.
    pub(crate) fn reaching(self, reach: ComponentReach) -> OperationPre {
        OperationPre { reach, ..self }
    }

    pub(crate) fn reach(&self) -> &ComponentReach {
        &self.reach
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.instance_pre.engine()
    }

    /// A new instance in `store`.
    pub(crate) async fn instantiate_async(
        &self,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Handler> {
        let instance = self.instance_pre.instantiate_async(&mut *store).await?;
        let mut function = |index: &ComponentExportIndex| {
            instance
                .get_func(&mut *store, index)
                .expect("an export found in the component is in its instances")
        };
        Ok(Handler {
            describe: function(&self.describe),
            execute: function(&self.execute),
            config: self.config,
        })
    }
}

impl Handler {
    /// Called once per component (its config is cached), so the call checks its type
    /// again rather than skip the check as `call_execute` does.
    pub(crate) async fn call_describe(
        &self,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Described> {
        Described::call(self.describe, store, self.config).await
    }

    #[expect(
        unsafe_code,
        reason = "a typed call without a second type check: the one unsafe step of the fast path"
    )]
    pub(crate) async fn call_execute(
        &self,
        store: &mut Store<CallState>,
        request: &wit::Request,
    ) -> wasmtime::Result<Result<wit::Response, wit::OpError>> {
        // SAFETY: `OperationPre::new` checked the export's type against this signature,
        // and this function belongs to an instance of that `InstancePre`.
        let func =
            unsafe { TypedFunc::<ExecuteParams<'_>, ExecuteResults>::new_unchecked(self.execute) };
        let (result,) = func.call_async(store, (request,)).await?;
        Ok(result)
    }
}
