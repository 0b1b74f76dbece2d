//! Example operation: `GET /api/v1/probes` reports what the health prober worker keeps
//! in the shared bucket `probes` — the rounds probed and each target's last result —
//! under the title its configuration gives (`title`, through `wasi:config`).

use std::collections::BTreeMap;

use arsenal_sdk::keyvalue::Bucket;
use arsenal_sdk::prelude::*;

struct ProbeReport;

impl Operation for ProbeReport {
    fn config() -> Config {
        Config::get("probe_report", "/api/v1/probes")
            .category("observe")
            .summary("What the health prober found")
            .description(
                "The last result of each target the health prober worker probes, and the \
                 rounds it has probed, from the shared bucket `probes`.",
            )
            .bucket("probes")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let title = arsenal_sdk::variables::get("title")?.unwrap_or_else(|| "Health".to_owned());
        let bucket = Bucket::open("probes")?;
        let mut targets = BTreeMap::new();
        let mut rounds = 0_u64;
        for key in bucket.keys()? {
            let text = String::from_utf8_lossy(&bucket.get(&key)?.unwrap_or_default()).into_owned();
            if key == "rounds" {
                rounds = text.parse().unwrap_or(0);
            } else {
                let result: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                targets.insert(key, result);
            }
        }
        Ok(json!({ "title": title, "rounds": rounds, "targets": targets }))
    }
}

arsenal_sdk::export!(ProbeReport);
