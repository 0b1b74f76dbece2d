//! Bucket names and who may open which. A component's buckets live in its own namespace
//! (an operation's under its name, a worker's under its sandbox or, outside one, its
//! name), so the same identifier opened by two components is two buckets. A shared bucket
//! is a name the operator grants (`[components.<name>] buckets`): a component granted it
//! opens the one shared bucket of that name, and any other component opening that name is
//! refused with `access-denied` rather than handed a private bucket shadowing it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

/// Longest bucket identifier, in bytes.
pub const MAX_BUCKET_NAME: usize = 64;
/// Longest key, in bytes (a key is part of the bucket's subject in NATS).
pub const MAX_KEY: usize = 1024;
/// Longest owner (an operation's or worker's name, a sandbox's id) in a bucket's full name.
pub const MAX_OWNER: usize = 128;
/// The bucket an empty identifier opens.
const DEFAULT_BUCKET: &str = "default";

/// Whether `name` can name a bucket: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
pub fn valid_bucket_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_BUCKET_NAME
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// Whose private buckets a component opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// An operation, by name.
    Operation(String),
    /// A worker outside a sandbox, by name.
    Worker(String),
    /// Every worker of a sandbox, by the sandbox's id.
    Sandbox(String),
}

impl Owner {
    fn prefix(&self) -> String {
        match self {
            Owner::Operation(name) => format!("operation/{name}"),
            Owner::Worker(name) => format!("worker/{name}"),
            Owner::Sandbox(id) => format!("sandbox/{id}"),
        }
    }
}

/// A bucket's full name in the store: `<operation|worker|sandbox>/<owner>/<bucket>`, or
/// `shared/<bucket>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketId(Arc<str>);

impl BucketId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn shared(name: &str) -> BucketId {
        BucketId(Arc::from(format!("shared/{name}")))
    }

    /// A name the store itself holds (a local usage row, a JetStream description).
    pub(crate) fn stored(name: &str) -> BucketId {
        BucketId(Arc::from(name))
    }

    /// The bucket a full name names: `operation/<name>/<bucket>`, `worker/<name>/<bucket>`,
    /// `sandbox/<id>/<bucket>` or `shared/<bucket>`.
    pub fn parse(name: &str) -> Result<BucketId, InvalidBucket> {
        let invalid = || InvalidBucket(name.to_owned());
        let parts: Vec<&str> = name.split('/').collect();
        let identifier = match parts.as_slice() {
            ["shared", identifier] => identifier,
            [kind, owner, identifier] if OWNER_KINDS.contains(kind) => {
                let valid_owner = !owner.is_empty()
                    && owner.len() <= MAX_OWNER
                    && !owner.chars().any(char::is_control);
                if !valid_owner {
                    return Err(invalid());
                }
                identifier
            }
            _ => return Err(invalid()),
        };
        if !valid_bucket_name(identifier) {
            return Err(invalid());
        }
        Ok(BucketId(Arc::from(name)))
    }

    /// Whose bucket it is and the identifier its components open it by.
    pub fn parts(&self) -> BucketParts<'_> {
        match self.0.split('/').collect::<Vec<_>>().as_slice() {
            [kind, owner, identifier] => BucketParts {
                kind,
                owner,
                identifier,
            },
            [kind, identifier] => BucketParts {
                kind,
                owner: "",
                identifier,
            },
            _ => BucketParts {
                kind: "",
                owner: "",
                identifier: &self.0,
            },
        }
    }
}

/// The kinds of owner a private bucket has.
const OWNER_KINDS: &[&str] = &["operation", "worker", "sandbox"];

/// A bucket's full name, taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketParts<'a> {
    /// `operation`, `worker`, `sandbox` or `shared`.
    pub kind: &'a str,
    /// The owning operation, worker or sandbox; empty for a shared bucket.
    pub owner: &'a str,
    /// The identifier its components open it by.
    pub identifier: &'a str,
}

/// A name that is not a bucket's full name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a bucket: expected operation/<name>/<bucket>, worker/<name>/<bucket>, sandbox/<id>/<bucket> or shared/<bucket>, the bucket 1 to 64 letters, digits, `-`, `_` or `.`"
)]
pub struct InvalidBucket(pub String);

