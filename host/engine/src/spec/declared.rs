//! The route an operator declares for a `wasi:http` handler that does not describe
//! itself: name, method, path template and, optionally, its parameters and listing text.
//! It travels inside the component's bytes, as a custom section appended when the
//! operator loads it, so the stored upload, its content hash, the cluster's copy and the
//! replay at start all carry the route with the code.

use serde::{Deserialize, Serialize};

use super::{Location, ParamType, RawConfig, RawParam};
use crate::inspect::ROUTE_SECTION;

/// An operator's declaration of a handler's route, as the configuration file and the
/// admin API take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredRoute {
    /// The operation's name (`snake_case`).
    pub name: String,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The path template, `:name` for a parameter segment (`/hello/:who`).
    pub path: String,
    /// The operation's own version, shown in `x-operation-version`. Default `0.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Catalogue category. Default `http`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Path and query parameters the host validates before the handler runs. A path
    /// segment with no parameter declared is a required string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<DeclaredParam>,
    /// Let query parameters beyond the declared ones through. Default true: a handler
    /// reads its own query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_params: Option<bool>,
}

/// One declared parameter of a handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredParam {
    pub name: String,
    /// `path` or `query` (a handler reads its own body).
    #[serde(rename = "in")]
    pub location: Location,
    #[serde(rename = "type", default = "string_type")]
    pub ty: ParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<ParamType>,
    #[serde(default)]
    pub required: bool,
    /// The default value as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    #[serde(default)]
    pub sensitive: bool,
}

fn string_type() -> ParamType {
    ParamType::String
}

/// Why a declared route section cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("the `{ROUTE_SECTION}` section is not a declared route: {0}")]
pub struct SectionError(#[source] serde_json::Error);

impl DeclaredRoute {
    /// The config this declaration stands for, parsed by `OperationSpec::parse` like any
    /// component's own.
    pub fn to_raw_config(&self) -> RawConfig {
        let mut params: Vec<RawParam> = self.params.iter().map(DeclaredParam::to_raw).collect();
        for segment in self.path.split('/') {
            if let Some(name) = segment.strip_prefix(':')
                && !params.iter().any(|param| param.name == name)
            {
                params.push(RawParam::new(name, Location::Path, ParamType::String));
            }
        }
        let mut raw = RawConfig::new(&self.name, &self.method, &self.path, params);
        if let Some(version) = &self.version {
            raw.version = version.clone();
        }
        raw.category = self.category.clone().unwrap_or_else(|| "http".to_owned());
        raw.summary = self.summary.clone();
        raw.description = self.description.clone();
        raw.additional_params = self.additional_params.unwrap_or(true);
        raw
    }

    /// `bytes` (a component) with this declaration appended as its route section. A
    /// component holds at most one: one it already has is dropped (it is always the last
    /// top-level section, as this appends it).
    pub fn attach(&self, bytes: &[u8]) -> Vec<u8> {
        let bytes = without_route_section(bytes);
        let payload = serde_json::to_vec(self).expect("a declared route serializes");
        let mut out = bytes.to_vec();
        wasm_encoder::Section::append_to(
            &wasm_encoder::CustomSection {
                name: ROUTE_SECTION.into(),
                data: payload.into(),
            },
            &mut out,
        );
        out
    }

    /// Read a route section's payload.
    pub fn from_section(payload: &[u8]) -> Result<DeclaredRoute, SectionError> {
        serde_json::from_slice(payload).map_err(SectionError)
    }
}

impl DeclaredParam {
    fn to_raw(&self) -> RawParam {
        RawParam {
            name: self.name.clone(),
            location: self.location,
            ty: self.ty,
            items: self.items,
            required: self.required || self.location == Location::Path,
            default: self.default.clone(),
            description: self.description.clone(),
            minimum: self.minimum,
            maximum: self.maximum,
            min_length: self.min_length,
            max_length: self.max_length,
            pattern: self.pattern.clone(),
            one_of: self.one_of.clone(),
            sensitive: self.sensitive,
        }
    }
}

/// `bytes` without a trailing route section (one that [`DeclaredRoute::attach`] added).
fn without_route_section(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    let parser = wasmparser::Parser::new(0);
    let mut depth = 0usize;
    for payload in parser.parse_all(bytes) {
        match payload {
            Ok(wasmparser::Payload::Version { .. }) => depth += 1,
            Ok(wasmparser::Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(wasmparser::Payload::CustomSection(section))
                if depth == 1 && section.name() == ROUTE_SECTION =>
            {
                if section.range().end == bytes.len() {
                    end = section_start(bytes, section.range().start);
                }
            }
            Ok(_) => {}
            Err(_) => return bytes,
        }
    }
    &bytes[..end]
}

/// Where the section whose content begins at `content_start` begins: its id byte, then
/// its size as LEB128 ending just before the content.
fn section_start(bytes: &[u8], content_start: usize) -> usize {
    // The size's last byte has its high bit clear; the bytes before it have it set.
    let mut at = content_start - 1;
    while at > 0 && bytes[at - 1] & 0x80 != 0 {
        at -= 1;
    }
    at - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::ComponentShape;

    /// The smallest component: the magic number and the component layer's version.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    fn route(path: &str) -> DeclaredRoute {
        DeclaredRoute {
            name: "hello".into(),
            method: "GET".into(),
            path: path.into(),
            version: None,
            category: None,
            summary: String::new(),
            description: String::new(),
            params: Vec::new(),
            additional_params: None,
        }
    }

    #[test]
    fn an_attached_route_is_read_back_and_replaced_by_the_next() {
        let once = route("/hello/:who").attach(EMPTY_COMPONENT);
        let shape = ComponentShape::read(&once).expect("still a component");
        let read = DeclaredRoute::from_section(&shape.route.expect("a route section"))
            .expect("the route reads back");
        assert_eq!(read, route("/hello/:who"));

        let twice = route("/bye").attach(&once);
        assert_eq!(twice, route("/bye").attach(EMPTY_COMPONENT));
        let shape = ComponentShape::read(&twice).expect("still a component");
        let read = DeclaredRoute::from_section(&shape.route.expect("a route section"))
            .expect("the route reads back");
        assert_eq!(read, route("/bye"));
    }

    #[test]
    fn undeclared_path_segments_are_string_parameters() {
        let raw = route("/hello/:who").to_raw_config();
        assert_eq!(raw.params.len(), 1);
        assert_eq!(raw.params[0].name, "who");
        assert_eq!(raw.params[0].location, Location::Path);
        assert!(raw.additional_params);
        assert_eq!(raw.category, "http");
    }
}
