//! The operation's self-description: route, parameters, response schema, limit hints,
//! and the outbound destinations and shared buckets it requests.

use serde_json::Value;

use crate::bindings::arsenal::operation::types as wit;

/// The HTTP method an operation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: reads, no side effects.
    Get,
    /// `POST`: creates or acts.
    Post,
    /// `PUT`: replaces.
    Put,
    /// `PATCH`: changes part of something.
    Patch,
    /// `DELETE`: removes; answers 200 with what was removed.
    Delete,
}

/// The catalogue categories of the built-in operations. Any other name is allowed too
/// (see [`Config::category`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Processes: list, inspect, kill, suspend.
    Process,
    /// Supervisor trees and strategies.
    Supervisor,
    /// Host and engine facts.
    System,
    /// Sandboxes of wasm processes.
    Sandbox,
    /// Sending and receiving messages.
    Messaging,
    /// Tracing processes and calls.
    Tracing,
    /// The cluster of nodes.
    Distributed,
    /// Key-value buckets of every component.
    Storage,
}

impl Category {
    fn as_str(self) -> &'static str {
        match self {
            Category::Process => "process",
            Category::Supervisor => "supervisor",
            Category::System => "system",
            Category::Sandbox => "sandbox",
            Category::Messaging => "messaging",
            Category::Tracing => "tracing",
            Category::Distributed => "distributed",
            Category::Storage => "storage",
        }
    }
}

impl From<Category> for String {
    fn from(category: Category) -> String {
        category.as_str().to_owned()
    }
}

/// The JSON type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A string.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
}

impl ParamType {
    fn into_wit(self) -> wit::ParamType {
        match self {
            ParamType::String => wit::ParamType::String,
            ParamType::Integer => wit::ParamType::Integer,
            ParamType::Number => wit::ParamType::Number,
            ParamType::Boolean => wit::ParamType::Boolean,
            ParamType::Array => wit::ParamType::Array,
            ParamType::Object => wit::ParamType::Object,
        }
    }
}

/// An operation's configuration, built with chained calls.
#[derive(Debug, Clone)]
#[must_use]
pub struct Config {
    name: String,
    version: String,
    category: String,
    summary: String,
    description: String,
    method: Method,
    path: String,
    params: Vec<Param>,
    success_status: u16,
    response_schema: Option<Value>,
    memory_mib: Option<u32>,
    timeout_ms: Option<u32>,
    additional_params: bool,
    outbound_hosts: Vec<String>,
    buckets: Vec<String>,
}

impl Config {
    /// A new operation named `name` answering `method` at `path` (a template with
    /// `:param` segments, e.g. `/api/v1/processes/:pid`).
    pub fn new(name: &str, method: Method, path: &str) -> Config {
        Config {
            name: name.to_owned(),
            version: "0.1.0".to_owned(),
            category: "custom".to_owned(),
            summary: String::new(),
            description: String::new(),
            method,
            path: path.to_owned(),
            params: Vec::new(),
            success_status: if method == Method::Post { 201 } else { 200 },
            response_schema: None,
            memory_mib: None,
            timeout_ms: None,
            additional_params: false,
            outbound_hosts: Vec::new(),
            buckets: Vec::new(),
        }
    }

    /// A `GET` operation.
    pub fn get(name: &str, path: &str) -> Config {
        Config::new(name, Method::Get, path)
    }

    /// A `POST` operation (success status 201 unless changed with [`Config::status`]).
    pub fn post(name: &str, path: &str) -> Config {
        Config::new(name, Method::Post, path)
    }

    /// A `PUT` operation.
    pub fn put(name: &str, path: &str) -> Config {
        Config::new(name, Method::Put, path)
    }

    /// A `PATCH` operation.
    pub fn patch(name: &str, path: &str) -> Config {
        Config::new(name, Method::Patch, path)
    }

    /// A `DELETE` operation.
    pub fn delete(name: &str, path: &str) -> Config {
        Config::new(name, Method::Delete, path)
    }

    /// The operation's own version (semver), reported in `x-operation-version`.
    pub fn version(mut self, version: &str) -> Config {
        self.version = version.to_owned();
        self
    }

    /// The catalogue category.
    pub fn category(mut self, category: impl Into<String>) -> Config {
        self.category = category.into();
        self
    }

