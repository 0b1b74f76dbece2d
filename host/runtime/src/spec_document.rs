//! Supervisor specs as JSON documents: what operators send to `start_supervisor`,
//! `add_child` and sandboxes. Parsed strictly (unknown fields refused) and resolved
//! against the loaded workers, naming the field at fault.

use std::time::Duration;

use serde::Deserialize;

use super::supervisor::{
    ChildSpec, ChildStart, Flags, Restart, Shutdown, Strategy, SupervisorSpec,
};
use super::worker::WorkerEngine;

/// Nesting of supervisors a document may describe.
const MAX_DEPTH: usize = 16;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("the spec is not valid: {0}")]
    Malformed(String),
    #[error("{at}: no worker component named `{worker}` is loaded")]
    UnknownWorker { at: String, worker: String },
    #[error("{at}: {problem}")]
    Invalid { at: String, problem: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SupervisorDocument {
    name: Option<String>,
    #[serde(default = "one_for_one")]
    strategy: Strategy,
    #[serde(default = "one")]
    intensity: u32,
    #[serde(default = "five_seconds")]
    period_ms: u64,
    #[serde(default)]
    children: Vec<ChildDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChildDocument {
    id: String,
    worker: Option<String>,
    #[serde(default)]
    args: String,
    name: Option<String>,
    supervisor: Option<SupervisorDocument>,
    #[serde(default = "permanent")]
    restart: Restart,
    shutdown: Option<ShutdownDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ShutdownDocument {
    Millis(u64),
    Named(String),
}

fn one_for_one() -> Strategy {
    Strategy::OneForOne
}

fn one() -> u32 {
    1
}

fn five_seconds() -> u64 {
    5_000
}

fn permanent() -> Restart {
    Restart::Permanent
}

/// Parse a supervisor spec document.
pub fn supervisor_spec(
    document: &str,
    workers: &WorkerEngine,
) -> Result<SupervisorSpec, SpecError> {
    let document: SupervisorDocument =
        serde_json::from_str(document).map_err(|error| SpecError::Malformed(error.to_string()))?;
    resolve_supervisor(document, workers, "spec", 0)
}

/// Parse one child document, as `add_child` takes it.
pub fn child_spec(document: &str, workers: &WorkerEngine) -> Result<ChildSpec, SpecError> {
    let document: ChildDocument =
        serde_json::from_str(document).map_err(|error| SpecError::Malformed(error.to_string()))?;
    resolve_child(document, workers, "child", 0)
}

/// Parse a `flags` document's values into flags.
pub fn checked_flags(
    strategy: Strategy,
    intensity: u32,
    period_ms: u64,
) -> Result<Flags, SpecError> {
    if period_ms == 0 {
        return Err(SpecError::Invalid {
            at: "period_ms".to_owned(),
            problem: "must be at least 1".to_owned(),
        });
    }
    Ok(Flags {
        strategy,
        intensity,
        period: Duration::from_millis(period_ms),
    })
}

fn resolve_supervisor(
    document: SupervisorDocument,
    workers: &WorkerEngine,
    at: &str,
    depth: usize,
) -> Result<SupervisorSpec, SpecError> {
    if depth > MAX_DEPTH {
        return Err(SpecError::Invalid {
            at: at.to_owned(),
            problem: format!("supervisors nest deeper than {MAX_DEPTH}"),
        });
    }
    let flags = checked_flags(document.strategy, document.intensity, document.period_ms).map_err(
        |error| match error {
            SpecError::Invalid { problem, .. } => SpecError::Invalid {
                at: format!("{at}.period_ms"),
                problem,
            },
            other => other,
        },
    )?;
    let mut children = Vec::with_capacity(document.children.len());
    for (index, child) in document.children.into_iter().enumerate() {
        let child_at = format!("{at}.children[{index}]");
        if children
            .iter()
            .any(|known: &ChildSpec| known.id == child.id)
        {
            return Err(SpecError::Invalid {
                at: child_at,
                problem: format!("the id `{}` is used twice", child.id),
            });
        }
        children.push(resolve_child(child, workers, &child_at, depth)?);
    }
    Ok(SupervisorSpec {
        name: document.name,
        flags,
        children,
        sandbox: None,
    })
}

fn resolve_child(
    document: ChildDocument,
    workers: &WorkerEngine,
    at: &str,
    depth: usize,
) -> Result<ChildSpec, SpecError> {
    let invalid = |problem: String| SpecError::Invalid {
        at: at.to_owned(),
        problem,
    };
    if !crate::kernel::is_valid_name(&document.id, 64) {
        return Err(invalid(format!(
            "the id `{}` must be 1 to 64 letters, digits, `_`, `-` or `.`",
            document.id
        )));
    }
    let (start, default_shutdown) = match (document.worker, document.supervisor) {
        (Some(worker), None) => {
            let code = workers
                .get(&worker)
                .ok_or_else(|| SpecError::UnknownWorker {
                    at: format!("{at}.worker"),
                    worker: worker.clone(),
                })?;
            let start = ChildStart::Worker {
                code,
                args: document.args,
                name: document.name,
            };
            (start, Shutdown::Timeout(Duration::from_secs(5)))
        }
        (None, Some(supervisor)) => {
            if document.name.is_some() || !document.args.is_empty() {
                return Err(invalid(
                    "`name` and `args` belong inside `supervisor` for a supervisor child"
                        .to_owned(),
                ));
            }
            let spec =
                resolve_supervisor(supervisor, workers, &format!("{at}.supervisor"), depth + 1)?;
            (ChildStart::Supervisor(spec), Shutdown::Infinity)
        }
        _ => {
            return Err(invalid(
                "a child has exactly one of `worker` and `supervisor`".to_owned(),
            ));
        }
    };
    let shutdown = match document.shutdown {
        None => default_shutdown,
        Some(ShutdownDocument::Millis(0)) => Shutdown::BrutalKill,
        Some(ShutdownDocument::Millis(ms)) => Shutdown::Timeout(Duration::from_millis(ms)),
        Some(ShutdownDocument::Named(name)) => match name.as_str() {
            "brutal_kill" | "0" => Shutdown::BrutalKill,
            millis if millis.parse::<u64>().is_ok() => {
                Shutdown::Timeout(Duration::from_millis(millis.parse().unwrap_or_default()))
            }
            "infinity" => Shutdown::Infinity,
            other => {
                return Err(invalid(format!(
                    "shutdown `{other}`: use milliseconds, \"brutal_kill\" or \"infinity\""
                )));
            }
        },
    };
    Ok(ChildSpec {
        id: document.id,
        start,
        restart: document.restart,
        shutdown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_forms_parse() {
        let parse = |text: &str| serde_json::from_str::<ShutdownDocument>(text).unwrap();
        assert!(matches!(parse("250"), ShutdownDocument::Millis(250)));
        assert!(
            matches!(parse("\"infinity\""), ShutdownDocument::Named(name) if name == "infinity")
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error =
            serde_json::from_str::<SupervisorDocument>(r#"{"strategy":"one_for_one","childs":[]}"#)
                .unwrap_err()
                .to_string();
        assert!(error.contains("childs"), "{error}");
    }

    #[test]
    fn period_must_be_positive() {
        assert!(matches!(
            checked_flags(Strategy::OneForAll, 3, 0),
            Err(SpecError::Invalid { at, .. }) if at == "period_ms"
        ));
    }
}
