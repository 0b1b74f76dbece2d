//! Built-in operation `delete_key`: delete a key from any bucket.

use arsenal_sdk::prelude::*;
use arsenal_sdk::storage;

struct DeleteKey;

impl Operation for DeleteKey {
    fn config() -> Config {
        Config::delete("delete_key", "/api/v1/storage/key")
            .category(Category::Storage)
            .summary("Delete a key")
            .description(
                "Deletes the key from the bucket. Needs `admin`: it changes other components' \
                 data. 404 `bucket_not_found` or `key_not_found` (a second DELETE answers 404); \
                 422 `invalid_bucket` or `invalid_key`.",
            )
            .param(storage::bucket_param())
            .param(storage::key_param())
            .response_schema(json!({
                "type": "object",
                "required": ["bucket", "key", "deleted"],
                "properties": {
                    "bucket": { "type": "string" },
                    "key": { "type": "string" },
                    "deleted": { "const": true }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let bucket: String = request.param("bucket")?;
        let key: String = request.param("key")?;
        storage::delete(&bucket, &key)?;
        Ok(json!({ "bucket": bucket, "key": key, "deleted": true }))
    }
}

arsenal_sdk::export!(DeleteKey);
