//! Structural checks of a component's bytes before anything is compiled: is it wasm, is
//! it a component (not a core module nor a precompiled artifact), which contract version
//! does it export (or is it a `wasi:http` handler), and what does it import. Parsing the top-level sections is cheap, so a
//! bad upload is refused without spending a compilation on it.

use wasmparser::{Encoding, Parser, Payload};

use crate::policy::CONTRACT_VERSIONS;

/// The interface every operation exports, without version.
pub const HANDLER_INTERFACE: &str = "arsenal:operation/handler";

/// The interface an operation with an asynchronous `execute` exports, without version.
pub const ASYNC_HANDLER_INTERFACE: &str = "arsenal:operation/async-handler";

/// The interface a `wasi:http` 0.2 handler exports, without version (0.2.x is served).
pub const HTTP_HANDLER_INTERFACE: &str = "wasi:http/incoming-handler";

/// The interface a `wasi:http` 0.3 handler exports (the `service` world), without version.
pub const HTTP_SERVICE_INTERFACE: &str = "wasi:http/handler";

/// The describe-only interface an HTTP handler may export to name its own route.
pub const DESCRIBE_INTERFACE: &str = "arsenal:operation/describe";

/// The custom section holding the route an operator declared for an HTTP handler
/// (`spec::DeclaredRoute`, as JSON), appended to the component's bytes when it is loaded.
pub const ROUTE_SECTION: &str = "arsenal:route";

/// What the top level of a component declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentShape {
    /// Every top-level import name.
    pub imports: Vec<String>,
    /// Every top-level export name.
    pub exports: Vec<String>,
    /// The payload of the last top-level [`ROUTE_SECTION`], if there is one.
    pub route: Option<Vec<u8>>,
}

/// How the host calls an operation component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `arsenal:operation/handler` (describe/execute) at this contract version.
    Contract(String),
    /// `arsenal:operation/async-handler` (describe, async execute) at this version.
    AsyncContract(String),
    /// `wasi:http/incoming-handler@0.2.x` or `wasi:http/handler@0.3.x`, exported under
    /// `export` (the full name).
    HttpHandler {
        export: String,
        world: HttpWorld,
        /// The version of its `arsenal:operation/describe` export, if it has one.
        describe: Option<String>,
    },
}

/// Which `wasi:http` world a handler implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpWorld {
    /// WASI 0.2's `proxy`: `incoming-handler.handle(request, response-outparam)`.
    Proxy,
    /// WASI 0.3's `service`: `handler.handle: async func(request) -> result<response>`.
    Service,
}

/// Why bytes are not a usable operation component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("not a WebAssembly binary")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component (build for wasm32-wasip2 or run `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("a precompiled artifact; upload the component itself, the host compiles it")]
    Precompiled,
    #[error("malformed component: {0}")]
    Malformed(String),
    #[error(
        "the component exports neither `{HANDLER_INTERFACE}` nor `{HTTP_HANDLER_INTERFACE}@0.2.x` nor `{HTTP_SERVICE_INTERFACE}@0.3.x`"
    )]
    NoHandler,
    #[error(
        "the component was built against contract version {found}; this host supports {}",
        CONTRACT_VERSIONS.join(", ")
    )]
    UnsupportedContract { found: String },
}

impl ComponentShape {
    /// Read the top-level imports and exports of `bytes`.
    pub fn read(bytes: &[u8]) -> Result<ComponentShape, ShapeError> {
        if wasmtime::Engine::detect_precompiled(bytes).is_some() {
            return Err(ShapeError::Precompiled);
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(ShapeError::NotWasm);
        }
        let mut shape = ComponentShape {
            imports: Vec::new(),
            exports: Vec::new(),
            route: None,
        };
        // Nested modules and components have their own imports and exports; only depth 0
        // (the component's outer interface) matters here.
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(|error| ShapeError::Malformed(error.message().to_owned()))? {
                Payload::Version {
                    encoding: Encoding::Module,
                    ..
                } if depth == 0 => {
                    return Err(ShapeError::CoreModule);
                }
                Payload::Version { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentImportSection(reader) if depth == 1 => {
                    for import in reader {
                        let import = import
                            .map_err(|error| ShapeError::Malformed(error.message().to_owned()))?;
                        shape.imports.push(import.name.0.to_owned());
                    }
                }
                Payload::ComponentExportSection(reader) if depth == 1 => {
                    for export in reader {
                        let export = export
                            .map_err(|error| ShapeError::Malformed(error.message().to_owned()))?;
                        shape.exports.push(export.name.0.to_owned());
                    }
                }
                Payload::CustomSection(section)
                    if depth == 1 && section.name() == ROUTE_SECTION =>
                {
                    shape.route = Some(section.data().to_vec());
                }
                _ => {}
            }
        }
        Ok(shape)
    }