    /// One line for listings, at most 256 bytes (the host's caps on a config are in
    /// `docs/languages.md`).
    pub fn summary(mut self, summary: &str) -> Config {
        self.summary = summary.to_owned();
        self
    }

    /// Longer documentation (markdown), at most 16 KiB.
    pub fn description(mut self, description: &str) -> Config {
        self.description = description.to_owned();
        self
    }

    /// Declare a parameter (at most 64).
    pub fn param(mut self, param: Param) -> Config {
        self.params.push(param);
        self
    }

    /// The HTTP status of a success (default 200, or 201 for `POST`).
    pub fn status(mut self, status: u16) -> Config {
        self.success_status = status;
        self
    }

    /// The JSON Schema of the response's `data`, published in the OpenAPI document.
    pub fn response_schema(mut self, schema: Value) -> Config {
        self.response_schema = Some(schema);
        self
    }

    /// Linear memory this operation needs, in MiB; the host's configuration may lower it.
    pub fn memory_mib(mut self, mib: u32) -> Config {
        self.memory_mib = Some(mib);
        self
    }

    /// How long one call may take, in milliseconds; the host's configuration may lower it.
    pub fn timeout_ms(mut self, ms: u32) -> Config {
        self.timeout_ms = Some(ms);
        self
    }

    /// Accept parameters beyond the declared ones (query values arrive as strings)
    /// instead of answering 422.
    pub fn additional_params(mut self) -> Config {
        self.additional_params = true;
        self
    }

    /// Request an outbound HTTP destination, a `scheme://host:port` pattern: the scheme
    /// `http`, `https` or `*`, the host a name, an IP address, `*.` and a name for its
    /// subdomains, or `*`, the port a number or `*` (e.g. `https://api.example.com:443`,
    /// `https://*.example.com:443`, `http://127.0.0.1:*`). The operation reaches what it
    /// requests and the operator grants; a request outside the grant, or a malformed
    /// pattern, is refused when the operation is loaded. At most 64.
    pub fn outbound_host(mut self, pattern: &str) -> Config {
        self.outbound_hosts.push(pattern.to_owned());
        self
    }

    /// Request a shared key-value bucket besides the operation's own, by name (a
    /// lowercase letter, then lowercase letters, digits, `-` and `_`; at most 64 bytes).
    /// Granted like [`Config::outbound_host`]. At most 64.
    pub fn bucket(mut self, name: &str) -> Config {
        self.buckets.push(name.to_owned());
        self
    }

    pub(crate) fn into_wit(self) -> wit::Config {
        wit::Config {
            name: self.name,
            version: self.version,
            category: self.category,
            summary: self.summary,
            description: self.description,
            method: match self.method {
                Method::Get => wit::HttpMethod::Get,
                Method::Post => wit::HttpMethod::Post,
                Method::Put => wit::HttpMethod::Put,
                Method::Patch => wit::HttpMethod::Patch,
                Method::Delete => wit::HttpMethod::Delete,
            },
            path: self.path,
            params: self
                .params
                .into_iter()
                .map(|param| param.into_wit(self.timeout_ms))
                .collect(),
            success_status: self.success_status,
            response_schema: self.response_schema.map(|schema| schema.to_string()),
            limits: wit::LimitHints {
                memory_mib: self.memory_mib,
                timeout_ms: self.timeout_ms,
            },
            additional_params: self.additional_params,
            outbound_hosts: self.outbound_hosts,
            buckets: self.buckets,
        }
    }
}

/// One declared parameter, built with chained calls. Parameters are required unless
/// they have a default or are marked [`Param::optional`].
#[derive(Debug, Clone)]
#[must_use]
pub struct Param {
    name: String,
    location: wit::ParamLocation,
    ty: ParamType,
    items: Option<ParamType>,
    required: bool,
    default: Option<Value>,
    description: String,
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_length: Option<u32>,
    max_length: Option<u32>,
    pattern: Option<String>,
    one_of: Vec<Value>,
    sensitive: bool,
    within_deadline: bool,
}

impl Param {
    fn new(name: &str, location: wit::ParamLocation) -> Param {
        Param {
            name: name.to_owned(),
            location,
            ty: ParamType::String,
            items: None,
            required: true,
            default: None,
            description: String::new(),
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            pattern: None,
            one_of: Vec::new(),
            sensitive: false,
            within_deadline: false,
        }
    }

