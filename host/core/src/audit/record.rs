//! One audit record: who did what, to which operation and version, with which parameters
//! (secrets redacted), how it ended and how long it took — and whether the client was
//! still there to hear the answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an audited request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered with a success status: the change was made.
    Succeeded,
    /// Refused before or while it ran for a reason on the caller's side (4xx).
    Refused,
    /// Failed on the server's side (5xx).
    Failed,
}

impl Outcome {
    pub fn of_status(status: u16) -> Outcome {
        match status {
            0..=399 => Outcome::Succeeded,
            400..=499 => Outcome::Refused,
            _ => Outcome::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// An entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the log, from 1; assigned when the record is written.
    pub seq: u64,
    /// When the request arrived, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The same instant in milliseconds since the Unix epoch, for filtering.
    pub time_ms: u64,
    pub request_id: String,
    pub principal: String,
    pub role: String,
    pub method: String,
    pub path: String,
    /// The operation called, or the one an admin action was about.
    pub operation: Option<String>,
    pub version: Option<String>,
    /// The start of the content hash of the version that served.
    pub revision: Option<String>,
    /// The parameters, with secrets redacted; an uploaded component is named by its size
    /// and hash, never stored.
    pub params: Option<Value>,
    pub outcome: Outcome,
    pub status: u16,
    pub error_code: Option<String>,
    pub duration_us: u64,
    /// The client had gone before the answer was ready; the change was made regardless.
    pub client_disconnected: bool,
    /// The outbound HTTP destinations (`scheme://host:port`) the call reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound: Vec<String>,
}

/// Parameter names whose values never reach the log.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "credential",
    "private_key",
    "cookie",
];

/// What a redacted value is replaced by.
pub const REDACTED: &str = "[redacted]";

/// `value` with the value of every object field whose name looks like a secret replaced,
/// at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, inner)| {
                    let shown = if is_secret(name) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(inner)
                    };
                    (name.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_the_rest_kept() {
        let params = json!({
            "id": "7",
            "db_password": "hunter2",
            "nested": [{ "API-Key": "abc", "size": 3 }],
            "spec": { "token": { "deep": true } }
        });
        assert_eq!(
            redact(&params),
            json!({
                "id": "7",
                "db_password": REDACTED,
                "nested": [{ "API-Key": REDACTED, "size": 3 }],
                "spec": { "token": REDACTED }
            })
        );
    }

    #[test]
    fn outcomes_follow_the_status_class() {
        assert_eq!(Outcome::of_status(201), Outcome::Succeeded);
        assert_eq!(Outcome::of_status(409), Outcome::Refused);
        assert_eq!(Outcome::of_status(503), Outcome::Failed);
    }
}
