//! What `describe` returns, copied out of the guest under a size budget.
//!
//! The contract's `config` record holds strings and lists of any length the guest's
//! memory can hold. Lifted as bindgen's own types, every byte would be copied into the
//! host before anything could be checked. Here the record is lifted through mirror types
//! whose strings and lists first read their length from the canonical ABI's pointer pair
//! and charge it to [`MAX_CONFIG_BYTES`]: a config over the budget is refused as soon as
//! the budget runs out, with what is over it still in the guest. Within the budget, the
//! parse into a typed spec checks each field against its own cap (`super::caps`).
//!
//! Each contract version the host accepts has its own record: a 0.1.0 config lacks the
//! fields 0.2.0 added, and is read with those empty.

use std::cell::Cell;
use std::marker::PhantomData;

use wasmtime::Store;
use wasmtime::ValRaw;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{ComponentType, Func, Lift};

use super::caps::MAX_CONFIG_BYTES;
use super::{Location, ParamType, RawConfig, RawParam};
use crate::bindings::wit;

/// What `describe` returned.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per component loaded, moved straight into the loader's result"
)]
pub enum Described {
    Config(RawConfig),
    /// Its strings and lists came to more than [`MAX_CONFIG_BYTES`]; none was copied
    /// past the budget.
    OverBudget,
}

/// The bytes of guest memory a parameter's record spans, besides its strings.
pub(super) const PARAM_RECORD_BYTES: usize = <ParamRecord as ComponentType>::SIZE32;
/// The bytes of guest memory a string's pointer pair spans in a list (an allowed value,
/// a destination, a bucket), besides its text.
pub(super) const TEXT_ITEM_BYTES: usize = <Text as ComponentType>::SIZE32;

thread_local! {
    /// Bytes the config being lifted on this thread may still take: set by [`Budgeted`]
    /// for the length of its lift, `None` outside it. A lift is one synchronous call on
    /// one thread, and the derived record code hands the fields nothing but wasmtime's
    /// lift context, so the budget travels beside it on the thread.
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The config's error when the budget runs out, turned into [`Described::OverBudget`].
#[derive(Debug, thiserror::Error)]
#[error("the config is over its budget of {MAX_CONFIG_BYTES} bytes")]
struct OverBudget;

/// Take `bytes` from the budget of the lift under way.
fn charge(bytes: usize) -> wasmtime::Result<()> {
    BUDGET.with(|budget| match budget.get() {
        Some(left) if bytes <= left => {
            budget.set(Some(left - bytes));
            Ok(())
        }
        Some(_) => Err(wasmtime::Error::new(OverBudget)),
        // The mirror types are private and lifted only within `Budgeted`.
        None => Ok(()),
    })
}

/// Run `lift` with a fresh budget of [`MAX_CONFIG_BYTES`] on this thread. The budget is
/// cleared on the way out, also by a panic.
fn within_budget<T>(lift: impl FnOnce() -> wasmtime::Result<T>) -> wasmtime::Result<Option<T>> {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            BUDGET.with(|budget| budget.set(None));
        }
    }
    BUDGET.with(|budget| budget.set(Some(MAX_CONFIG_BYTES)));
    let _clear = Clear;
    match lift() {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.downcast_ref::<OverBudget>().is_some() => Ok(None),
        Err(error) => Err(error),
    }
}

/// The length half of a string's or list's pointer pair, flat (two core values).
fn flat_length(src: &[ValRaw; 2]) -> usize {
    src[1].get_u32() as usize
}

/// The length half of a string's or list's pointer pair in memory (two little-endian
/// `u32`s). wasmtime has checked that `bytes` spans the pair before handing it over.
fn memory_length(bytes: &[u8]) -> usize {
    let mut length = [0; 4];
    length.copy_from_slice(&bytes[4..8]);
    u32::from_le_bytes(length) as usize
}

/// A UTF-16 string's length carries this tag bit (the canonical ABI's `latin1+utf16`);
/// the rest counts code units.
const UTF16_TAG: usize = 1 << 31;

