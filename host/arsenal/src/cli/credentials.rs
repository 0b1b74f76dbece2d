//! The credential client commands send to a running server, found without being asked:
//! `--token` (or `ARSENAL_TOKEN`: an API key or the admin token), else local mode's admin
//! token as configured (`ARSENAL_ADMIN_TOKEN`, `auth.admin_token`), else the token a
//! local server keeps in the state directory. And `arsenal hash-key`.

use std::io::{BufRead as _, Write};

use anyhow::Context as _;

use arsenal_core::config::Settings;

/// The bearer credential to send, if there is one.
pub(crate) fn bearer(
    explicit: Option<&str>,
    settings: &Settings,
) -> anyhow::Result<Option<String>> {
    if let Some(token) = explicit.or(settings.auth.admin_token.as_deref()) {
        return Ok(Some(token.trim().to_owned()));
    }
    match settings.server.resolved_state_dir() {
        Some(dir) => Ok(arsenal_core::auth::read_kept_token(&dir)?),
        None => Ok(None),
    }
}

/// `arsenal hash-key [KEY|-]`: the digest configuration holds for a key. Without a key,
/// make a new one (32 random bytes, hex) and print both; `-` reads the key from stdin,
/// which keeps it out of the shell's history.
pub(crate) fn hash_key(key: Option<&str>, out: &mut (dyn Write + Send)) -> anyhow::Result<u8> {
    match key {
        Some("-") => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("failed to read the key from stdin")?;
            let key = line.trim();
            anyhow::ensure!(!key.is_empty(), "no key on stdin");
            writeln!(out, "{}", arsenal_core::auth::hash_key(key))?;
        }
        Some(key) => writeln!(out, "{}", arsenal_core::auth::hash_key(key))?,
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|error| anyhow::anyhow!("failed to generate a key: {error}"))?;
            let key = hex::encode(bytes);
            writeln!(out, "key:    {key}")?;
            writeln!(out, "sha256: {}", arsenal_core::auth::hash_key(&key))?;
        }
    }
    Ok(0)
}