impl fmt::Display for BucketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a bucket is not opened; the interface's own errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenRefused {
    /// Not a bucket name (`no-such-store`).
    NoSuchStore,
    /// A shared bucket this component is not granted (`access-denied`).
    AccessDenied,
}

/// What one component may open: its own namespace and the shared buckets granted to it.
#[derive(Debug, Clone)]
pub struct BucketGrant {
    own: Arc<str>,
    shared: Arc<BTreeSet<String>>,
    /// Every shared bucket the operator grants to anyone: names no component owns privately.
    reserved: Arc<BTreeSet<String>>,
}

impl BucketGrant {
    pub(crate) fn new(
        owner: &Owner,
        shared: BTreeSet<String>,
        reserved: Arc<BTreeSet<String>>,
    ) -> BucketGrant {
        BucketGrant {
            own: Arc::from(owner.prefix()),
            shared: Arc::new(shared),
            reserved,
        }
    }

    /// The bucket `identifier` names for this component.
    pub fn open(&self, identifier: &str) -> Result<BucketId, OpenRefused> {
        let name = if identifier.is_empty() {
            DEFAULT_BUCKET
        } else {
            identifier
        };
        if !valid_bucket_name(name) {
            return Err(OpenRefused::NoSuchStore);
        }
        if self.shared.contains(name) {
            return Ok(BucketId::shared(name));
        }
        if self.reserved.contains(name) {
            return Err(OpenRefused::AccessDenied);
        }
        Ok(BucketId(Arc::from(format!("{}/{name}", self.own))))
    }

    /// The shared buckets granted, by name.
    pub fn shared(&self) -> impl Iterator<Item = &str> {
        self.shared.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(owner: Owner, shared: &[&str], reserved: &[&str]) -> BucketGrant {
        BucketGrant::new(
            &owner,
            shared.iter().map(|s| s.to_string()).collect(),
            Arc::new(reserved.iter().map(|s| s.to_string()).collect()),
        )
    }

    #[test]
    fn identifiers_open_in_the_owners_namespace() {
        let echo = grant(Owner::Operation("echo".into()), &[], &[]);
        assert_eq!(
            echo.open("counts").unwrap().as_str(),
            "operation/echo/counts"
        );
        assert_eq!(echo.open("").unwrap().as_str(), "operation/echo/default");
        let worker = grant(Owner::Sandbox("sb1".into()), &[], &[]);
        assert_eq!(
            worker.open("counts").unwrap().as_str(),
            "sandbox/sb1/counts"
        );
    }

    #[test]
    fn shared_buckets_only_where_granted() {
        let granted = grant(Owner::Worker("w".into()), &["team"], &["team"]);
        assert_eq!(granted.open("team").unwrap().as_str(), "shared/team");
        let other = grant(Owner::Operation("o".into()), &[], &["team"]);
        assert_eq!(other.open("team"), Err(OpenRefused::AccessDenied));
    }

    #[test]
    fn full_names_parse_and_come_apart() {
        let bucket = BucketId::parse("operation/echo/counts").unwrap();
        assert_eq!(
            bucket.parts(),
            BucketParts {
                kind: "operation",
                owner: "echo",
                identifier: "counts"
            }
        );
        let sandboxed = BucketId::parse("sandbox/sb-1/counts").unwrap();
        assert_eq!(
            (sandboxed.parts().kind, sandboxed.parts().owner),
            ("sandbox", "sb-1")
        );
        // What a grant opens, named in full, is the same bucket.
        let worker = grant(Owner::Worker("prober".into()), &[], &[]);
        let opened = worker.open("results").unwrap();
        assert_eq!(BucketId::parse(opened.as_str()), Ok(opened));
        let shared = BucketId::parse("shared/team").unwrap();
        assert_eq!((shared.parts().kind, shared.parts().owner), ("shared", ""));
        for bad in [
            "",
            "counts",
            "operation/echo",
            "shared/a/b",
            "process/x/y",
            "operation//counts",
            "operation/echo/bad name",
            "worker/w/a/b",
        ] {
            assert!(BucketId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_identifiers_are_no_such_store() {
        let echo = grant(Owner::Operation("echo".into()), &[], &[]);
        for bad in ["a/b", "../x", "with space", &"x".repeat(65)] {
            assert_eq!(echo.open(bad), Err(OpenRefused::NoSuchStore), "{bad}");
        }
    }
}