/// A string of the config, charged by its length in code units (bytes, in UTF-8) before
/// it is copied.
struct Text(String);

/// A list of the config, charged by the bytes its elements span before any is lifted.
struct List<T>(Vec<T>);

#[expect(
    unsafe_code,
    reason = "a mirror of `String` for lifting: the same type, layout and checks"
)]
// SAFETY: every item forwards to `String`'s implementation.
unsafe impl ComponentType for Text {
    type Lower = <String as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <String as ComponentType>::ABI;
    const MAY_REQUIRE_REALLOC: bool = <String as ComponentType>::MAY_REQUIRE_REALLOC;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <String as ComponentType>::typecheck(ty, types)
    }
}

#[expect(unsafe_code, reason = "as `ComponentType for Text`")]
// SAFETY: the string is lifted by `String`'s implementation, after the charge.
unsafe impl Lift for Text {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        src: &Self::Lower,
    ) -> wasmtime::Result<Self> {
        charge(flat_length(src) & !UTF16_TAG)?;
        String::linear_lift_from_flat(cx, ty, src).map(Text)
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        charge(memory_length(bytes) & !UTF16_TAG)?;
        String::linear_lift_from_memory(cx, ty, bytes).map(Text)
    }
}

#[expect(
    unsafe_code,
    reason = "a mirror of `Vec<T>` for lifting: the same type, layout and checks"
)]
// SAFETY: every item forwards to `Vec<T>`'s implementation.
unsafe impl<T: ComponentType> ComponentType for List<T> {
    type Lower = <Vec<T> as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <Vec<T> as ComponentType>::ABI;
    const MAY_REQUIRE_REALLOC: bool = <Vec<T> as ComponentType>::MAY_REQUIRE_REALLOC;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <Vec<T> as ComponentType>::typecheck(ty, types)
    }
}

#[expect(unsafe_code, reason = "as `ComponentType for List`")]
// SAFETY: the list is lifted by `Vec<T>`'s implementation, after the charge.
unsafe impl<T: Lift> Lift for List<T> {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        src: &Self::Lower,
    ) -> wasmtime::Result<Self> {
        charge(flat_length(src).saturating_mul(T::SIZE32))?;
        Vec::linear_lift_from_flat(cx, ty, src).map(List)
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        charge(memory_length(bytes).saturating_mul(T::SIZE32))?;
        Vec::linear_lift_from_memory(cx, ty, bytes).map(List)
    }
}

/// The contract version whose `config` record a component's `describe` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigVersion {
    /// `arsenal:operation@0.1.0`: no `outbound-hosts` nor `buckets`.
    V0_1_0,
    /// `arsenal:operation@0.2.0`, the current contract.
    V0_2_0,
}

impl ConfigVersion {
    /// The record of contract version `version` (as `ComponentShape::contract_version`
    /// read it), if the host accepts that version.
    pub fn of_contract(version: &str) -> Option<ConfigVersion> {
        match version {
            "0.1.0" => Some(ConfigVersion::V0_1_0),
            "0.2.0" => Some(ConfigVersion::V0_2_0),
            _ => None,
        }
    }
}

/// A contract version's `config` record, lifted within the budget.
trait Record: ComponentType + Lift + 'static {
    fn into_raw(self) -> RawConfig;
}

/// The contract's `config` (0.2.0), with its strings and lists charged.
#[derive(ComponentType, Lift)]
#[component(record)]
struct ConfigRecord {
    name: Text,
    version: Text,
    category: Text,
    summary: Text,
    description: Text,
    method: wit::HttpMethod,
    path: Text,
    params: List<ParamRecord>,
    #[component(name = "success-status")]
    success_status: u16,
    #[component(name = "response-schema")]
    response_schema: Option<Text>,
    limits: wit::LimitHints,
    #[component(name = "additional-params")]
    additional_params: bool,
    #[component(name = "outbound-hosts")]
    outbound_hosts: List<Text>,
    buckets: List<Text>,
}

