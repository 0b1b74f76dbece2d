//! API keys: configuration holds the SHA-256 of each key, never the key; a presented key
//! is hashed and compared with every configured digest in constant time, so neither the
//! answer's timing nor an early exit says which digest (or how much of one) matched.

use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::ApiKey;
use super::principal::Principal;

/// The SHA-256 of a secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub(crate) fn of(secret: &str) -> SecretDigest {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    /// Equal without a timing difference that depends on where the digests differ.
    pub(crate) fn matches(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

/// The hex SHA-256 of `key`: what configuration holds for it (`arsenal hash-key`).
pub fn hash_key(key: &str) -> String {
    hex::encode(SecretDigest::of(key).0)
}

/// A configured key that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("API key `{name}`: `sha256` must be 64 hex digits (the output of `arsenal hash-key`)")]
    Digest { name: String },
    #[error("API key `{name}` has no roles")]
    NoRoles { name: String },
    #[error("two API keys are named `{name}`")]
    DuplicateName { name: String },
    #[error("API keys `{first}` and `{second}` have the same digest")]
    DuplicateDigest { first: String, second: String },
}

/// The configured keys.
#[derive(Debug, Default)]
pub(crate) struct KeyRing {
    keys: Vec<(SecretDigest, Arc<Principal>)>,
}

impl KeyRing {
    /// Check and hold the configured keys.
    pub(crate) fn new(configured: &[ApiKey]) -> Result<KeyRing, KeyError> {
        let mut keys: Vec<(SecretDigest, Arc<Principal>)> = Vec::new();
        for key in configured {
            let digest = parse_digest(&key.sha256).ok_or_else(|| KeyError::Digest {
                name: key.name.clone(),
            })?;
            // Roles are ordered, so the highest one is all a key's roles grant.
            let Some(role) = key.roles.iter().copied().max() else {
                return Err(KeyError::NoRoles {
                    name: key.name.clone(),
                });
            };
            for (other, principal) in &keys {
                if principal.name() == key.name {
                    return Err(KeyError::DuplicateName {
                        name: key.name.clone(),
                    });
                }
                if other.matches(&digest) {
                    return Err(KeyError::DuplicateDigest {
                        first: principal.name().to_owned(),
                        second: key.name.clone(),
                    });
                }
            }
            let principal = Principal::new(&key.name, role);
            keys.push((digest, Arc::new(principal)));
        }
        Ok(KeyRing { keys })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The principal whose key `presented` is. Every digest is compared, whichever
    /// matches.
    pub(crate) fn find(&self, presented: &str) -> Option<Arc<Principal>> {
        let presented = SecretDigest::of(presented);
        let mut found = None;
        for (digest, principal) in &self.keys {
            if digest.matches(&presented) {
                found = Some(principal.clone());
            }
        }
        found
    }
}

fn parse_digest(text: &str) -> Option<SecretDigest> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
    Some(SecretDigest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn key(name: &str, secret: &str, roles: &[Role]) -> ApiKey {
        ApiKey {
            name: name.to_owned(),
            sha256: hash_key(secret),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn a_key_is_found_by_its_secret_only() {
        let ring = KeyRing::new(&[
            key("ci", "s3cret-ci", &[Role::Operator]),
            key("ops", "s3cret-ops", &[Role::Viewer, Role::Admin]),
        ])
        .unwrap();
        let ci = ring.find("s3cret-ci").expect("the ci key");
        assert_eq!((ci.name(), ci.role()), ("ci", Role::Operator));
        assert_eq!(ring.find("s3cret-ops").unwrap().role(), Role::Admin);
        assert!(ring.find("s3cret-c").is_none());
        assert!(
            ring.find(&hash_key("s3cret-ci")).is_none(),
            "the digest is no key"
        );
    }

    #[test]
    fn the_digest_is_the_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        let mut bad = key("ci", "x", &[Role::Viewer]);
        bad.sha256 = "not hex".to_owned();
        assert!(matches!(KeyRing::new(&[bad]), Err(KeyError::Digest { .. })));
        assert!(matches!(
            KeyRing::new(&[key("ci", "x", &[])]),
            Err(KeyError::NoRoles { .. })
        ));
        assert!(matches!(
            KeyRing::new(&[
                key("a", "x", &[Role::Viewer]),
                key("b", "x", &[Role::Admin])
            ]),
            Err(KeyError::DuplicateDigest { .. })
        ));
        assert!(matches!(
            KeyRing::new(&[
                key("a", "x", &[Role::Viewer]),
                key("a", "y", &[Role::Admin])
            ]),
            Err(KeyError::DuplicateName { .. })
        ));
    }
}
