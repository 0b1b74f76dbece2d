//! Parameter decoding and validation: path, query and JSON body merged into one object,
//! text coerced to the declared types, defaults applied, unknown parameters refused, and
//! the result checked against a JSON Schema compiled once per operation (`jsonschema`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::spec::{Location, OperationSpec, ParamSpec, ParamType};

/// One rejected field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The parameter (or JSON pointer inside it, e.g. `meta/limit`).
    pub field: String,
    pub message: String,
}

/// Parameters that failed validation, every field reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("validate the parameters: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationError(pub Vec<FieldError>);

/// Raw inputs of one HTTP request.
#[derive(Debug, Default)]
pub struct RawInput {
    /// Path parameters by name, percent-decoded.
    pub path: Vec<(String, String)>,
    /// Query pairs in order; a key may repeat.
    pub query: Vec<(String, String)>,
    /// The JSON body's fields, if there was a body.
    pub body: Map<String, Value>,
}

/// The compiled validator of one operation's parameters.
#[derive(Debug)]
pub struct ParamValidator {
    params: Vec<ParamSpec>,
    additional: bool,
    /// GET and DELETE take no body parameters.
    accepts_body: bool,
    validator: jsonschema::Validator,
}

impl ParamValidator {
    /// Compile the schema of `spec`'s parameters. The spec is already validated, so its
    /// schema compiles; a failure here is a host bug.
    pub fn compile(spec: &OperationSpec) -> ParamValidator {
        let schema = object_schema(&spec.params, spec.additional_params);
        let validator =
            jsonschema::validator_for(&schema).expect("a validated spec's schema compiles");
        ParamValidator {
            params: spec.params.clone(),
            additional: spec.additional_params,
            accepts_body: !matches!(spec.method, http::Method::GET | http::Method::DELETE),
            validator,
        }
    }

    /// Decode an HTTP request's parameters: each declared parameter only from its own
    /// location.
    pub fn from_http(&self, input: RawInput) -> Result<Map<String, Value>, ValidationError> {
        let mut errors = Vec::new();
        let mut params = Map::new();
        for (name, value) in input.path {
            let ty = self.declared(&name).map(|param| (param.ty, param.items));
            params.insert(name, coerce_text(&value, ty));
        }
        let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in input.query {
            query.entry(key).or_default().push(value);
        }
        for (key, values) in query {
            match self.declared(&key) {
                Some(param)
                    if param.location == Location::Query
                        && param.ty != ParamType::Array
                        && values.len() > 1 =>
                {
                    errors.push(FieldError {
                        field: key,
                        message: format!("given {} times; expected one value", values.len()),
                    });
                }
                Some(param) if param.location == Location::Query => {
                    params.insert(key, coerce_query(values, param.ty, param.items));
                }
                Some(param) => errors.push(misplaced(&key, param.location, Location::Query)),
                None if self.additional => {
                    let value = if values.len() == 1 {
                        Value::String(values.into_iter().next().expect("one value"))
                    } else {
                        Value::Array(values.into_iter().map(Value::String).collect())
                    };
                    params.insert(key, value);
                }
                None => errors.push(unknown(&key)),
            }
        }
        for (key, value) in input.body {
            if !self.accepts_body {
                errors.push(FieldError {
                    field: key,
                    message: "this operation takes no body parameters".to_owned(),
                });
                continue;
            }
            match self.declared(&key) {
                Some(param) if param.location == Location::Body => {
                    params.insert(key, coerce_json(value, param.ty, param.items));
                }
                Some(param) => errors.push(misplaced(&key, param.location, Location::Body)),
                None if self.additional && !params.contains_key(&key) => {
                    params.insert(key, value);
                }
                None if self.additional => errors.push(FieldError {
                    field: key,
                    message: "sent both in the query and in the body".to_owned(),
                }),
                None => errors.push(unknown(&key)),
            }
        }
        self.finish(params, errors)
    }

    /// Decode parameters given as one JSON object (`POST /api/v1/operations/{name}/execute`
    /// and `arsenal call`), whatever their declared location.
    pub fn from_json(
        &self,
        object: Map<String, Value>,
    ) -> Result<Map<String, Value>, ValidationError> {
        let mut errors = Vec::new();
        let mut params = Map::new();
        for (key, value) in object {
            match self.declared(&key) {
                Some(param) => {
                    params.insert(key, coerce_json(value, param.ty, param.items));
                }
                None if self.additional => {
                    params.insert(key, value);
                }
                None => errors.push(unknown(&key)),
            }
        }
        self.finish(params, errors)
    }