/// The `config` of contract 0.1.0: the current one without `outbound-hosts` and
/// `buckets`.
#[derive(ComponentType, Lift)]
#[component(record)]
struct ConfigRecordV0_1_0 {
    name: Text,
    version: Text,
    category: Text,
    summary: Text,
    description: Text,
    method: wit::HttpMethod,
    path: Text,
    params: List<ParamRecord>,
    #[component(name = "success-status")]
    success_status: u16,
    #[component(name = "response-schema")]
    response_schema: Option<Text>,
    limits: wit::LimitHints,
    #[component(name = "additional-params")]
    additional_params: bool,
}

/// The contract's `param`.
#[derive(ComponentType, Lift)]
#[component(record)]
struct ParamRecord {
    name: Text,
    location: wit::ParamLocation,
    #[component(name = "type")]
    ty: wit::ParamType,
    items: Option<wit::ParamType>,
    required: bool,
    default: Option<Text>,
    description: Text,
    constraints: ConstraintsRecord,
    sensitive: bool,
}

/// The contract's `constraints`.
#[derive(ComponentType, Lift)]
#[component(record)]
struct ConstraintsRecord {
    minimum: Option<f64>,
    maximum: Option<f64>,
    #[component(name = "min-length")]
    min_length: Option<u32>,
    #[component(name = "max-length")]
    max_length: Option<u32>,
    pattern: Option<Text>,
    #[component(name = "one-of")]
    one_of: List<Text>,
}

/// `describe`'s result: the config, as record `R`, lifted within one budget.
struct Budgeted<R>(Described, PhantomData<fn() -> R>);

#[expect(
    unsafe_code,
    reason = "a mirror of a config record for lifting: the same type, layout and checks"
)]
// SAFETY: every item forwards to `R`'s implementation.
unsafe impl<R: Record> ComponentType for Budgeted<R> {
    type Lower = <R as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <R as ComponentType>::ABI;
    const MAY_REQUIRE_REALLOC: bool = <R as ComponentType>::MAY_REQUIRE_REALLOC;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <R as ComponentType>::typecheck(ty, types)
    }
}

#[expect(unsafe_code, reason = "as `ComponentType for Budgeted`")]
// SAFETY: the record is lifted by `R`'s implementation, within one budget.
unsafe impl<R: Record> Lift for Budgeted<R> {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        src: &Self::Lower,
    ) -> wasmtime::Result<Self> {
        within_budget(|| R::linear_lift_from_flat(cx, ty, src)).map(Budgeted::from)
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        within_budget(|| R::linear_lift_from_memory(cx, ty, bytes)).map(Budgeted::from)
    }
}

impl<R: Record> From<Option<R>> for Budgeted<R> {
    fn from(record: Option<R>) -> Budgeted<R> {
        let described = match record {
            Some(record) => Described::Config(record.into_raw()),
            None => Described::OverBudget,
        };
        Budgeted(described, PhantomData)
    }
}

impl Described {
    /// Check that `describe` (`func`, of a component whose instances have
    /// `instance_type`) has the signature of contract `version`.
    pub fn typecheck(
        func: &ComponentFunc,
        instance_type: &InstanceType<'_>,
        version: ConfigVersion,
    ) -> wasmtime::Result<()> {
        match version {
            ConfigVersion::V0_1_0 => {
                func.typecheck::<(), (Budgeted<ConfigRecordV0_1_0>,)>(instance_type)
            }
            ConfigVersion::V0_2_0 => func.typecheck::<(), (Budgeted<ConfigRecord>,)>(instance_type),
        }
    }