    /// A `:name` segment of the path (always required).
    pub fn path(name: &str) -> Param {
        Param::new(name, wit::ParamLocation::Path)
    }

    /// A query-string parameter.
    pub fn query(name: &str) -> Param {
        Param::new(name, wit::ParamLocation::Query)
    }

    /// A top-level field of the JSON body.
    pub fn body(name: &str) -> Param {
        Param::new(name, wit::ParamLocation::Body)
    }

    /// The parameter's type (default: string).
    pub fn of_type(mut self, ty: ParamType) -> Param {
        self.ty = ty;
        self
    }

    /// A string.
    pub fn string(self) -> Param {
        self.of_type(ParamType::String)
    }

    /// A whole number.
    pub fn integer(self) -> Param {
        self.of_type(ParamType::Integer)
    }

    /// Any number.
    pub fn number(self) -> Param {
        self.of_type(ParamType::Number)
    }

    /// `true` or `false` (`"true"`/`"false"` in a query).
    pub fn boolean(self) -> Param {
        self.of_type(ParamType::Boolean)
    }

    /// An array of `items` (a comma-separated list in a query).
    pub fn array(mut self, items: ParamType) -> Param {
        self.items = Some(items);
        self.of_type(ParamType::Array)
    }

    /// A JSON object.
    pub fn object(self) -> Param {
        self.of_type(ParamType::Object)
    }

    /// The parameter may be absent.
    pub fn optional(mut self) -> Param {
        self.required = false;
        self
    }

    /// The value used when the parameter is absent (makes it optional).
    pub fn default(mut self, value: impl Into<Value>) -> Param {
        self.default = Some(value.into());
        self.required = false;
        self
    }

    /// Documentation for the parameter.
    pub fn describe(mut self, description: &str) -> Param {
        self.description = description.to_owned();
        self
    }

    /// Inclusive lower bound of a number.
    pub fn min(mut self, minimum: impl Into<f64>) -> Param {
        self.minimum = Some(minimum.into());
        self
    }

    /// Inclusive upper bound of a number.
    pub fn max(mut self, maximum: impl Into<f64>) -> Param {
        self.maximum = Some(maximum.into());
        self
    }

    /// Milliseconds the call spends (a window, a wait): at most the call's deadline less a
    /// tenth, whatever deadline the host sets. It needs [`Config::timeout_ms`], the
    /// deadline asked for, which the contract's marker is: a maximum equal to it.
    pub fn within_deadline(mut self) -> Param {
        self.within_deadline = true;
        self
    }

    /// Minimum length of a string or items of an array.
    pub fn min_length(mut self, length: u32) -> Param {
        self.min_length = Some(length);
        self
    }

    /// Maximum length of a string or items of an array.
    pub fn max_length(mut self, length: u32) -> Param {
        self.max_length = Some(length);
        self
    }

    /// An ECMA-262 regular expression a string must match.
    pub fn pattern(mut self, pattern: &str) -> Param {
        self.pattern = Some(pattern.to_owned());
        self
    }

    /// The allowed values.
    pub fn one_of<V: Into<Value>>(mut self, values: impl IntoIterator<Item = V>) -> Param {
        self.one_of = values.into_iter().map(Into::into).collect();
        self
    }

    /// A secret (token, password): redacted from logs and audit records.
    pub fn sensitive(mut self) -> Param {
        self.sensitive = true;
        self
    }

    /// The parameter as the contract declares it, `timeout_ms` being the operation's hint.
    fn into_wit(self, timeout_ms: Option<u32>) -> wit::Param {
        let maximum = match (self.within_deadline, timeout_ms) {
            (true, Some(hint)) => Some(f64::from(hint)),
            _ => self.maximum,
        };
        wit::Param {
            required: self.required || self.location == wit::ParamLocation::Path,
            name: self.name,
            location: self.location,
            type_: self.ty.into_wit(),
            items: self.items.map(ParamType::into_wit),
            default: self.default.map(|value| value.to_string()),
            description: self.description,
            constraints: wit::Constraints {
                minimum: self.minimum,
                maximum,
                min_length: self.min_length,
                max_length: self.max_length,
                pattern: self.pattern,
                one_of: self.one_of.iter().map(Value::to_string).collect(),
            },
            sensitive: self.sensitive,
        }
    }
}
