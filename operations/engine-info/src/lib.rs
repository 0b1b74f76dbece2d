//! Built-in operation `engine_info`: the wasm engine, its limits and its load.

use arsenal_sdk::prelude::*;
use arsenal_sdk::system;

struct EngineInfo;

impl Operation for EngineInfo {
    fn config() -> Config {
        Config::get("engine_info", "/api/v1/system/engine")
            .category(Category::System)
            .summary("Wasm engine facts and limits")
            .description(
                "Wasmtime version, accepted contract versions, pooling and pagemap_scan \
                 support, instance cap and use, default per-call limits, loaded operations.",
            )
            .response_schema(json!({
                "type": "object",
                "required": ["wasmtime_version", "contract_versions", "pooling", "pagemap_scan",
                             "max_instances", "instances_in_use", "default_memory_mib",
                             "default_timeout_ms", "operations_loaded"],
                "properties": {
                    "wasmtime_version": { "type": "string" },
                    "contract_versions": { "type": "array", "items": { "type": "string" } },
                    "pooling": { "type": "boolean" },
                    "pagemap_scan": { "type": "boolean" },
                    "max_instances": { "type": "integer", "minimum": 1 },
                    "instances_in_use": { "type": "integer", "minimum": 0 },
                    "default_memory_mib": { "type": "integer", "minimum": 1 },
                    "default_timeout_ms": { "type": "integer", "minimum": 1 },
                    "operations_loaded": { "type": "integer", "minimum": 0 }
                }
            }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let info = system::engine_info();
        Ok(json!({
            "wasmtime_version": info.wasmtime_version,
            "contract_versions": info.contract_versions,
            "pooling": info.pooling,
            "pagemap_scan": info.pagemap_scan,
            "max_instances": info.max_instances,
            "instances_in_use": info.instances_in_use,
            "default_memory_mib": info.default_memory_mib,
            "default_timeout_ms": info.default_timeout_ms,
            "operations_loaded": info.operations_loaded,
        }))
    }
}

arsenal_sdk::export!(EngineInfo);
