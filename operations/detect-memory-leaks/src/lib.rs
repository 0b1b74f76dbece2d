//! Built-in operation `detect_memory_leaks`: processes whose memory keeps growing.

use arsenal_sdk::page;
use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct DetectMemoryLeaks;

impl Operation for DetectMemoryLeaks {
    fn config() -> Config {
        Config::get("detect_memory_leaks", "/api/v1/system/memory-leaks")
            .category(Category::System)
            .summary("Find processes whose memory keeps growing")
            .description(
                "The host samples each process's linear memory whenever it changes (the last \
                 16 samples). A process is suspect when its last `min_growths` samples each \
                 grew, with no hibernation between, by `min_growth_bytes` in total at least. \
                 Wasm memory never shrinks, so steady growth under a steady load is the sign \
                 of a leak.",
            )
            .param(
                Param::query("min_growths")
                    .integer()
                    .min(2)
                    .max(15)
                    .default(3),
            )
            .param(
                Param::query("min_growth_bytes")
                    .integer()
                    .min(1)
                    .default(65_536)
                    .describe("Total growth over those samples"),
            )
            .param(page::limit_param(20, 1000))
            .response_schema(json!({
                "type": "object",
                "required": ["suspects"],
                "properties": { "suspects": { "type": "array", "items": { "type": "object" } } }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let min_growths: usize = request.param("min_growths")?;
        let min_growth: u64 = request.param("min_growth_bytes")?;
        let limit: usize = request.param("limit")?;
        let histories = processes::memory_histories(min_growths as u32 + 1);
        let mut suspects: Vec<(u64, Value)> = Vec::new();
        for history in &histories {
            let recent = &history.samples[history.samples.len() - (min_growths + 1)..];
            let growing = recent
                .windows(2)
                .all(|pair| pair[0].1 > 0 && pair[1].1 > pair[0].1);
            let (first, last) = (recent[0], recent[recent.len() - 1]);
            let growth = last.1.saturating_sub(first.1);
            if !growing || growth < min_growth {
                continue;
            }
            let span_ms = last.0.saturating_sub(first.0).max(1);
            let info = processes::get(&history.pid).ok();
            suspects.push((
                growth,
                json!({
                    "pid": history.pid,
                    "name": info.as_ref().and_then(|info| info.name.clone()),
                    "worker": info.as_ref().map(|info| info.worker.clone()),
                    "memory_bytes": last.1,
                    "growth_bytes": growth,
                    "growths": min_growths,
                    "span_ms": span_ms,
                    "bytes_per_minute": growth as f64 * 60_000.0 / span_ms as f64,
                    "samples": recent.iter().map(|(at, bytes)| json!({ "at_unix_ms": at, "bytes": bytes })).collect::<Vec<_>>(),
                }),
            ));
        }
        suspects.sort_by(|a, b| b.0.cmp(&a.0));
        let suspects: Vec<Value> = suspects.into_iter().take(limit).map(|(_, v)| v).collect();
        Ok(json!({ "scanned": histories.len(), "suspects": suspects }))
    }
}

arsenal_sdk::export!(DetectMemoryLeaks);