    /// Call `describe` (`func`, an export of an instance in `store`, of contract
    /// `version`) and copy its config out of the guest within the budget.
    pub async fn call<T: Send>(
        func: Func,
        store: &mut Store<T>,
        version: ConfigVersion,
    ) -> wasmtime::Result<Described> {
        match version {
            ConfigVersion::V0_1_0 => Self::call_as::<ConfigRecordV0_1_0, T>(func, store).await,
            ConfigVersion::V0_2_0 => Self::call_as::<ConfigRecord, T>(func, store).await,
        }
    }

    async fn call_as<R: Record, T: Send>(
        func: Func,
        store: &mut Store<T>,
    ) -> wasmtime::Result<Described> {
        let typed = func.typed::<(), (Budgeted<R>,)>(&*store)?;
        let (Budgeted(described, _),) = typed.call_async(store, ()).await?;
        Ok(described)
    }
}

impl Record for ConfigRecordV0_1_0 {
    fn into_raw(self) -> RawConfig {
        ConfigRecord {
            name: self.name,
            version: self.version,
            category: self.category,
            summary: self.summary,
            description: self.description,
            method: self.method,
            path: self.path,
            params: self.params,
            success_status: self.success_status,
            response_schema: self.response_schema,
            limits: self.limits,
            additional_params: self.additional_params,
            outbound_hosts: List(Vec::new()),
            buckets: List(Vec::new()),
        }
        .into_raw()
    }
}

impl Record for ConfigRecord {
    fn into_raw(self) -> RawConfig {
        RawConfig {
            name: self.name.0,
            version: self.version.0,
            category: self.category.0,
            summary: self.summary.0,
            description: self.description.0,
            method: match self.method {
                wit::HttpMethod::Get => "GET",
                wit::HttpMethod::Post => "POST",
                wit::HttpMethod::Put => "PUT",
                wit::HttpMethod::Patch => "PATCH",
                wit::HttpMethod::Delete => "DELETE",
            }
            .to_owned(),
            path: self.path.0,
            params: self
                .params
                .0
                .into_iter()
                .map(ParamRecord::into_raw)
                .collect(),
            success_status: self.success_status,
            response_schema: self.response_schema.map(|text| text.0),
            memory_mib: self.limits.memory_mib,
            timeout_ms: self.limits.timeout_ms,
            additional_params: self.additional_params,
            outbound_hosts: texts(self.outbound_hosts),
            buckets: texts(self.buckets),
        }
    }
}

fn texts(list: List<Text>) -> Vec<String> {
    list.0.into_iter().map(|text| text.0).collect()
}

impl ParamRecord {
    fn into_raw(self) -> RawParam {
        let constraints = self.constraints;
        RawParam {
            name: self.name.0,
            location: match self.location {
                wit::ParamLocation::Path => Location::Path,
                wit::ParamLocation::Query => Location::Query,
                wit::ParamLocation::Body => Location::Body,
            },
            ty: ParamType::from_wit(self.ty),
            items: self.items.map(ParamType::from_wit),
            required: self.required,
            default: self.default.map(|text| text.0),
            description: self.description.0,
            minimum: constraints.minimum,
            maximum: constraints.maximum,
            min_length: constraints.min_length,
            max_length: constraints.max_length,
            pattern: constraints.pattern.map(|text| text.0),
            one_of: texts(constraints.one_of),
            sensitive: self.sensitive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_charged_as_the_documentation_says() {
        // docs/languages.md gives these sizes: the canonical ABI's for `param` and for a
        // string's pointer pair.
        assert_eq!((PARAM_RECORD_BYTES, TEXT_ITEM_BYTES), (120, 8));
    }

    #[test]
    fn a_budget_is_spent_once_and_cleared_after_its_lift() {
        let spent = within_budget(|| {
            charge(MAX_CONFIG_BYTES - 1)?;
            charge(1)?;
            charge(1)
        });
        assert!(matches!(spent, Ok(None)), "{spent:?}");
        let within = within_budget(|| charge(MAX_CONFIG_BYTES));
        assert!(matches!(within, Ok(Some(()))), "{within:?}");
        assert!(BUDGET.with(Cell::get).is_none(), "no budget outside a lift");
    }
}
