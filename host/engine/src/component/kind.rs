//! The kinds of component a host loads.

use serde::{Deserialize, Serialize};

/// Which kind a component is, where the two are handled alike (errors, records, the
/// cluster's keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A component exporting `arsenal:operation/handler`, served as a REST endpoint.
    Operation,
    /// A component exporting `arsenal:process/worker`, the code processes run.
    Worker,
}

impl Kind {
    /// The kind as messages and keys name it: `operation` or `worker`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Operation => "operation",
            Kind::Worker => "worker",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
