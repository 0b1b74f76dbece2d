//! `cargo xtask screenshots`: a PNG of each view of the web console, written to
//! `docs/screenshots/` (linked from the README). The console's browser test takes them
//! as it walks through the console (`ARSENAL_SCREENSHOTS` names the directory), so the
//! pictures show the same state the test checks: headless Chromium at 1280×800, driven
//! by `chromedriver` (Debian's `chromium` and `chromium-driver`, installed when missing).

use std::path::Path;

use anyhow::Context;

pub(crate) fn take() -> anyhow::Result<()> {
    crate::requirements::ensure(&[crate::requirements::chromium()])?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir).context("failed to make docs/screenshots")?;
    let dir = dir
        .canonicalize()
        .context("failed to find docs/screenshots")?;
    let dir = dir
        .to_str()
        .context("the screenshot directory is not UTF-8")?;
    super::cargo(
        &["test", "-p", "arsenal-tests", "--test", "console"],
        &[("ARSENAL_SCREENSHOTS", dir)],
    )?;
    println!("screenshots written to {dir}");
    Ok(())
}
