//! [`SecretKeys`]: which keys hold secrets (`keyvalue.secret_keys`, glob patterns matched
//! case-insensitively against the whole key). The storage built-ins answer such a key's
//! size and that it is secret, never its value.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The patterns of `keyvalue.secret_keys` when the configuration names none.
pub const DEFAULT_SECRET_KEYS: &[&str] = &[
    "*secret*",
    "*password*",
    "*passwd*",
    "*token*",
    "*credential*",
    "*api_key*",
    "*apikey*",
    "*private_key*",
];

/// A `keyvalue.secret_keys` pattern that is not a glob.
#[derive(Debug, thiserror::Error)]
#[error("keyvalue.secret_keys: `{pattern}` is not a glob pattern")]
pub struct InvalidSecretPattern {
    pub pattern: String,
    #[source]
    source: globset::Error,
}

/// The keys whose values are never shown.
#[derive(Debug, Clone)]
pub struct SecretKeys {
    patterns: GlobSet,
}

impl SecretKeys {
    /// Keys matching any of `patterns` (`*` and `?` match any character, `/` included).
    pub fn new(patterns: &[String]) -> Result<SecretKeys, InvalidSecretPattern> {
        let mut set = GlobSetBuilder::new();
        for pattern in patterns {
            let glob = GlobBuilder::new(pattern)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|source| InvalidSecretPattern {
                    pattern: pattern.clone(),
                    source,
                })?;
            set.add(glob);
        }
        let patterns = set.build().map_err(|source| InvalidSecretPattern {
            pattern: patterns.join(", "),
            source,
        })?;
        Ok(SecretKeys { patterns })
    }

    /// Whether the value under `key` is a secret.
    pub fn is_secret(&self, key: &str) -> bool {
        self.patterns.is_match(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_patterns_mark_the_usual_names() {
        let defaults: Vec<String> = DEFAULT_SECRET_KEYS.iter().map(|p| p.to_string()).collect();
        let secret = SecretKeys::new(&defaults).unwrap();
        for key in [
            "db_password",
            "API_TOKEN",
            "client/Secret",
            "aws-credentials",
        ] {
            assert!(secret.is_secret(key), "{key}");
        }
        for key in ["count", "last_seen", "users/42"] {
            assert!(!secret.is_secret(key), "{key}");
        }
    }

    #[test]
    fn patterns_match_whole_keys_and_bad_ones_are_refused() {
        let secret = SecretKeys::new(&["env/*".to_owned(), "pin?".to_owned()]).unwrap();
        assert!(secret.is_secret("env/a/b"));
        assert!(secret.is_secret("PIN1"));
        assert!(!secret.is_secret("my/env/a"));
        assert!(!secret.is_secret("pin12"));
        let error = SecretKeys::new(&["a[".to_owned()]).unwrap_err();
        assert_eq!(error.pattern, "a[");
        assert!(!SecretKeys::new(&[]).unwrap().is_secret("password"));
    }
}
