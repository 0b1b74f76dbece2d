//! An operation's exported config, parsed once into a validated, typed
//! [`OperationSpec`]: route template, parameters with their schema, success status,
//! response schema, limit hints, and the outbound destinations and shared buckets it
//! requests. Every problem is reported, not only the first; later code never re-checks
//! the config.

use std::collections::BTreeSet;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bindings::wit;

pub mod caps;
mod declared;
mod described;
pub mod destination;

pub use declared::{DeclaredParam, DeclaredRoute, SectionError};
pub use described::{ConfigVersion, Described};
pub use destination::{
    Destination, DestinationPattern, Host, HostPattern, PatternError, PortPattern, Scheme,
    SchemePattern, canonical,
};

/// The config as the component returned it, in a serializable form (cached by content
/// hash, printed by `arsenal describe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawConfig {
    pub name: String,
    pub version: String,
    pub category: String,
    pub summary: String,
    pub description: String,
    pub method: String,
    pub path: String,
    pub params: Vec<RawParam>,
    pub success_status: u16,
    pub response_schema: Option<String>,
    pub memory_mib: Option<u32>,
    pub timeout_ms: Option<u32>,
    pub additional_params: bool,
    /// Outbound destinations requested (contract 0.2.0; empty for 0.1.0, and in a
    /// config cached before the field existed).
    #[serde(default)]
    pub outbound_hosts: Vec<String>,
    /// Shared key-value buckets requested (as `outbound_hosts`).
    #[serde(default)]
    pub buckets: Vec<String>,
}

/// One parameter as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawParam {
    pub name: String,
    pub location: Location,
    #[serde(rename = "type")]
    pub ty: ParamType,
    pub items: Option<ParamType>,
    pub required: bool,
    pub default: Option<String>,
    pub description: String,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub pattern: Option<String>,
    pub one_of: Vec<String>,
    pub sensitive: bool,
}

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    Path,
    Query,
    Body,
}

/// A parameter's JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

impl ParamType {
    /// The JSON Schema `type` keyword.
    pub fn schema_name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Array => "array",
            ParamType::Object => "object",
        }
    }

    fn from_wit(ty: wit::ParamType) -> ParamType {
        match ty {
            wit::ParamType::String => ParamType::String,
            wit::ParamType::Integer => ParamType::Integer,
            wit::ParamType::Number => ParamType::Number,
            wit::ParamType::Boolean => ParamType::Boolean,
            wit::ParamType::Array => ParamType::Array,
            wit::ParamType::Object => ParamType::Object,
        }
    }
}

impl RawConfig {
    /// A config with no parameters and every optional field empty.
    pub fn new(name: &str, method: &str, path: &str, params: Vec<RawParam>) -> RawConfig {
        RawConfig {
            name: name.to_owned(),
            version: "0.1.0".to_owned(),
            category: "custom".to_owned(),
            summary: String::new(),
            description: String::new(),
            method: method.to_owned(),
            path: path.to_owned(),
            params,
            success_status: 200,
            response_schema: None,
            memory_mib: None,
            timeout_ms: None,
            additional_params: false,
            outbound_hosts: Vec::new(),
            buckets: Vec::new(),
        }
    }
}

impl RawParam {
    /// A parameter with no constraints; path parameters are required, others optional.
    pub fn new(name: &str, location: Location, ty: ParamType) -> RawParam {
        RawParam {
            name: name.to_owned(),
            location,
            ty,
            items: None,
            required: location == Location::Path,
            default: None,
            description: String::new(),
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            pattern: None,
            one_of: Vec::new(),
            sensitive: false,
        }
    }
}

/// A validated operation description.
#[derive(Debug, Clone)]
pub struct OperationSpec {
    pub name: String,
    pub version: String,
    pub category: String,
    pub summary: String,
    pub description: String,
    pub method: Method,
    pub route: RouteTemplate,
    pub params: Vec<ParamSpec>,
    pub success_status: StatusCode,
    pub response_schema: Option<Value>,
    pub memory_mib: Option<u32>,
    pub timeout_ms: Option<u32>,
    pub additional_params: bool,
    /// The outbound HTTP destinations the operation requests, each listed once. A
    /// request: what it reaches is this intersected with the operator's grant.
    pub outbound_hosts: Vec<DestinationPattern>,
    /// The shared key-value buckets the operation requests besides its own, each listed
    /// once; a request like `outbound_hosts`.
    pub buckets: Vec<String>,
}