    fn declared(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|param| param.name == name)
    }

    fn finish(
        &self,
        mut params: Map<String, Value>,
        mut errors: Vec<FieldError>,
    ) -> Result<Map<String, Value>, ValidationError> {
        for param in &self.params {
            if !params.contains_key(&param.name)
                && let Some(default) = &param.default
            {
                params.insert(param.name.clone(), default.clone());
            }
        }
        for param in &self.params {
            if let Some(value) = params.get(&param.name)
                && out_of_integer_range(value, param.ty, param.items)
            {
                errors.push(FieldError {
                    field: param.name.clone(),
                    message: "integers must fit in 64 bits".to_owned(),
                });
            }
        }
        let instance = Value::Object(params);
        // The common case, a valid call, asks the validator only yes or no: collecting
        // errors walks the schema building an iterator per keyword.
        if errors.is_empty() && self.validator.is_valid(&instance) {
            let Value::Object(params) = instance else {
                unreachable!("built as an object")
            };
            return Ok(params);
        }
        for error in self.validator.iter_errors(&instance) {
            let field = match error.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => property
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| property.to_string()),
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    errors.extend(unexpected.iter().map(|name| unknown(name)));
                    continue;
                }
                _ => error
                    .instance_path()
                    .as_str()
                    .trim_start_matches('/')
                    .to_owned(),
            };
            // A parameter sent in the wrong place is already reported; "missing" would
            // only repeat it.
            let already_reported = errors.iter().any(|reported| reported.field == field);
            if already_reported
                && matches!(
                    error.kind(),
                    jsonschema::error::ValidationErrorKind::Required { .. }
                )
            {
                continue;
            }
            let message = match error.kind() {
                jsonschema::error::ValidationErrorKind::Required { .. } => {
                    "required parameter is missing".to_owned()
                }
                _ => error.to_string(),
            };
            errors.push(FieldError { field, message });
        }
        if errors.is_empty() {
            let Value::Object(params) = instance else {
                unreachable!("built as an object")
            };
            Ok(params)
        } else {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            errors.dedup();
            Err(ValidationError(errors))
        }
    }
}

/// The schema of the parameter object.
pub fn object_schema(params: &[ParamSpec], additional: bool) -> Value {
    let properties: Map<String, Value> = params
        .iter()
        .map(|param| (param.name.clone(), param.schema()))
        .collect();
    let required: Vec<Value> = params
        .iter()
        .filter(|param| param.required)
        .map(|param| Value::String(param.name.clone()))
        .collect();
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": additional,
    })
}

fn unknown(name: &str) -> FieldError {
    FieldError {
        field: name.to_owned(),
        message: "unknown parameter".to_owned(),
    }
}

fn misplaced(name: &str, declared: Location, found: Location) -> FieldError {
    let label = |location| match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Body => "body",
    };
    FieldError {
        field: name.to_owned(),
        message: format!(
            "a {} parameter, sent in the {}",
            label(declared),
            label(found)
        ),
    }
}

/// Query values: several values (or one comma-separated value) form an array.
fn coerce_query(values: Vec<String>, ty: ParamType, items: Option<ParamType>) -> Value {
    if ty == ParamType::Array {
        let parts: Vec<&str> = if values.len() == 1 {
            if values[0].is_empty() {
                Vec::new()
            } else {
                values[0].split(',').collect()
            }
        } else {
            values.iter().map(String::as_str).collect()
        };
        return Value::Array(
            parts
                .into_iter()
                .map(|part| coerce_text(part, items.map(|ty| (ty, None))))
                .collect(),
        );
    }
    match values.as_slice() {
        [one] => coerce_text(one, Some((ty, items))),
        _ => Value::Array(values.into_iter().map(Value::String).collect()),
    }
}

/// Text from a path or query, converted to the declared type where it parses; otherwise
/// left as a string so the schema reports the type mismatch for the field.
fn coerce_text(text: &str, ty: Option<(ParamType, Option<ParamType>)>) -> Value {
    let parsed = match ty.map(|(ty, _)| ty) {
        Some(ParamType::Integer) => text.parse::<i64>().ok().map(Value::from),
        Some(ParamType::Number) => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::from),
        Some(ParamType::Boolean) => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Some(ParamType::Object) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object),
        Some(ParamType::Array) => {
            let items = ty.and_then(|(_, items)| items);
            Some(coerce_query(vec![text.to_owned()], ParamType::Array, items))
        }
        Some(ParamType::String) | None => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// JSON values keep their type; a string given for a non-string parameter is coerced as
/// text would be (so `arsenal call op limit=5` works).
fn coerce_json(value: Value, ty: ParamType, items: Option<ParamType>) -> Value {
    match value {
        Value::Number(number) if ty == ParamType::Integer => Value::Number(whole(number)),
        Value::String(text) if ty != ParamType::String => coerce_text(&text, Some((ty, items))),
        Value::Array(values) if ty == ParamType::Array => Value::Array(
            values
                .into_iter()
                .map(|value| match (value, items) {
                    (Value::String(text), Some(items)) if items != ParamType::String => {
                        coerce_text(&text, Some((items, None)))
                    }
                    (Value::Number(number), Some(ParamType::Integer)) => {
                        Value::Number(whole(number))
                    }
                    (value, _) => value,
                })
                .collect(),
        ),
        value => value,
    }
}

/// JSON Schema counts `2.0` and `1e2` as integers; the operation should receive them as
/// integers too. Whole numbers beyond 64 bits stay floats and are refused by
/// [`out_of_integer_range`].
fn whole(number: serde_json::Number) -> serde_json::Number {
    match number.as_f64() {
        Some(float)
            if !number.is_i64()
                && !number.is_u64()
                && float.fract() == 0.0
                && float.abs() < 9.2e18 =>
        {
            serde_json::Number::from(float as i64)
        }
        _ => number,
    }
}

