//! Process ids. A pid names its node from day one, so pids stay meaningful once nodes
//! form a cluster: `<node.incarnation.serial>`, e.g. `<local.0.42>`. The incarnation
//! distinguishes restarts of a node (Erlang's "creation"), so a pid from before a restart
//! never names a process of the new run.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A process id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    node: Arc<str>,
    incarnation: u32,
    serial: u64,
}

/// Text that is not a pid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a pid: expected <node.incarnation.serial>, e.g. <local.0.42>")]
pub struct PidError {
    text: String,
}

impl Pid {
    pub fn new(node: impl Into<Arc<str>>, incarnation: u32, serial: u64) -> Pid {
        Pid {
            node: node.into(),
            incarnation,
            serial,
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    pub fn serial(&self) -> u64 {
        self.serial
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.node, self.incarnation, self.serial)
    }
}

impl FromStr for Pid {
    type Err = PidError;

    fn from_str(text: &str) -> Result<Pid, PidError> {
        let error = || PidError {
            text: text.chars().take(80).collect(),
        };
        let inner = text
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix('>'))
            .ok_or_else(error)?;
        // The node name may not contain dots; the last two fields are numbers.
        let mut fields = inner.rsplitn(3, '.');
        let serial = fields
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(error)?;
        let incarnation = fields
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(error)?;
        let node = fields.next().ok_or_else(error)?;
        let valid_node = !node.is_empty()
            && node.len() <= 64
            && node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_node {
            return Err(error());
        }
        Ok(Pid::new(node, incarnation, serial))
    }
}

/// Whether `name` is a valid registered name, child id, sandbox id or worker name: 1 to
/// `max_len` letters, digits, `_`, `-` or `.`.
pub fn is_valid_name(name: &str, max_len: usize) -> bool {
    !name.is_empty()
        && name.len() <= max_len
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_print_and_parse_back() {
        let pid = Pid::new("local", 3, 42);
        assert_eq!(pid.to_string(), "<local.3.42>");
        assert_eq!("<local.3.42>".parse::<Pid>(), Ok(pid));
        assert_eq!(
            "<node-b_2.0.18446744073709551615>"
                .parse::<Pid>()
                .unwrap()
                .serial(),
            u64::MAX
        );
    }

    #[test]
    fn malformed_pids_are_refused() {
        for text in [
            "",
            "<>",
            "local.0.1",
            "<local.0>",
            "<local.x.1>",
            "<.0.1>",
            "<a.b.0.1>",
            "<local.0.1",
            "<loc al.0.1>",
        ] {
            assert!(text.parse::<Pid>().is_err(), "{text:?} parsed");
        }
        assert_eq!(
            "nope".parse::<Pid>().unwrap_err().to_string(),
            "`nope` is not a pid: expected <node.incarnation.serial>, e.g. <local.0.42>"
        );
    }
}
