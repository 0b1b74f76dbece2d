//! Why a component of either kind was not loaded, or a change to what is loaded was not
//! made.

use crate::compiler::CompileError;
use crate::policy::ImportProblem;
use crate::routes::RouteConflict;
use crate::spec::ConfigProblem;

use super::Kind;

/// Why a component was not loaded, or a version change not made. Messages name the kind
/// where it matters (`no worker `ledger` is loaded`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("invalid component: {0}")]
    InvalidComponent(String),
    #[error("unsupported contract version {found}; this host supports {}", .supported.join(", "))]
    UnsupportedContract {
        found: String,
        supported: Vec<String>,
    },
    #[error("unsupported imports: {}", .0.iter().map(|p| format!("{} ({})", p.import, p.reason)).collect::<Vec<_>>().join(", "))]
    UnsupportedImports(Vec<ImportProblem>),
    #[error("invalid config: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    InvalidConfig(Vec<ConfigProblem>),
    #[error("{0}")]
    RouteConflict(#[from] RouteConflict),
    #[error("{kind} `{name}` is already loaded")]
    Duplicate { kind: Kind, name: String },
    #[error("no {kind} `{name}` is loaded")]
    NotLoaded { kind: Kind, name: String },
    #[error("the component is {kind} `{found}`, not `{expected}`")]
    NameMismatch {
        kind: Kind,
        expected: String,
        found: String,
    },
    #[error("{kind} `{name}` has no earlier version to roll back to")]
    NoEarlierVersion { kind: Kind, name: String },
    #[error("{kind} `{name}` has no version of its own (built in or from a directory) to restore")]
    NothingToRestore { kind: Kind, name: String },
    #[error("{0}")]
    CompileTimeout(String),
    #[error("{0}")]
    Compiler(String),
}

impl From<CompileError> for LoadError {
    fn from(error: CompileError) -> LoadError {
        match error {
            CompileError::Timeout(_) => LoadError::CompileTimeout(error.to_string()),
            CompileError::Failed(reason) => LoadError::InvalidComponent(reason),
            CompileError::Child(_) => LoadError::Compiler(error.to_string()),
        }
    }
}