    /// How the component is called: Arsenal's own contract when it exports it, else a
    /// `wasi:http` 0.2 or 0.3 handler.
    pub fn entry(&self) -> Result<Entry, ShapeError> {
        match self.contract_version() {
            Ok(version) if self.is_async() => return Ok(Entry::AsyncContract(version.to_owned())),
            Ok(version) => return Ok(Entry::Contract(version.to_owned())),
            Err(ShapeError::NoHandler) => {}
            Err(other) => return Err(other),
        }
        let (export, world) = self
            .exports
            .iter()
            .find_map(|export| {
                let world = if is_version_of(export, HTTP_HANDLER_INTERFACE, "0.2.") {
                    HttpWorld::Proxy
                } else if is_version_of(export, HTTP_SERVICE_INTERFACE, "0.3.") {
                    HttpWorld::Service
                } else {
                    return None;
                };
                Some((export, world))
            })
            .ok_or(ShapeError::NoHandler)?;
        let describe = self
            .exports
            .iter()
            .find_map(|export| export.strip_prefix(DESCRIBE_INTERFACE)?.strip_prefix('@'));
        if let Some(version) = describe
            && !CONTRACT_VERSIONS.contains(&version)
        {
            return Err(ShapeError::UnsupportedContract {
                found: version.to_owned(),
            });
        }
        Ok(Entry::HttpHandler {
            export: export.clone(),
            world,
            describe: describe.map(str::to_owned),
        })
    }

    /// Whether it is called with component-model async: it exports the asynchronous
    /// contract (`arsenal:operation/async-handler`) or a WASI 0.3 `wasi:http/handler`.
    pub fn is_async(&self) -> bool {
        self.exports.iter().any(|export| {
            is_version_of(export, ASYNC_HANDLER_INTERFACE, "")
                || is_version_of(export, HTTP_SERVICE_INTERFACE, "0.3.")
        })
    }

    /// The contract version of the exported handler (synchronous or asynchronous),
    /// checked against the supported ones.
    pub fn contract_version(&self) -> Result<&str, ShapeError> {
        let version = self
            .exports
            .iter()
            .find_map(|export| {
                export
                    .strip_prefix(HANDLER_INTERFACE)
                    .or_else(|| export.strip_prefix(ASYNC_HANDLER_INTERFACE))?
                    .strip_prefix('@')
            })
            .ok_or(ShapeError::NoHandler)?;
        if CONTRACT_VERSIONS.contains(&version) {
            Ok(version)
        } else {
            Err(ShapeError::UnsupportedContract {
                found: version.to_owned(),
            })
        }
    }
}

/// Whether `export` is `interface` at a version starting with `version`.
fn is_version_of(export: &str, interface: &str, version: &str) -> bool {
    export
        .strip_prefix(interface)
        .and_then(|rest| rest.strip_prefix('@'))
        .is_some_and(|rest| rest.starts_with(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_bytes_are_refused() {
        assert_eq!(ComponentShape::read(b"hello"), Err(ShapeError::NotWasm));
        assert!(matches!(
            ComponentShape::read(b"\0asm\x0d\x00\x01\x00\x07"),
            Err(ShapeError::Malformed(_))
        ));
    }

    #[test]
    fn a_core_module_is_not_a_component() {
        assert_eq!(
            ComponentShape::read(b"\0asm\x01\x00\x00\x00"),
            Err(ShapeError::CoreModule)
        );
    }

    #[test]
    fn contract_version_comes_from_the_handler_export() {
        let shape = |export: &str| ComponentShape {
            imports: vec![],
            exports: vec![export.to_owned()],
            route: None,
        };
        assert_eq!(
            shape("arsenal:operation/handler@0.1.0").contract_version(),
            Ok("0.1.0")
        );
        assert_eq!(
            shape("arsenal:operation/handler@0.9.0").contract_version(),
            Err(ShapeError::UnsupportedContract {
                found: "0.9.0".into()
            })
        );
        assert_eq!(
            shape("other:thing/handler@0.1.0").contract_version(),
            Err(ShapeError::NoHandler)
        );
    }

    #[test]
    fn an_http_handler_is_an_entry_of_its_own() {
        let shape = |exports: &[&str]| ComponentShape {
            imports: vec![],
            exports: exports.iter().map(|export| (*export).to_owned()).collect(),
            route: None,
        };
        assert_eq!(
            shape(&["wasi:http/incoming-handler@0.2.12"]).entry(),
            Ok(Entry::HttpHandler {
                export: "wasi:http/incoming-handler@0.2.12".into(),
                world: HttpWorld::Proxy,
                describe: None
            })
        );
        assert_eq!(
            shape(&[
                "arsenal:operation/describe@0.2.0",
                "wasi:http/incoming-handler@0.2.0"
            ])
            .entry(),
            Ok(Entry::HttpHandler {
                export: "wasi:http/incoming-handler@0.2.0".into(),
                world: HttpWorld::Proxy,
                describe: Some("0.2.0".into())
            })
        );
        assert_eq!(
            shape(&["wasi:http/incoming-handler@0.3.0"]).entry(),
            Err(ShapeError::NoHandler)
        );
        let service = shape(&["wasi:http/handler@0.3.0"]);
        assert_eq!(
            service.entry(),
            Ok(Entry::HttpHandler {
                export: "wasi:http/handler@0.3.0".into(),
                world: HttpWorld::Service,
                describe: None
            })
        );
        assert!(service.is_async());
        assert_eq!(
            shape(&["wasi:http/handler@0.2.0"]).entry(),
            Err(ShapeError::NoHandler)
        );
        assert_eq!(
            shape(&["arsenal:operation/handler@0.2.0"]).entry(),
            Ok(Entry::Contract("0.2.0".into()))
        );
    }
}
