//! Built-in operation `put_key`: set a key's value in any bucket, within its quotas.

use arsenal_sdk::prelude::*;
use arsenal_sdk::storage;
use base64::Engine as _;

struct PutKey;

impl Operation for PutKey {
    fn config() -> Config {
        Config::put("put_key", "/api/v1/storage/key")
            .category(Category::Storage)
            .summary("Set a key's value")
            .description(
                "Sets the key in the bucket (making the bucket if it holds nothing yet) to \
                 `value`: text stored as its UTF-8 bytes, or base64 decoded to bytes with \
                 `\"encoding\": \"base64\"`. Needs `admin`: it writes other components' data. \
                 The bucket's quotas apply: 409 `quota_exceeded`. 422 `invalid_bucket`, \
                 `invalid_key` or `invalid_value` (not base64). Answers the key's size and \
                 whether it is secret, never the value.",
            )
            .param(Param::body("bucket").string().min_length(1).max_length(256).describe(
                "The bucket's full name: operation/<name>/<bucket>, worker/<name>/<bucket>, \
                 sandbox/<id>/<bucket> or shared/<bucket>",
            ))
            .param(
                Param::body("key")
                    .string()
                    .min_length(1)
                    .max_length(1024)
                    .describe("The key, 1 to 1,024 bytes"),
            )
            .param(
                Param::body("value")
                    .string()
                    .sensitive()
                    .describe("The value, as text or base64 (never in the audit log)"),
            )
            .param(
                Param::body("encoding")
                    .string()
                    .one_of(["utf8", "base64"])
                    .default("utf8"),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["bucket", "key", "size", "secret"],
                "properties": {
                    "bucket": { "type": "string" },
                    "key": { "type": "string" },
                    "size": { "type": "integer" },
                    "secret": { "type": "boolean" }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let bucket: String = request.param("bucket")?;
        let key: String = request.param("key")?;
        let value: String = request.param("value")?;
        let encoding: String = request.param("encoding")?;
        let bytes = if encoding == "base64" {
            base64::engine::general_purpose::STANDARD
                .decode(value.as_bytes())
                .map_err(|error| {
                    Error::invalid_params(format!("`value` is not base64: {error}"))
                        .with_code("invalid_value")
                })?
        } else {
            value.into_bytes()
        };
        let entry = storage::set(&bucket, &key, &bytes)?;
        Ok(json!({
            "bucket": bucket,
            "key": entry.key,
            "size": entry.size,
            "secret": entry.secret,
        }))
    }
}

arsenal_sdk::export!(PutKey);
