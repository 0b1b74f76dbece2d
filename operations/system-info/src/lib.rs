//! Built-in operation `system_info`: the host process and the machine it runs on.

use arsenal_sdk::prelude::*;
use arsenal_sdk::system;

struct SystemInfo;

impl Operation for SystemInfo {
    fn config() -> Config {
        Config::get("system_info", "/api/v1/system/info")
            .category(Category::System)
            .summary("Host and machine facts")
            .description("Version, node, OS, CPUs, uptime, memory and load of the Arsenal host.")
            .response_schema(json!({
                "type": "object",
                "required": ["version", "node", "hostname", "os", "arch", "cpus", "uptime_seconds",
                             "pid", "rss_bytes", "memory_total_bytes", "memory_available_bytes",
                             "load_average"],
                "properties": {
                    "version": { "type": "string" },
                    "node": { "type": "string" },
                    "hostname": { "type": "string" },
                    "os": { "type": "string" },
                    "arch": { "type": "string" },
                    "cpus": { "type": "integer", "minimum": 1 },
                    "uptime_seconds": { "type": "integer", "minimum": 0 },
                    "pid": { "type": "integer" },
                    "rss_bytes": { "type": "integer", "minimum": 0 },
                    "memory_total_bytes": { "type": "integer", "minimum": 0 },
                    "memory_available_bytes": { "type": "integer", "minimum": 0 },
                    "load_average": { "type": "array", "items": { "type": "number" }, "maxItems": 3 }
                }
            }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let info = system::host_info();
        Ok(json!({
            "version": info.version,
            "node": info.node,
            "hostname": info.hostname,
            "os": info.os,
            "arch": info.arch,
            "cpus": info.cpus,
            "uptime_seconds": info.uptime_seconds,
            "pid": info.pid,
            "rss_bytes": info.rss_bytes,
            "memory_total_bytes": info.memory_total_bytes,
            "memory_available_bytes": info.memory_available_bytes,
            "load_average": info.load_average,
        }))
    }
}

arsenal_sdk::export!(SystemInfo);
