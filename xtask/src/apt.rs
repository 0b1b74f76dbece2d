//! Debian packages, through `apt-get` (with `sudo` when not root).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;

use crate::requirements::{prints, run};

/// Whether dpkg has every one of `packages` installed.
pub(crate) fn installed(packages: &[&str]) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}\n"])
        .args(packages)
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|line| line.ends_with(" installed"))
                    .count()
                    == packages.len()
        })
}

/// Install `packages` and what they depend on and recommend.
pub(crate) fn install(packages: &[&str]) -> anyhow::Result<()> {
    install_with(packages, &[])
}

/// Install `packages` and what they depend on, without what they only recommend (a
/// compiler's recommendations are large and unused here).
pub(crate) fn install_without_recommends(packages: &[&str]) -> anyhow::Result<()> {
    install_with(packages, &["--no-install-recommends"])
}

/// Whether this run has read the package lists: once is enough.
static UPDATED: AtomicBool = AtomicBool::new(false);

fn install_with(packages: &[&str], options: &[&str]) -> anyhow::Result<()> {
    if !prints("apt-get", "--version") {
        bail!(
            "apt-get is not available: install {} with this system's package manager",
            packages.join(", ")
        );
    }
    let install = || {
        let mut args = vec!["install", "-y", "-qq"];
        args.extend(options);
        args.extend(packages);
        apt_get(&args)
    };
    // A fresh machine's package lists may be empty or stale: read them once, on the first
    // failure.
    install().or_else(|error| {
        if UPDATED.swap(true, Ordering::Relaxed) {
            return Err(error);
        }
        apt_get(&["update", "-qq"])?;
        install()
    })
}

fn apt_get(args: &[&str]) -> anyhow::Result<()> {
    const NONINTERACTIVE: &str = "DEBIAN_FRONTEND=noninteractive";
    let mut command = if is_root() {
        let mut apt = Command::new("apt-get");
        apt.env("DEBIAN_FRONTEND", "noninteractive");
        apt
    } else {
        if !prints("sudo", "--version") {
            bail!("installing Debian packages takes root, and sudo is not installed");
        }
        // sudo clears the environment; it passes on what its arguments set.
        let mut sudo = Command::new("sudo");
        sudo.args([NONINTERACTIVE, "apt-get"]);
        sudo
    };
    run(command.args(args))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}
