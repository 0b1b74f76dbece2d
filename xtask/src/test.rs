//! `cargo xtask test [ARGS]`: the README's test command. Installs what the tests need when
//! it is missing (`requirements::for_tests`), then runs every suite, printing each
//! phase's time:
//!
//! - `cargo test --workspace --locked ARGS`: the host's crates, the SDK, `arsenal-testing`
//!   and the integration, cluster, console and memory tests. ARGS go to `cargo test` as
//!   they are: `-- FILTER` runs the tests whose name has FILTER, `-p CRATE` one crate
//!   (instead of the workspace).
//! - Without ARGS, also `examples/greet`'s own test, as an author of an operation runs it
//!   in a workspace of their own (`examples/`), on the same target directory.

use std::path::Path;

use anyhow::{Context, bail};

use crate::requirements;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    crate::phase("install what the tests need", || {
        requirements::ensure(&requirements::for_tests())
    })?;

    let mut failed = Vec::new();
    let mut workspace = vec!["test", "--locked"];
    // `--workspace` would override a choice of packages.
    if !selects_packages(args) {
        workspace.insert(1, "--workspace");
    }
    workspace.extend(args.iter().map(String::as_str));
    let name = format!("cargo {}", workspace.join(" "));
    if crate::phase(&name, || crate::cargo(&workspace, &[])).is_err() {
        failed.push(name);
    }

    if args.is_empty() {
        let name = "cargo test -p greet (examples/)";
        if crate::phase(name, examples).is_err() {
            failed.push(name.to_owned());
        }
    }

    if !failed.is_empty() {
        bail!("failed: {}", failed.join("; "));
    }
    Ok(())
}

/// `examples/greet`'s test, in the examples' workspace but on the main workspace's target
/// directory and with its dev profile: the crates both build (the host, wasmtime) are
/// built once.
fn examples() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = root.join("examples/Cargo.toml");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let mut args = vec![
        "test".to_owned(),
        "--locked".to_owned(),
        "--manifest-path".to_owned(),
        utf8(&manifest)?,
        "-p".to_owned(),
        "greet".to_owned(),
    ];
    for config in dev_profile(&root)? {
        args.extend(["--config".to_owned(), config]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::cargo(&args, &[("CARGO_TARGET_DIR", &utf8(&target)?)])
}

/// The main workspace's `[profile.dev]`, as `--config` settings (`profile.dev.debug=...`).
fn dev_profile(root: &Path) -> anyhow::Result<Vec<String>> {
    let path = root.join("Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read {}", path.display()))?
        .parse()
        .with_context(|| format!("failed to parse {}", path.display()))?;
    let mut settings = Vec::new();
    if let Some(dev) = manifest
        .get("profile")
        .and_then(|profile| profile.get("dev"))
    {
        flatten("profile.dev", dev, &mut settings);
    }
    Ok(settings)
}

/// `value` under the dotted key `key`, as `key=value` lines, one per leaf.
fn flatten(key: &str, value: &toml::Value, settings: &mut Vec<String>) {
    match value {
        toml::Value::Table(table) => {
            for (name, value) in table {
                // Quoted: `*` (every package) is no bare key.
                flatten(&format!("{key}.{name:?}"), value, settings);
            }
        }
        leaf => settings.push(format!("{key}={leaf}")),
    }
}

fn utf8(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

/// Whether `args` (before a `--`) choose packages, with `-p`/`--package`.
fn selects_packages(args: &[String]) -> bool {
    args.iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg.starts_with("-p") || arg.starts_with("--package"))
}

#[cfg(test)]
mod tests {
    use super::{flatten, selects_packages};

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn the_dev_profile_becomes_one_setting_per_leaf() {
        let profile: toml::Table = r#"
            debug = "line-tables-only"
            [package."*"]
            debug = false
            [package.wasmtime]
            opt-level = 2
        "#
        .parse()
        .unwrap();
        let mut settings = Vec::new();
        flatten("profile.dev", &toml::Value::Table(profile), &mut settings);
        settings.sort();
        assert_eq!(
            settings,
            [
                r#"profile.dev."debug"="line-tables-only""#,
                r#"profile.dev."package"."*"."debug"=false"#,
                r#"profile.dev."package"."wasmtime"."opt-level"=2"#,
            ]
        );
    }

    #[test]
    fn packages_are_chosen_only_before_the_test_arguments() {
        assert!(selects_packages(&strings(&["-p", "arsenal-tests"])));
        assert!(selects_packages(&strings(&["--package=xtask", "--", "x"])));
        assert!(!selects_packages(&strings(&["--", "-p"])));
        assert!(!selects_packages(&strings(&[
            "--test",
            "it",
            "--",
            "sandboxes::"
        ])));
    }
}
