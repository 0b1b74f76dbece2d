//! Built-in operation `list_buckets`: every component's key-value buckets with their usage.

use arsenal_sdk::page::{self, Page};
use arsenal_sdk::prelude::*;
use arsenal_sdk::storage;

struct ListBuckets;

impl Operation for ListBuckets {
    fn config() -> Config {
        Config::get("list_buckets", "/api/v1/storage/buckets")
            .category(Category::Storage)
            .summary("List key-value buckets")
            .description(
                "Every bucket holding at least one key, by full name (`operation/<name>/<bucket>`, \
                 `worker/<name>/<bucket>`, `sandbox/<id>/<bucket>` or `shared/<bucket>`), with \
                 its owner, its keys and its bytes, paginated. Needs `operator`: the buckets \
                 are other components' data.",
            )
            .param(page::offset_param())
            .param(page::limit_param(100, 1_000))
            .response_schema(page::schema("buckets"))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let page = Page::of(&request)?;
        let (buckets, total) = storage::list_buckets(page.offset as u32, page.limit as u32)?;
        let buckets: Vec<Value> = buckets.iter().map(storage::bucket_json).collect();
        Ok(json!({
            "total": total,
            "offset": page.offset,
            "limit": page.limit,
            "buckets": buckets,
        }))
    }
}

arsenal_sdk::export!(ListBuckets);
