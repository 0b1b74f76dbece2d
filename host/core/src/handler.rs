//! An operation's entry points, `describe` and `execute` (or, for a `wasi:http` 0.2 or 0.3
//! handler, `handle` and an optional `describe`), found and type-checked once per component
//! instead of once per instance.
//!
//! bindgen's `OperationPre::instantiate_async` looks up both exports and type-checks
//! them again on every instance (`GuestIndices::load`), a share of every fresh instance's
//! cost. Every instance of one `InstancePre` has the same types, so the check is done
//! here, when the component is loaded, and each instance only fetches its two functions
//! by index.

use arsenal_wasi::ComponentReach;
use arsenal_wasi::http::{IncomingHandlerPre, ServicePre};
use wasmtime::component::{ComponentExportIndex, Func, Instance, InstancePre, TypedFunc, types};
use wasmtime::{Engine, Store};

use crate::bindings::wit;
use crate::inspect::{ASYNC_HANDLER_INTERFACE, DESCRIBE_INTERFACE, HANDLER_INTERFACE, HttpWorld};
use crate::spec::{ConfigVersion, Described};
use crate::store::CallState;

// `execute`'s signature, as checked at load and as called: one definition for both.
// `describe`'s is `Described`'s, which copies the config out under its size budget.
type ExecuteParams<'a> = (&'a wit::Request,);
pub(crate) type ExecuteResults = (Result<wit::Response, wit::OpError>,);
/// `execute`'s parameters by value, as a concurrent call takes them.
pub(crate) type OwnedParams = (wit::Request,);

/// A linked operation component, ready to instantiate.
#[derive(Clone)]
pub(crate) struct OperationPre {
    instance_pre: InstancePre<CallState>,
    /// `describe`, and the contract version of its config; an HTTP handler whose route
    /// the operator declared has none.
    describe: Option<(ComponentExportIndex, ConfigVersion)>,
    entry: EntryPre,
    /// What its instances reach of the standard capabilities (nothing for `describe`).
    reach: ComponentReach,
}

/// How a call enters the component.
#[derive(Clone)]
enum EntryPre {
    /// The contract's `execute`.
    Execute(ComponentExportIndex),
    /// `wasi:http/incoming-handler`'s `handle` (0.2).
    Http(IncomingHandlerPre),
    /// `wasi:http/handler`'s asynchronous `handle` (0.3).
    Service(ServicePre),
}

/// The entry points of one instance.
#[derive(Clone, Copy)]
pub(crate) struct Handler {
    instance: Instance,
    describe: Option<(Func, ConfigVersion)>,
    execute: Option<Func>,
}

impl OperationPre {
    /// Find `describe` and `execute` in the component's handler export of
    /// `contract_version` (as `ComponentShape::contract_version` read it; the
    /// `async-handler` export when `asynchronous`) and check their types against that
    /// contract: `execute` is the same in every version the host accepts, `describe`'s
    /// config has the fields of its version.
    pub(crate) fn new(
        instance_pre: InstancePre<CallState>,
        contract_version: &str,
        asynchronous: bool,
    ) -> wasmtime::Result<OperationPre> {
        let config = ConfigVersion::of_contract(contract_version).ok_or_else(|| {
            wasmtime::format_err!("contract version {contract_version} is not accepted")
        })?;
        let handler = if asynchronous {
            ASYNC_HANDLER_INTERFACE
        } else {
            HANDLER_INTERFACE
        };
        let interface = format!("{handler}@{contract_version}");
        let describe = describe_index(&instance_pre, &interface, config)?;
        let (execute_type, execute) = function(&instance_pre, &interface, "execute")?;
        execute_type
            .typecheck::<ExecuteParams<'static>, ExecuteResults>(&instance_pre.instance_type())
            .map_err(|error| error.context("type-checking `execute`"))?;
        Ok(OperationPre {
            instance_pre,
            describe: Some((describe, config)),
            entry: EntryPre::Execute(execute),
            reach: ComponentReach::default(),
        })
    }

