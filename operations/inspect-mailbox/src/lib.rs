//! Built-in operation `inspect_mailbox`: the messages queued for a process, left in place.

use arsenal_sdk::page;
use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct InspectMailbox;

impl Operation for InspectMailbox {
    fn config() -> Config {
        Config::get("inspect_mailbox", "/api/v1/processes/:pid/mailbox")
            .category(Category::Messaging)
            .summary("A process's queued messages")
            .description(
                "The first `limit` messages in the order they will be handled: kind, sender, \
                 payload (cut at 1,024 bytes) and how long each has waited. Nothing is taken \
                 from the queue.",
            )
            .param(processes::target_param())
            .param(page::limit_param(100, 1000))
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "len", "capacity", "messages"],
                "properties": {
                    "pid": { "type": "string" },
                    "len": { "type": "integer" },
                    "capacity": { "type": "integer" },
                    "messages": { "type": "array", "items": { "type": "object" } }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let limit: u32 = request.param("limit")?;
        let mailbox = processes::mailbox(&target, limit)?;
        let messages: Vec<Value> = mailbox
            .messages
            .iter()
            .map(|message| {
                json!({
                    "position": message.position,
                    "kind": message.kind,
                    "from": message.from,
                    "payload": message.payload,
                    "payload_bytes": message.payload_bytes,
                    "truncated": message.payload.len() < message.payload_bytes as usize,
                    "age_ms": message.age_ms,
                })
            })
            .collect();
        Ok(json!({
            "pid": mailbox.pid,
            "len": mailbox.len,
            "capacity": mailbox.capacity,
            "messages": messages,
        }))
    }
}

arsenal_sdk::export!(InspectMailbox);
