//! `arsenal check`: load components exactly as the server would — structure, contract
//! version, imports against the policy, compilation, linking, `describe()`, config
//! validation — and print every problem found.

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

use super::args::CheckSource;
use arsenal_core::config::Settings;
use arsenal_core::host::Host;
use arsenal_core::policy::Source;
use arsenal_http::ApiError;

pub(crate) async fn check(
    mut settings: Settings,
    files: &[PathBuf],
    source: CheckSource,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u8> {
    // Checking changes nothing: no state directory, so a running server's is left alone.
    settings.server.persist = false;
    let host = Host::empty(settings)?;
    let source = match source {
        CheckSource::Builtin => Source::Builtin,
        CheckSource::Directory => Source::Directory,
        CheckSource::Upload => Source::Upload,
    };
    let mut failed = 0;
    for file in files {
        let origin = file.display().to_string();
        let outcome = match std::fs::read(file) {
            Ok(bytes) => host.registry().inspect(&bytes, source, &origin).await,
            Err(error) => Err(arsenal_core::loader::LoadError::InvalidComponent(format!(
                "cannot read the file: {error}"
            ))),
        };
        match outcome {
            Ok(operation) => {
                let summary = operation.summary();
                let capabilities = if summary.capabilities.is_empty() {
                    "none".to_owned()
                } else {
                    summary
                        .capabilities
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                writeln!(
                    out,
                    "{origin}: ok: {} {} {} {} (contract {}, capabilities: {capabilities})",
                    summary.name,
                    summary.version,
                    summary.method,
                    summary.path,
                    summary.contract_version
                )?;
            }
            Err(error) => {
                failed += 1;
                let api = ApiError::from(error);
                writeln!(out, "{origin}: error[{}]: {}", api.code(), api.message())?;
                for line in detail_lines(api.details()) {
                    writeln!(out, "  - {line}")?;
                }
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// One line per problem listed in an error's details.
fn detail_lines(details: Option<&Value>) -> Vec<String> {
    let Some(details) = details else {
        return Vec::new();
    };
    let list = |key: &str, a: &str, b: &str| -> Vec<String> {
        details[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|item| {
                        format!(
                            "{}: {}",
                            item[a].as_str().unwrap_or_default(),
                            item[b].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut lines = list("imports", "import", "reason");
    lines.extend(list("problems", "field", "message"));
    lines
}