/// A validated parameter.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub location: Location,
    pub ty: ParamType,
    pub items: Option<ParamType>,
    pub required: bool,
    pub default: Option<Value>,
    pub description: String,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub pattern: Option<String>,
    pub one_of: Vec<Value>,
    pub sensitive: bool,
}

/// A path template such as `/api/v1/processes/:pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate {
    /// As declared.
    pub template: String,
    pub segments: Vec<Segment>,
}

/// One `/`-separated segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Param(String),
}

impl RouteTemplate {
    /// The template in matchit/axum syntax (`/api/v1/processes/{pid}`).
    pub fn router_path(&self) -> String {
        self.render(|name| format!("{{{name}}}"))
    }

    /// The template in OpenAPI syntax, which happens to be the same as the router's.
    pub fn openapi_path(&self) -> String {
        self.router_path()
    }

    /// The template with parameter names erased: two routes with the same shape and
    /// method conflict whatever their parameters are called.
    pub fn shape(&self) -> String {
        self.render(|_| "{}".to_owned())
    }

    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    fn render(&self, param: impl Fn(&str) -> String) -> String {
        let mut path = String::new();
        for segment in &self.segments {
            path.push('/');
            match segment {
                Segment::Literal(literal) => path.push_str(literal),
                Segment::Param(name) => path.push_str(&param(name)),
            }
        }
        path
    }
}

/// Path prefixes the host serves itself; no operation may claim them.
pub(crate) const RESERVED_PREFIXES: &[&str] = &[
    "/api/v1/operations",
    "/api/v1/admin",
    "/api/v1/batch",
    "/api/v1/health",
    "/api/v1/openapi.json",
    "/metrics",
];

/// One thing wrong with a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    /// The config field, e.g. `path` or `params.limit.default`; `config` for the whole.
    pub field: String,
    pub message: String,
    /// The cap the field is over, when that is the problem (see [`caps`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<usize>,
}

impl ConfigProblem {
    pub fn new(field: &str, message: String) -> ConfigProblem {
        ConfigProblem {
            field: field.to_owned(),
            message,
            cap: None,
        }
    }

    /// `field` is over `cap`, as `message` says.
    pub fn over_cap(field: &str, message: String, cap: usize) -> ConfigProblem {
        ConfigProblem {
            cap: Some(cap),
            ..ConfigProblem::new(field, message)
        }
    }
}

impl OperationSpec {
    /// Bound the parameters that are milliseconds the call spends by `deadline`, the one
    /// the host set for the call: those the contract marks, by a maximum equal to the
    /// operation's timeout hint, get the deadline less a tenth as their maximum (and as
    /// their default, where it was longer), so that a value accepted cannot outlast its
    /// own call. The schema of the parameter, and so the document, says the new bound.
    pub fn bound_by_deadline(&mut self, deadline: std::time::Duration) {
        let Some(hint) = self.timeout_ms else {
            return;
        };
        let deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
        let bound = (deadline_ms - deadline_ms / 10) as f64;
        for param in &mut self.params {
            let numeric = matches!(param.ty, ParamType::Integer | ParamType::Number);
            if !numeric || param.maximum != Some(f64::from(hint)) {
                continue;
            }
            param.maximum = Some(bound);
            if param
                .default
                .as_ref()
                .and_then(Value::as_f64)
                .is_some_and(|default| default > bound)
            {
                param.default = Some(Value::from(bound as u64));
            }
        }
    }

