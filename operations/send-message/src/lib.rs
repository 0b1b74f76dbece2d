//! Built-in operation `send_message`: send a process a message, or a call and its reply.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct SendMessage;

impl Operation for SendMessage {
    fn config() -> Config {
        Config::post("send_message", "/api/v1/processes/:pid/messages")
            .category(Category::Messaging)
            .summary("Send a message or a call")
            .description(
                "Queues `payload` for the process, or with `call` waits up to `timeout_ms` \
                 (within the operation's own deadline) for its reply. A full mailbox refuses \
                 the message (503 `mailbox_full`); nothing is dropped silently.",
            )
            .status(200)
            .param(processes::target_param())
            .param(
                Param::body("payload")
                    .string()
                    .max_length(1 << 20)
                    .describe("JSON text by convention"),
            )
            .param(Param::body("call").boolean().default(false))
            .param(
                Param::body("timeout_ms")
                    .integer()
                    .min(1)
                    .max(60_000)
                    .default(5_000),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["delivered"],
                "properties": { "delivered": { "type": "boolean" }, "reply": { "type": "string" } }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let payload: String = request.param("payload")?;
        if request.param::<bool>("call")? {
            let timeout: u32 = request.param("timeout_ms")?;
            let reply = processes::call(&target, &payload, timeout)?;
            return Ok(json!({ "delivered": true, "reply": reply }));
        }
        processes::send(&target, &payload)?;
        Ok(json!({ "delivered": true }))
    }
}

arsenal_sdk::export!(SendMessage);
