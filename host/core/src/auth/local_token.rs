//! Local mode's admin token: configured (`auth.admin_token`, `ARSENAL_ADMIN_TOKEN`), or
//! generated at first start from the OS's random source and kept in the state directory
//! as `admin-token`, mode 0600, written atomically and never replaced — two servers
//! starting at once agree on the first one written. A kept file readable by anyone else
//! is refused rather than trusted. The server keeps only the token's digest.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::keys::SecretDigest;

/// The token file's name in the state directory.
pub(crate) const FILE_NAME: &str = "admin-token";

/// The token could not be read, kept or made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("failed to read the admin token {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the admin token {} may be read by others (mode {mode:o}); make it 0600 or delete it",
        .path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the admin token {} is empty; delete it to have a new one generated", .path.display())]
    Empty { path: PathBuf },
    #[error("the configured admin token is empty")]
    EmptyConfigured,
    #[error("failed to keep the admin token in {}: {source}", .dir.display())]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to generate an admin token: {0}")]
    Random(getrandom::Error),
}

/// Where the token in force came from.
#[derive(Debug)]
pub(crate) enum Origin {
    Configured,
    /// Read from the file a previous start wrote.
    Kept(PathBuf),
    /// Made now; `path` is where it is kept (none when persistence is off). The token is
    /// held only to be shown once.
    Generated {
        token: String,
        path: Option<PathBuf>,
    },
}

/// The token in force, as its digest, and where it came from.
#[derive(Debug)]
pub(crate) struct AdminToken {
    pub(crate) digest: SecretDigest,
    pub(crate) origin: Origin,
}

impl AdminToken {
    /// The configured token, else the one kept in `dir`, else a new one (kept in `dir`
    /// when there is one).
    pub(crate) fn resolve(
        configured: Option<&str>,
        dir: Option<&Path>,
    ) -> Result<AdminToken, TokenError> {
        if let Some(token) = configured {
            if token.trim().is_empty() {
                return Err(TokenError::EmptyConfigured);
            }
            return Ok(AdminToken {
                digest: SecretDigest::of(token.trim()),
                origin: Origin::Configured,
            });
        }
        if let Some(dir) = dir
            && let Some(token) = read_kept(dir)?
        {
            return Ok(AdminToken {
                digest: SecretDigest::of(&token),
                origin: Origin::Kept(dir.join(FILE_NAME)),
            });
        }
        let token = generate()?;
        let Some(dir) = dir else {
            return Ok(AdminToken {
                digest: SecretDigest::of(&token),
                origin: Origin::Generated { token, path: None },
            });
        };
        match keep(dir, &token) {
            Ok(path) => Ok(AdminToken {
                digest: SecretDigest::of(&token),
                origin: Origin::Generated {
                    token,
                    path: Some(path),
                },
            }),
            // Another start wrote one first: that one is the token.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let token = read_kept(dir)?.ok_or_else(|| TokenError::Empty {
                    path: dir.join(FILE_NAME),
                })?;
                Ok(AdminToken {
                    digest: SecretDigest::of(&token),
                    origin: Origin::Kept(dir.join(FILE_NAME)),
                })
            }
            Err(source) => Err(TokenError::Write {
                dir: dir.to_owned(),
                source,
            }),
        }
    }
}

/// The token kept in `dir`, if a server made one there. The CLI reads it this way too.
pub fn read_kept(dir: &Path) -> Result<Option<String>, TokenError> {
    let path = dir.join(FILE_NAME);
    let read_error = |source| TokenError::Read {
        path: path.clone(),
        source,
    };
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(read_error(error)),
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::Exposed { path, mode });
    }
    let token = std::fs::read_to_string(&path).map_err(read_error)?;
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Empty { path });
    }
    Ok(Some(token.to_owned()))
}

/// 32 random bytes, as hex.
fn generate() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(TokenError::Random)?;
    Ok(hex::encode(bytes))
}

/// Write `token` to `dir/admin-token` (mode 0600) through a temporary file, fsync, and a
/// rename that never replaces an existing token.
fn keep(dir: &Path, token: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE_NAME);
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{token}")?;
    file.as_file().sync_all()?;
    file.persist_noclobber(&path).map_err(|error| error.error)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = AdminToken::resolve(None, Some(dir.path())).unwrap();
        let Origin::Generated {
            token,
            path: Some(path),
        } = &first.origin
        else {
            panic!("generated: {:?}", first.origin);
        };
        assert_eq!(token.len(), 64);
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = AdminToken::resolve(None, Some(dir.path())).unwrap();
        assert!(matches!(again.origin, Origin::Kept(_)));
        assert!(again.digest.matches(&SecretDigest::of(token)));
        assert_eq!(read_kept(dir.path()).unwrap().as_deref(), Some(&token[..]));
    }

    #[test]
    fn a_configured_token_wins_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let token = AdminToken::resolve(Some("scripted"), Some(dir.path())).unwrap();
        assert!(matches!(token.origin, Origin::Configured));
        assert!(token.digest.matches(&SecretDigest::of("scripted")));
        assert!(!dir.path().join(FILE_NAME).exists());
        assert!(matches!(
            AdminToken::resolve(Some(" "), None),
            Err(TokenError::EmptyConfigured)
        ));
    }

    #[test]
    fn a_token_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "abc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            AdminToken::resolve(None, Some(dir.path())),
            Err(TokenError::Exposed { mode: 0o644, .. })
        ));
    }
}