    /// Validate a config, reporting every problem. A config over any of its [`caps`] is
    /// reported for those alone: what is over a cap is not worth reading further.
    pub fn parse(raw: &RawConfig) -> Result<OperationSpec, Vec<ConfigProblem>> {
        let over = caps::over_caps(raw);
        if !over.is_empty() {
            return Err(over);
        }
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| {
            problems.push(ConfigProblem::new(field, message));
        };

        if !is_identifier(&raw.name) {
            problem(
                "name",
                format!(
                    "`{}` is not a valid name: use lowercase letters, digits and `_`, starting with a letter",
                    raw.name
                ),
            );
        }
        if !is_version(&raw.version) {
            problem(
                "version",
                format!(
                    "`{}` is not a semantic version (MAJOR.MINOR.PATCH)",
                    raw.version
                ),
            );
        }
        if raw.category.is_empty() {
            problem("category", "must not be empty".to_owned());
        }
        let method = match raw.method.as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            other => {
                problem("method", format!("`{other}` is not a supported method"));
                Method::GET
            }
        };
        let route = match parse_template(&raw.path) {
            Ok(route) => Some(route),
            Err(message) => {
                problem("path", message);
                None
            }
        };
        if let Some(prefix) = RESERVED_PREFIXES
            .iter()
            .find(|prefix| raw.path == **prefix || raw.path.starts_with(&format!("{prefix}/")))
        {
            problem(
                "path",
                format!("`{}` is under the reserved prefix `{prefix}`", raw.path),
            );
        }
        let success_status = match raw.success_status {
            200 | 201 | 202 | 204 => {
                StatusCode::from_u16(raw.success_status).expect("valid status")
            }
            other => {
                problem(
                    "success_status",
                    format!("{other} is not a success status (use 200, 201, 202 or 204)"),
                );
                StatusCode::OK
            }
        };
        let response_schema = match &raw.response_schema {
            None => None,
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(schema) => match jsonschema::meta::validate(&schema) {
                    Ok(()) => Some(schema),
                    Err(error) => {
                        problem(
                            "response_schema",
                            format!("not a valid JSON Schema: {error}"),
                        );
                        None
                    }
                },
                Err(error) => {
                    problem("response_schema", format!("not JSON: {error}"));
                    None
                }
            },
        };
        for (field, value) in [
            ("limits.memory_mib", raw.memory_mib),
            ("limits.timeout_ms", raw.timeout_ms),
        ] {
            if value == Some(0) {
                problem(field, "must be greater than 0".to_owned());
            }
        }

        let mut outbound_hosts = Vec::new();
        for text in &raw.outbound_hosts {
            match text.parse::<DestinationPattern>() {
                Ok(destination) if outbound_hosts.contains(&destination) => problem(
                    "outbound_hosts",
                    format!("`{text}` is listed more than once"),
                ),
                Ok(destination) => outbound_hosts.push(destination),
                Err(error) => problem(
                    "outbound_hosts",
                    format!("`{text}` is not a destination pattern: {error}"),
                ),
            }
        }
        let mut buckets: Vec<String> = Vec::new();
        for name in &raw.buckets {
            if !is_bucket_name(name) {
                problem(
                    "buckets",
                    format!(
                        "`{name}` is not a valid bucket name: use a lowercase letter, then lowercase letters, digits, `-` and `_`"
                    ),
                );
            } else if buckets.contains(name) {
                problem("buckets", format!("`{name}` is listed more than once"));
            } else {
                buckets.push(name.clone());
            }
        }

        let mut seen = BTreeSet::new();
        let mut params = Vec::new();
        for param in &raw.params {
            let field = format!("params.{}", param.name);
            if !is_identifier(&param.name) {
                problem(
                    &field,
                    format!("`{}` is not a valid parameter name", param.name),
                );
            }
            if !seen.insert(param.name.as_str()) {
                problem(
                    &field,
                    format!("parameter `{}` is declared more than once", param.name),
                );
            }
            if param.location == Location::Body && matches!(method, Method::GET | Method::DELETE) {
                problem(
                    &field,
                    format!("a {method} operation cannot take body parameters"),
                );
            }
            if param.location == Location::Path {
                if !param.required {
                    problem(&field, "path parameters are always required".to_owned());
                }
                if matches!(param.ty, ParamType::Array | ParamType::Object) {
                    problem(
                        &field,
                        "a path parameter must be a string, integer, number or boolean".to_owned(),
                    );
                }
                if let Some(route) = &route
                    && !route.param_names().any(|name| name == param.name)
                {
                    problem(
                        &field,
                        format!(
                            "path parameter `{}` is not a segment of `{}`",
                            param.name, raw.path
                        ),
                    );
                }
            }
            if param.items.is_some() && param.ty != ParamType::Array {
                problem(
                    &format!("{field}.items"),
                    "only array parameters have items".to_owned(),
                );
            }
            if matches!(param.items, Some(ParamType::Array | ParamType::Object))
                && param.location == Location::Query
            {
                problem(
                    &format!("{field}.items"),
                    "query arrays hold scalars".to_owned(),
                );
            }
            for (bound, value) in [("minimum", param.minimum), ("maximum", param.maximum)] {
                if value.is_some_and(|value| !value.is_finite()) {
                    problem(
                        &format!("{field}.{bound}"),
                        "must be a finite number".to_owned(),
                    );
                }
            }
            if let (Some(min), Some(max)) = (param.minimum, param.maximum)
                && min > max
            {
                problem(&field, format!("minimum {min} is above maximum {max}"));
            }
            if let (Some(min), Some(max)) = (param.min_length, param.max_length)
                && min > max
            {
                problem(
                    &field,
                    format!("min_length {min} is above max_length {max}"),
                );
            }
            let mut parse_json = |what: &str, text: &str| match serde_json::from_str::<Value>(text)
            {
                Ok(value) => Some(value),
                Err(error) => {
                    problem(
                        &format!("{field}.{what}"),
                        format!("`{text}` is not JSON: {error}"),
                    );
                    None
                }
            };
            let default = param
                .default
                .as_deref()
                .and_then(|text| parse_json("default", text));
            let one_of: Vec<Value> = param
                .one_of
                .iter()
                .filter_map(|text| parse_json("one_of", text))
                .collect();
            let spec = ParamSpec {
                name: param.name.clone(),
                location: param.location,
                ty: param.ty,
                items: param.items,
                required: param.required,
                default,
                description: param.description.clone(),
                // A bound that is not a number was reported above; the schema leaves it out.
                minimum: param.minimum.filter(|value| value.is_finite()),
                maximum: param.maximum.filter(|value| value.is_finite()),
                min_length: param.min_length,
                max_length: param.max_length,
                pattern: param.pattern.clone(),
                one_of,
                sensitive: param.sensitive,
            };
            match jsonschema::validator_for(&spec.schema()) {
                Ok(validator) => {
                    if let Some(default) = &spec.default
                        && let Err(error) = validator.validate(default)
                    {
                        problem(
                            &format!("{field}.default"),
                            format!(
                                "the default does not satisfy the parameter's own schema: {error}"
                            ),
                        );
                    }
                    for value in &spec.one_of {
                        if let Err(error) = validator.validate(value) {
                            problem(
                                &format!("{field}.one_of"),
                                format!("{value} does not satisfy the parameter's type: {error}"),
                            );
                        }
                    }
                }
                Err(error) => problem(&field, format!("invalid constraint: {error}")),
            }
            params.push(spec);
        }
        if let Some(route) = &route {
            for name in route.param_names() {
                if !raw
                    .params
                    .iter()
                    .any(|param| param.name == name && param.location == Location::Path)
                {
                    problem(
                        "path",
                        format!("segment `:{name}` has no path parameter declared"),
                    );
                }
            }
        }

        match route {
            Some(route) if problems.is_empty() => Ok(OperationSpec {
                name: raw.name.clone(),
                version: raw.version.clone(),
                category: raw.category.clone(),
                summary: raw.summary.clone(),
                description: raw.description.clone(),
                method,
                route,
                params,
                success_status,
                response_schema,
                memory_mib: raw.memory_mib,
                timeout_ms: raw.timeout_ms,
                additional_params: raw.additional_params,
                outbound_hosts,
                buckets,
            }),
            _ => Err(problems),
        }
    }
}

