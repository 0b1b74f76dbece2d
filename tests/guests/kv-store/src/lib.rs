//! Test guest `kv_store`: one key-value call per request, on the bucket the request names
//! (`op` is get, set, delete, exists, keys, increment, set_many or get_many). A refused
//! bucket or failed call is answered as data (`{"error": {"kind", "message"}}`), so tests
//! see exactly what the guest saw.

use arsenal_sdk::keyvalue::{Bucket, StoreError};
use arsenal_sdk::prelude::*;

struct KvStore;

fn run(request: &Request) -> std::result::Result<Value, StoreError> {
    let op: String = request.param("op").expect("validated");
    let bucket: String = request.param("bucket").expect("validated");
    let key: String = request.param("key").expect("validated");
    let value: String = request.param("value").expect("validated");
    let count: u64 = request.param("count").expect("validated");
    let bucket = Bucket::open(&bucket)?;
    Ok(match op.as_str() {
        "get" => json!({ "value": bucket.get(&key)?.map(|v| String::from_utf8_lossy(&v).into_owned()) }),
        "set" => {
            bucket.set(&key, value.as_bytes())?;
            json!({ "set": key })
        }
        "delete" => {
            bucket.delete(&key)?;
            json!({ "deleted": key })
        }
        "exists" => json!({ "exists": bucket.exists(&key)? }),
        "keys" => json!({ "keys": bucket.keys()? }),
        "increment" => json!({ "value": bucket.increment(&key, count)? }),
        // `count` keys `<key>0`.. each set to `value`, in one call.
        "set_many" => {
            let entries: Vec<(String, Vec<u8>)> = (0..count)
                .map(|i| (format!("{key}{i}"), value.clone().into_bytes()))
                .collect();
            bucket.set_many(&entries)?;
            json!({ "set": count })
        }
        "get_many" => {
            let keys: Vec<String> = (0..count).map(|i| format!("{key}{i}")).collect();
            let found = bucket.get_many(&keys)?;
            json!({ "found": found.iter().filter(|entry| entry.is_some()).count() })
        }
        other => json!({ "unknown_op": other }),
    })
}

impl Operation for KvStore {
    fn config() -> Config {
        Config::post("kv_store", "/api/v1/test/kv")
            .category("test")
            .summary("Use a key-value bucket")
            .description("One `wasi:keyvalue` call on the named bucket; refusals answered as data.")
            .param(Param::body("op").string())
            .param(Param::body("bucket").string().default(""))
            .param(Param::body("key").string().default(""))
            .param(Param::body("value").string().default(""))
            .param(Param::body("count").integer().default(1))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        Ok(match run(&request) {
            Ok(answer) => answer,
            Err(error) => {
                let kind = match &error {
                    StoreError::NoSuchStore => "no_such_store",
                    StoreError::AccessDenied => "access_denied",
                    StoreError::Other(_) => "other",
                };
                json!({ "error": { "kind": kind, "message": error.to_string() } })
            }
        })
    }
}

arsenal_sdk::export!(KvStore);
