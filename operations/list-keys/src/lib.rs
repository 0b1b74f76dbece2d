//! Built-in operation `list_keys`: one bucket's keys, secret ones marked.

use arsenal_sdk::page::{self, Page};
use arsenal_sdk::prelude::*;
use arsenal_sdk::storage;

struct ListKeys;

impl Operation for ListKeys {
    fn config() -> Config {
        Config::get("list_keys", "/api/v1/storage/keys")
            .category(Category::Storage)
            .summary("List a bucket's keys")
            .description(
                "The bucket's usage and its keys in key order, paginated; a key whose value is \
                 secret (`keyvalue.secret_keys`) is marked `\"secret\": true`. Answers 404 \
                 `bucket_not_found` for a bucket holding no key, 422 `invalid_bucket` for a \
                 name that is not a bucket's.",
            )
            .param(storage::bucket_param())
            .param(page::offset_param())
            .param(page::limit_param(100, 1_000))
            .response_schema(json!({
                "type": "object",
                "required": ["bucket", "total", "offset", "limit", "keys"],
                "properties": {
                    "bucket": { "type": "object" },
                    "total": { "type": "integer" },
                    "offset": { "type": "integer" },
                    "limit": { "type": "integer" },
                    "keys": { "type": "array", "items": { "type": "object" } }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let bucket: String = request.param("bucket")?;
        let page = Page::of(&request)?;
        let info = storage::bucket(&bucket)?;
        let keys = storage::list_keys(&bucket, page.offset as u32, page.limit as u32)?;
        let listed: Vec<Value> = keys
            .keys
            .iter()
            .map(|key| json!({ "key": key.key, "secret": key.secret }))
            .collect();
        Ok(json!({
            "bucket": storage::bucket_json(&info),
            "total": keys.total,
            "offset": page.offset,
            "limit": page.limit,
            "keys": listed,
        }))
    }
}

arsenal_sdk::export!(ListKeys);