impl ParamSpec {
    /// The JSON Schema of this parameter's value.
    pub fn schema(&self) -> Value {
        let mut schema = serde_json::Map::new();
        schema.insert("type".into(), self.ty.schema_name().into());
        if let Some(items) = self.items {
            schema.insert(
                "items".into(),
                serde_json::json!({ "type": items.schema_name() }),
            );
        }
        if let Some(minimum) = self.minimum {
            schema.insert("minimum".into(), number(minimum));
        }
        if let Some(maximum) = self.maximum {
            schema.insert("maximum".into(), number(maximum));
        }
        let (min_key, max_key) = match self.ty {
            ParamType::Array => ("minItems", "maxItems"),
            _ => ("minLength", "maxLength"),
        };
        if let Some(min) = self.min_length {
            schema.insert(min_key.into(), min.into());
        }
        if let Some(max) = self.max_length {
            schema.insert(max_key.into(), max.into());
        }
        if let Some(pattern) = &self.pattern {
            schema.insert("pattern".into(), pattern.clone().into());
        }
        if !self.one_of.is_empty() {
            schema.insert("enum".into(), Value::Array(self.one_of.clone()));
        }
        if let Some(default) = &self.default {
            schema.insert("default".into(), default.clone());
        }
        if !self.description.is_empty() {
            schema.insert("description".into(), self.description.clone().into());
        }
        Value::Object(schema)
    }
}