/// A whole number that did not fit in 64 bits (fractions are the schema's to report).
fn out_of_integer_range(value: &Value, ty: ParamType, items: Option<ParamType>) -> bool {
    let too_big = |value: &Value| {
        value
            .as_f64()
            .is_some_and(|f| value.is_f64() && f.fract() == 0.0)
    };
    match (ty, value) {
        (ParamType::Integer, value) => too_big(value),
        (ParamType::Array, Value::Array(values)) if items == Some(ParamType::Integer) => {
            values.iter().any(too_big)
        }
        _ => false,
    }
}

/// Whether `bytes` (JSON text) nests arrays and objects deeper than `max`. Checked before
/// parsing, so a hostile body never reaches a recursive parser.
pub fn exceeds_depth(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{RawConfig, RawParam};

    fn param(name: &str, location: Location, ty: ParamType) -> RawParam {
        RawParam::new(name, location, ty)
    }

    fn validator(params: Vec<RawParam>, additional: bool) -> ParamValidator {
        let raw = RawConfig {
            additional_params: additional,
            ..RawConfig::new("op", "POST", "/api/v1/op/:id", params)
        };
        ParamValidator::compile(&OperationSpec::parse(&raw).unwrap())
    }

    fn typed() -> ParamValidator {
        let mut id = param("id", Location::Path, ParamType::Integer);
        id.required = true;
        id.minimum = Some(1.0);
        let mut limit = param("limit", Location::Query, ParamType::Integer);
        limit.default = Some("10".into());
        limit.maximum = Some(100.0);
        let mut tags = param("tags", Location::Query, ParamType::Array);
        tags.items = Some(ParamType::Integer);
        let flag = param("flag", Location::Query, ParamType::Boolean);
        let mut name = param("name", Location::Body, ParamType::String);
        name.required = true;
        name.pattern = Some("^[a-z]+$".into());
        validator(vec![id, limit, tags, flag, name], false)
    }

    fn input(path: &[(&str, &str)], query: &[(&str, &str)], body: Value) -> RawInput {
        let pairs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        RawInput {
            path: pairs(path),
            query: pairs(query),
            body: body.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn text_is_coerced_and_defaults_applied() {
        let params = typed()
            .from_http(input(
                &[("id", "7")],
                &[("tags", "1,2"), ("flag", "true")],
                serde_json::json!({"name": "abc"}),
            ))
            .unwrap();
        assert_eq!(
            Value::Object(params),
            serde_json::json!({"id": 7, "limit": 10, "tags": [1, 2], "flag": true, "name": "abc"})
        );
    }

    #[test]
    fn repeated_query_keys_form_an_array() {
        let params = typed()
            .from_http(input(
                &[("id", "1")],
                &[("tags", "3"), ("tags", "4")],
                serde_json::json!({"name": "a"}),
            ))
            .unwrap();
        assert_eq!(params["tags"], serde_json::json!([3, 4]));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let error = typed()
            .from_http(input(
                &[("id", "zero")],
                &[("limit", "500"), ("bogus", "1"), ("name", "x")],
                serde_json::json!({}),
            ))
            .unwrap_err();
        let fields: Vec<_> = error
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(fields[0], ("bogus", "unknown parameter"));
        assert_eq!(fields[1].0, "id");
        assert!(
            fields[1].1.contains("is not of type \"integer\""),
            "{fields:?}"
        );
        assert_eq!(fields[2].0, "limit");
        assert!(fields[2].1.contains("maximum of 100"), "{fields:?}");
        assert_eq!(fields[3], ("name", "a body parameter, sent in the query"));
        assert_eq!(fields.len(), 4, "{fields:?}");
    }

    #[test]
    fn missing_required_parameter_is_named() {
        let error = typed()
            .from_http(input(&[("id", "1")], &[], serde_json::json!({})))
            .unwrap_err();
        assert_eq!(
            error.0,
            vec![FieldError {
                field: "name".into(),
                message: "required parameter is missing".into()
            }]
        );
    }

    #[test]
    fn additional_params_pass_through_as_text() {
        let validator = validator(
            vec![{
                let mut id = param("id", Location::Path, ParamType::String);
                id.required = true;
                id
            }],
            true,
        );
        let params = validator
            .from_http(input(
                &[("id", "x")],
                &[("a", "1"), ("b", "2"), ("b", "3")],
                Value::Null,
            ))
            .unwrap();
        assert_eq!(
            Value::Object(params),
            serde_json::json!({"id": "x", "a": "1", "b": ["2", "3"]})
        );
    }

    #[test]
    fn json_depth_is_counted_outside_strings() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(exceeds_depth(deep.as_bytes(), 64));
        let shallow = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(!exceeds_depth(shallow.as_bytes(), 64));
        assert!(!exceeds_depth(
            br#"{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"["}"#,
            2
        ));
    }
}