    /// A `wasi:http` handler of `world`, with its `arsenal:operation/describe` export of
    /// `describe_version` when it has one.
    pub(crate) fn http(
        instance_pre: InstancePre<CallState>,
        world: HttpWorld,
        describe_version: Option<&str>,
    ) -> wasmtime::Result<OperationPre> {
        let describe = match describe_version {
            Some(version) => {
                let config = ConfigVersion::of_contract(version).ok_or_else(|| {
                    wasmtime::format_err!("describe version {version} is not accepted")
                })?;
                let interface = format!("{DESCRIBE_INTERFACE}@{version}");
                Some((describe_index(&instance_pre, &interface, config)?, config))
            }
            None => None,
        };
        let entry = match world {
            HttpWorld::Proxy => EntryPre::Http(IncomingHandlerPre::new(&instance_pre)?),
            HttpWorld::Service => EntryPre::Service(ServicePre::new(&instance_pre)?),
        };
        Ok(OperationPre {
            instance_pre,
            describe,
            entry,
            reach: ComponentReach::default(),
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

    /// Whether it describes itself (every contract component, and an HTTP handler with
    /// the describe export).
    pub(crate) fn describes(&self) -> bool {
        self.describe.is_some()
    }

    /// The 0.2 HTTP handler's entry, when it is one.
    pub(crate) fn http_handler(&self) -> Option<&IncomingHandlerPre> {
        match &self.entry {
            EntryPre::Http(handler) => Some(handler),
            EntryPre::Execute(_) | EntryPre::Service(_) => None,
        }
    }

    /// The 0.3 HTTP handler's entry, when it is one.
    pub(crate) fn service(&self) -> Option<&ServicePre> {
        match &self.entry {
            EntryPre::Service(service) => Some(service),
            EntryPre::Execute(_) | EntryPre::Http(_) => None,
        }
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
            describe: self
                .describe
                .map(|(index, config)| (function(&index), config)),
            execute: match &self.entry {
                EntryPre::Execute(index) => Some(function(index)),
                EntryPre::Http(_) | EntryPre::Service(_) => None,
            },
            instance,
        })
    }
}

/// The export `function` of the exported instance `interface`, with its type.
fn function(
    pre: &InstancePre<CallState>,
    interface: &str,
    function: &str,
) -> wasmtime::Result<(types::ComponentFunc, ComponentExportIndex)> {
    let component = pre.component();
    let exported = component
        .get_export_index(None, interface)
        .ok_or_else(|| wasmtime::format_err!("no exported instance named `{interface}`"))?;
    match component.get_export(Some(&exported), function) {
        Some((types::ComponentItem::ComponentFunc(func), index)) => Ok((func, index)),
        Some(_) => Err(wasmtime::format_err!(
            "`{interface}` exports `{function}`, but not as a function"
        )),
        None => Err(wasmtime::format_err!(
            "`{interface}` does not export `{function}`"
        )),
    }
}

/// `describe` in `interface`, its type checked against the config of `config`.
fn describe_index(
    pre: &InstancePre<CallState>,
    interface: &str,
    config: ConfigVersion,
) -> wasmtime::Result<ComponentExportIndex> {
    let (describe_type, describe) = function(pre, interface, "describe")?;
    // `typecheck` is the check bindgen's own generated code runs (public, if hidden
    // from the docs); wasmtime is pinned to one exact version.
    Described::typecheck(&describe_type, &pre.instance_type(), config)
        .map_err(|error| error.context("type-checking `describe`"))?;
    Ok(describe)
}

impl Handler {
    /// Called once per component (its config is cached), so the call checks its type
    /// again rather than skip the check as `call_execute` does.
    pub(crate) async fn call_describe(
        &self,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Described> {
        let Some((describe, config)) = self.describe else {
            wasmtime::bail!("the component does not export `describe`");
        };
        Described::call(describe, store, config).await
    }

    /// `execute` taking its request by value, for calls made concurrently on one
    /// instance (`concurrent.rs`: `call_concurrent` needs owned parameters).
    #[expect(
        unsafe_code,
        reason = "a typed call without a second type check, as `call_execute`'s"
    )]
    pub(crate) fn concurrent_execute(&self) -> Option<TypedFunc<OwnedParams, ExecuteResults>> {
        // SAFETY: `OperationPre::new` checked the export's type against `execute`'s
        // signature (a request passed by value has the same component type as by
        // reference), and this function belongs to an instance of that `InstancePre`.
        self.execute
            .map(|execute| unsafe { TypedFunc::new_unchecked(execute) })
    }

    /// The instance itself, for an HTTP handler's `handle`.
    pub(crate) fn instance(&self) -> &Instance {
        &self.instance
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
        let Some(execute) = self.execute else {
            wasmtime::bail!("an HTTP handler has no `execute`");
        };
        // SAFETY: `OperationPre::new` checked the export's type against this signature,
        // and this function belongs to an instance of that `InstancePre`.
        let func =
            unsafe { TypedFunc::<ExecuteParams<'_>, ExecuteResults>::new_unchecked(execute) };
        let (result,) = func.call_async(store, (request,)).await?;
        Ok(result)
    }
}
