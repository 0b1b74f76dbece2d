//! Built-in operation `get_key`: one key's value (UTF-8 text, else base64) and size; a
//! secret key's size only.

use arsenal_sdk::prelude::*;
use arsenal_sdk::storage;
use base64::Engine as _;

struct GetKey;

impl Operation for GetKey {
    fn config() -> Config {
        Config::get("get_key", "/api/v1/storage/key")
            .category(Category::Storage)
            .summary("Read a key's value")
            .description(
                "The key's value as text when it is UTF-8 (`\"encoding\": \"utf8\"`), else as \
                 base64 (`\"encoding\": \"base64\"`), and its size in bytes. A key whose value \
                 is secret (`keyvalue.secret_keys`) answers its size and `\"secret\": true`, \
                 never its value. 404 `bucket_not_found` or `key_not_found`; 422 \
                 `invalid_bucket` or `invalid_key`.",
            )
            .param(storage::bucket_param())
            .param(storage::key_param())
            .response_schema(json!({
                "type": "object",
                "required": ["bucket", "key", "size", "secret"],
                "properties": {
                    "bucket": { "type": "string" },
                    "key": { "type": "string" },
                    "size": { "type": "integer" },
                    "secret": { "type": "boolean" },
                    "encoding": { "enum": ["utf8", "base64"] },
                    "value": { "type": "string" }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let bucket: String = request.param("bucket")?;
        let key: String = request.param("key")?;
        let entry = storage::get(&bucket, &key)?;
        let mut answer = json!({
            "bucket": bucket,
            "key": entry.key,
            "size": entry.size,
            "secret": entry.secret,
        });
        if let Some(value) = entry.value {
            let (encoding, value) = match String::from_utf8(value) {
                Ok(text) => ("utf8", text),
                Err(bytes) => (
                    "base64",
                    base64::engine::general_purpose::STANDARD.encode(bytes.into_bytes()),
                ),
            };
            answer["encoding"] = json!(encoding);
            answer["value"] = json!(value);
        }
        Ok(answer)
    }
}

arsenal_sdk::export!(GetKey);