/// Whole bounds print as integers (`"minimum": 1`, not `1.0`).
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= caps::MAX_NAME_BYTES
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A bucket's name: a lowercase letter, then lowercase letters, digits, `-` and `_`, at
/// most [`caps::MAX_BUCKET_NAME_BYTES`].
pub fn is_bucket_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= caps::MAX_BUCKET_NAME_BYTES
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_version(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
}

fn parse_template(path: &str) -> Result<RouteTemplate, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("`{path}` must start with `/`"));
    };
    let mut segments = Vec::new();
    let mut names = BTreeSet::new();
    for segment in rest.split('/') {
        if segment.is_empty() {
            return Err(format!("`{path}` has an empty segment"));
        }
        if let Some(name) = segment.strip_prefix(':') {
            if !is_identifier(name) {
                return Err(format!(
                    "`{path}`: `:{name}` is not a valid parameter segment"
                ));
            }
            if !names.insert(name) {
                return Err(format!("`{path}`: `:{name}` appears twice"));
            }
            segments.push(Segment::Param(name.to_owned()));
        } else {
            let valid = segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
            if !valid {
                return Err(format!(
                    "`{path}`: segment `{segment}` may only hold letters, digits and `-._~`"
                ));
            }
            segments.push(Segment::Literal(segment.to_owned()));
        }
    }
    Ok(RouteTemplate {
        template: path.to_owned(),
        segments,
    })
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    fn window(maximum: f64, default: Option<Value>) -> ParamSpec {
        ParamSpec {
            name: "window_ms".into(),
            location: Location::Body,
            ty: ParamType::Integer,
            items: None,
            required: false,
            default,
            description: String::new(),
            minimum: Some(1.0),
            maximum: Some(maximum),
            min_length: None,
            max_length: None,
            pattern: None,
            one_of: Vec::new(),
            sensitive: false,
        }
    }

    fn spec(timeout_ms: Option<u32>, params: Vec<ParamSpec>) -> OperationSpec {
        OperationSpec {
            name: "profile".into(),
            version: "0.1.0".into(),
            category: "tracing".into(),
            summary: String::new(),
            description: String::new(),
            method: Method::POST,
            route: RouteTemplate {
                template: "/p".into(),
                segments: vec![Segment::Literal("p".into())],
            },
            params,
            success_status: StatusCode::OK,
            response_schema: None,
            memory_mib: None,
            timeout_ms,
            additional_params: false,
            outbound_hosts: Vec::new(),
            buckets: Vec::new(),
        }
    }

    #[test]
    fn a_parameter_marked_by_the_timeout_hint_is_bounded_by_the_deadline() {
        let mut marked = spec(
            Some(30_000),
            vec![
                window(30_000.0, Some(Value::from(8_000))),
                window(25_000.0, None),
            ],
        );
        marked.bound_by_deadline(std::time::Duration::from_millis(5_000));
        assert_eq!(marked.params[0].maximum, Some(4_500.0));
        assert_eq!(marked.params[0].default, Some(Value::from(4_500)));
        assert_eq!(marked.params[0].schema()["maximum"], 4_500);
        // A maximum that is not the hint is the operation's own.
        assert_eq!(marked.params[1].maximum, Some(25_000.0));

        let mut unmarked = spec(None, vec![window(30_000.0, None)]);
        unmarked.bound_by_deadline(std::time::Duration::from_millis(5_000));
        assert_eq!(unmarked.params[0].maximum, Some(30_000.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(path: &str, params: Vec<RawParam>) -> RawConfig {
        RawConfig::new("op", "GET", path, params)
    }

    fn param(name: &str, location: Location, ty: ParamType) -> RawParam {
        RawParam {
            required: true,
            ..RawParam::new(name, location, ty)
        }
    }

    fn fields(result: Result<OperationSpec, Vec<ConfigProblem>>) -> Vec<String> {
        result
            .unwrap_err()
            .into_iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn a_good_config_parses_into_a_route() {
        let spec = OperationSpec::parse(&raw(
            "/api/v1/things/:id",
            vec![param("id", Location::Path, ParamType::Integer)],
        ))
        .unwrap();
        assert_eq!(spec.route.router_path(), "/api/v1/things/{id}");
        assert_eq!(spec.route.shape(), "/api/v1/things/{}");
    }

    #[test]
    fn invalid_paths_are_refused_with_the_reason() {
        assert_eq!(
            fields(OperationSpec::parse(&raw("api/x", vec![]))),
            ["path: `api/x` must start with `/`"]
        );
        assert_eq!(
            fields(OperationSpec::parse(&raw("/api//x", vec![]))),
            ["path: `/api//x` has an empty segment"]
        );
        assert_eq!(
            fields(OperationSpec::parse(&raw("/api/v1/x/:", vec![]))),
            ["path: `/api/v1/x/:`: `:` is not a valid parameter segment"]
        );
    }

    #[test]
    fn reserved_prefixes_and_undeclared_segments_are_refused() {
        assert_eq!(
            fields(OperationSpec::parse(&raw("/api/v1/admin/x", vec![]))),
            ["path: `/api/v1/admin/x` is under the reserved prefix `/api/v1/admin`"]
        );
        assert_eq!(
            fields(OperationSpec::parse(&raw("/api/v1/x/:id", vec![]))),
            ["path: segment `:id` has no path parameter declared"]
        );
    }

    #[test]
    fn every_parameter_problem_is_reported() {
        let mut limit = param("limit", Location::Query, ParamType::Integer);
        limit.default = Some("\"ten\"".into());
        limit.required = false;
        let duplicate = param("limit", Location::Query, ParamType::Integer);
        let body = param("payload", Location::Body, ParamType::Object);
        let stray = param("id", Location::Path, ParamType::String);
        let problems = fields(OperationSpec::parse(&raw(
            "/api/v1/x",
            vec![limit, duplicate, body, stray],
        )));
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("params.limit.default: the default does not satisfy"));
        assert_eq!(
            problems[1],
            "params.limit: parameter `limit` is declared more than once"
        );
        assert_eq!(
            problems[2],
            "params.payload: a GET operation cannot take body parameters"
        );
        assert_eq!(
            problems[3],
            "params.id: path parameter `id` is not a segment of `/api/v1/x`"
        );
    }

    #[test]
    fn bounds_are_finite_numbers() {
        let mut limit = param("limit", Location::Query, ParamType::Number);
        limit.minimum = Some(f64::NAN);
        limit.maximum = Some(f64::INFINITY);
        assert_eq!(
            fields(OperationSpec::parse(&raw("/api/v1/x", vec![limit]))),
            [
                "params.limit.minimum: must be a finite number",
                "params.limit.maximum: must be a finite number"
            ]
        );
    }

    #[test]
    fn requested_destinations_and_buckets_are_parsed_and_each_bad_one_named() {
        let mut good = raw("/api/v1/x", vec![]);
        good.outbound_hosts = vec![
            "https://*.example.com:443".into(),
            "http://127.0.0.1:*".into(),
        ];
        good.buckets = vec!["shared-cache".into(), "flags_2".into()];
        let spec = OperationSpec::parse(&good).unwrap();
        let hosts: Vec<String> = spec.outbound_hosts.iter().map(|d| d.to_string()).collect();
        assert_eq!(hosts, ["https://*.example.com:443", "http://127.0.0.1:*"]);
        assert_eq!(spec.buckets, ["shared-cache", "flags_2"]);

        let mut bad = raw("/api/v1/x", vec![]);
        bad.outbound_hosts = vec![
            "https://example.com".into(),
            "http://a.com:80".into(),
            "HTTP://A.com:80".into(),
        ];
        bad.buckets = vec!["Shared".into(), "ok".into(), "ok".into()];
        assert_eq!(
            fields(OperationSpec::parse(&bad)),
            [
                "outbound_hosts: `https://example.com` is not a destination pattern: it names no port: add one (`:443`) or `:*` for any",
                "outbound_hosts: `HTTP://A.com:80` is listed more than once",
                "buckets: `Shared` is not a valid bucket name: use a lowercase letter, then lowercase letters, digits, `-` and `_`",
                "buckets: `ok` is listed more than once",
            ]
        );
    }

    #[test]
    fn param_schema_carries_every_constraint() {
        let mut tags = param("tags", Location::Query, ParamType::Array);
        tags.items = Some(ParamType::String);
        tags.max_length = Some(3);
        tags.required = false;
        let spec = OperationSpec::parse(&raw("/api/v1/x", vec![tags])).unwrap();
        assert_eq!(
            spec.params[0].schema(),
            serde_json::json!({ "type": "array", "items": { "type": "string" }, "maxItems": 3 })
        );
    }
}
