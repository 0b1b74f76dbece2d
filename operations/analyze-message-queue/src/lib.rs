//! Built-in operation `analyze_message_queue`: what is queued for a process and whether it
//! keeps up.

use std::collections::BTreeMap;

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct AnalyzeMessageQueue;

/// Messages a mailbox can hold at most (the host's configured capacity is smaller).
const SCAN: u32 = 100_000;

impl Operation for AnalyzeMessageQueue {
    fn config() -> Config {
        Config::get(
            "analyze_message_queue",
            "/api/v1/processes/:pid/mailbox/analysis",
        )
        .category(Category::Messaging)
        .summary("Analyse a process's message queue")
        .description(
            "Counts the queued messages by kind, sender and payload, with the oldest wait, \
                 how full the mailbox is, the average handling time and an estimate of the time \
                 to drain it, and warnings (suspended with messages queued, nearly full, \
                 messages waiting long). Nothing is taken from the queue.",
        )
        .param(processes::target_param())
        .param(
            Param::query("top")
                .integer()
                .min(1)
                .max(100)
                .default(10)
                .describe("Senders and payloads listed"),
        )
        .response_schema(json!({
            "type": "object",
            "required": ["pid", "len", "capacity", "fill_ratio", "by_kind", "warnings"]
        }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let top: usize = request.param("top")?;
        let info = processes::get(&target)?;
        let mailbox = processes::mailbox(&info.pid, SCAN)?;
        let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_sender: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_payload: BTreeMap<String, u64> = BTreeMap::new();
        for message in &mailbox.messages {
            *by_kind.entry(message.kind.as_str()).or_default() += 1;
            *by_sender
                .entry(message.from.as_deref().unwrap_or("(operator)"))
                .or_default() += 1;
            let shape: String = message.payload.chars().take(64).collect();
            *by_payload.entry(shape).or_default() += 1;
        }
        let oldest_age_ms = mailbox.messages.iter().map(|m| m.age_ms).max().unwrap_or(0);
        let fill_ratio = mailbox.len as f64 / mailbox.capacity.max(1) as f64;
        let handled = info.messages_in.saturating_sub(mailbox.len as u64);
        let per_message_ms = (handled > 0).then(|| info.busy_ms as f64 / handled as f64);
        let mut warnings = Vec::new();
        if info.status == "suspended" && mailbox.len > 0 {
            warnings.push(format!(
                "suspended with {} messages queued: nothing is handled until it is resumed",
                mailbox.len
            ));
        }
        if fill_ratio >= 0.8 {
            warnings.push(format!(
                "the mailbox is {:.0}% full; senders are refused at {}",
                fill_ratio * 100.0,
                mailbox.capacity
            ));
        }
        if oldest_age_ms >= 1_000 {
            warnings.push(format!("the oldest message has waited {oldest_age_ms} ms"));
        }
        if info.waiting_on.is_some() && mailbox.len > 0 {
            warnings.push(format!(
                "blocked in a call on {} while messages queue",
                info.waiting_on.as_deref().unwrap_or_default()
            ));
        }
        Ok(json!({
            "pid": info.pid,
            "status": info.status,
            "len": mailbox.len,
            "capacity": mailbox.capacity,
            "fill_ratio": fill_ratio,
            "oldest_age_ms": oldest_age_ms,
            "by_kind": by_kind,
            "top_senders": ranked(by_sender.into_iter().map(|(k, v)| (k.to_owned(), v)), top, "from"),
            "top_payloads": ranked(by_payload.into_iter(), top, "payload"),
            "messages_in": info.messages_in,
            "handled": handled,
            "busy_ms": info.busy_ms,
            "avg_handle_ms": per_message_ms,
            "estimated_drain_ms": per_message_ms.map(|ms| ms * mailbox.len as f64),
            "waiting_on": info.waiting_on,
            "warnings": warnings,
        }))
    }
}

/// The `top` most frequent, most first, ties by key.
fn ranked(counts: impl Iterator<Item = (String, u64)>, top: usize, key: &str) -> Vec<Value> {
    let mut counts: Vec<(String, u64)> = counts.collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .into_iter()
        .take(top)
        .map(|(value, count)| json!({ key: value, "count": count }))
        .collect()
}

arsenal_sdk::export!(AnalyzeMessageQueue);
