//! Pagination of long lists: the `limit` and `offset` query parameters, the page they
//! select, and the answer `{"total", "offset", "limit", KEY: [...]}`.

use serde_json::{Value, json};

/// A page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items on the page at most.
    pub limit: usize,
    /// Items skipped before it.
    pub offset: usize,
}

/// The `limit` query parameter: 1 to `max`, default `default`.
pub fn limit_param(default: u32, max: u32) -> crate::Param {
    crate::Param::query("limit")
        .integer()
        .min(1)
        .max(max)
        .default(default)
}

/// The `offset` query parameter: 0 to `u32::MAX` (an operation's `usize`), default 0.
pub fn offset_param() -> crate::Param {
    crate::Param::query("offset")
        .integer()
        .min(0)
        .max(u32::MAX)
        .default(0)
}

/// The response schema of a page of `key`.
pub fn schema(key: &str) -> Value {
    json!({
        "type": "object",
        "required": ["total", "offset", "limit", key],
        "properties": {
            "total": { "type": "integer" },
            "offset": { "type": "integer" },
            "limit": { "type": "integer" },
            key: { "type": "array", "items": { "type": "object" } }
        }
    })
}

impl Page {
    /// The page a request asks for (its `limit` and `offset` parameters).
    pub fn of(request: &crate::Request) -> crate::Result<Page> {
        Ok(Page {
            limit: request.param("limit")?,
            offset: request.param("offset")?,
        })
    }

    /// The answer: this page of `items`, each shown with `show`, under `key`.
    pub fn answer<T>(&self, key: &str, items: &[T], show: impl Fn(&T) -> Value) -> Value {
        let page: Vec<Value> = items
            .iter()
            .skip(self.offset)
            .take(self.limit)
            .map(show)
            .collect();
        json!({ "total": items.len(), "offset": self.offset, "limit": self.limit, key: page })
    }
}
