//! Built-in operation `detect_bottlenecks`: processes that do not keep up with their work.

use arsenal_sdk::page;
use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct DetectBottlenecks;

impl Operation for DetectBottlenecks {
    fn config() -> Config {
        Config::get("detect_bottlenecks", "/api/v1/system/bottlenecks")
            .category(Category::System)
            .summary("Find processes that do not keep up")
            .description(
                "Flags processes with a backlog (at least `min_queue` messages queued), a \
                 nearly full mailbox, a high share of their life spent handling messages, \
                 messages queued while suspended, or messages queued while blocked in a call. \
                 Ranked by a score summing the signals, highest first.",
            )
            .param(
                Param::query("min_queue")
                    .integer()
                    .min(1)
                    .max(1_000_000)
                    .default(10),
            )
            .param(
                Param::query("busy_ratio")
                    .number()
                    .min(0.01)
                    .max(1.0)
                    .default(0.5)
                    .describe("Share of its lifetime spent handling messages that counts as busy"),
            )
            .param(page::limit_param(20, 1000))
            .response_schema(json!({
                "type": "object",
                "required": ["scanned", "bottlenecks"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let min_queue: u32 = request.param("min_queue")?;
        let busy_ratio: f64 = request.param("busy_ratio")?;
        let limit: usize = request.param("limit")?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let all = processes::list();
        let mut found: Vec<(f64, Value)> = Vec::new();
        for info in &all {
            let mut reasons = Vec::new();
            let mut score = 0.0;
            let fill = info.mailbox_len as f64 / info.mailbox_capacity.max(1) as f64;
            if info.mailbox_len >= min_queue {
                reasons.push(format!("{} messages queued", info.mailbox_len));
                score += 1.0 + fill;
            }
            if fill >= 0.8 {
                reasons.push(format!("mailbox {:.0}% full", fill * 100.0));
                score += 1.0;
            }
            let age_ms = now_ms.saturating_sub(info.started_unix_ms).max(1);
            let busy = info.busy_ms as f64 / age_ms as f64;
            if busy >= busy_ratio {
                reasons.push(format!("busy {:.0}% of its life", busy * 100.0));
                score += busy;
            }
            if info.status == "suspended" && info.mailbox_len > 0 {
                reasons.push("suspended with messages queued".to_owned());
                score += 1.0;
            }
            if let Some(callee) = info.waiting_on.as_ref().filter(|_| info.mailbox_len > 0) {
                reasons.push(format!("blocked calling {callee} with messages queued"));
                score += 1.0;
            }
            if reasons.is_empty() {
                continue;
            }
            found.push((
                score,
                json!({
                    "pid": info.pid,
                    "name": info.name,
                    "worker": info.worker,
                    "status": info.status,
                    "mailbox_len": info.mailbox_len,
                    "mailbox_capacity": info.mailbox_capacity,
                    "busy_ratio": busy,
                    "waiting_on": info.waiting_on,
                    "score": score,
                    "reasons": reasons,
                }),
            ));
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        let total = found.len();
        let bottlenecks: Vec<Value> = found.into_iter().take(limit).map(|(_, v)| v).collect();
        Ok(json!({ "scanned": all.len(), "total": total, "bottlenecks": bottlenecks }))
    }
}

arsenal_sdk::export!(DetectBottlenecks);
