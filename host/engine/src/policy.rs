//! Which imports a component may have, by where it came from.
//!
//! Three classes of import: the **baseline** every component gets (logging, and WASI
//! cli/io/clocks/random with nothing inherited; 0.3's on the async engine), the **named capabilities** (the runtime
//! interfaces, and the standard WASI ones such as `wasi:keyvalue` and outbound HTTP)
//! granted per source, and everything else, refused. `wasi:filesystem` and `wasi:sockets`
//! are accepted from every source and linked closed (see `crate::wasi`): language runtimes
//! import them, and through them a component reaches no directory and no socket.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A named capability: interfaces a component may import where its source is granted
/// them. A runtime capability is also gated by the caller's roles ([`Capability::is_runtime`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// `arsenal:runtime/system`: read-only facts about the host and engine.
    System,
    /// `arsenal:runtime/processes`: read the process table.
    Processes,
    /// `arsenal:runtime/process-control`: start, kill, suspend and resume processes.
    ProcessControl,
    /// `arsenal:runtime/messaging`: send messages and calls to processes.
    Messaging,
    /// `arsenal:runtime/supervisors`: read supervision trees.
    Supervisors,
    /// `arsenal:runtime/supervisor-control`: start, stop and reshape supervisors.
    SupervisorControl,
    /// `arsenal:runtime/sandboxes`: create, change, run in and destroy sandboxes.
    Sandboxes,
    /// `arsenal:runtime/tracing`: trace and profile processes.
    Tracing,
    /// `arsenal:runtime/distributed`: the cluster view, the global registry, and calls
    /// to other nodes as the caller (GET only without `distributed_control`).
    Distributed,
    /// `arsenal:runtime/distributed-control`: migrate processes between nodes.
    DistributedControl,
    /// `arsenal:runtime/storage`: every component's key-value buckets, their keys and
    /// their values (never a secret key's), as the host keeps them.
    Storage,
    /// `arsenal:runtime/storage-control`: set and delete keys in any bucket.
    StorageControl,
    /// `wasi:keyvalue` (store, atomics, batch): the component's own buckets and the
    /// shared ones granted to it.
    KeyValue,
    /// `wasi:http/outgoing-handler` (0.2) or `wasi:http/client` (0.3), with
    /// `wasi:http/types`: HTTP requests to the destinations granted to the component.
    OutboundHttp,
    /// `wasi:config/store`: the component's own configuration values and secrets.
    Config,
}

impl Capability {
    /// Every capability the host implements.
    pub const ALL: &'static [Capability] = &[
        Capability::System,
        Capability::Processes,
        Capability::ProcessControl,
        Capability::Messaging,
        Capability::Supervisors,
        Capability::SupervisorControl,
        Capability::Sandboxes,
        Capability::Tracing,
        Capability::Distributed,
        Capability::DistributedControl,
        Capability::Storage,
        Capability::StorageControl,
        Capability::KeyValue,
        Capability::OutboundHttp,
        Capability::Config,
    ];

    /// The name used in configuration, the catalogue and OpenAPI.
    pub fn name(self) -> &'static str {
        match self {
            Capability::System => "system",
            Capability::Processes => "processes",
            Capability::ProcessControl => "process_control",
            Capability::Messaging => "messaging",
            Capability::Supervisors => "supervisors",
            Capability::SupervisorControl => "supervisor_control",
            Capability::Sandboxes => "sandboxes",
            Capability::Tracing => "tracing",
            Capability::Distributed => "distributed",
            Capability::DistributedControl => "distributed_control",
            Capability::Storage => "storage",
            Capability::StorageControl => "storage_control",
            Capability::KeyValue => "key_value",
            Capability::OutboundHttp => "outbound_http",
            Capability::Config => "config",
        }
    }

    /// The WIT interfaces behind it, without version.
    pub fn interfaces(self) -> &'static [&'static str] {
        match self {
            Capability::System => &["arsenal:runtime/system"],
            Capability::Processes => &["arsenal:runtime/processes"],
            Capability::ProcessControl => &["arsenal:runtime/process-control"],
            Capability::Messaging => &["arsenal:runtime/messaging"],
            Capability::Supervisors => &["arsenal:runtime/supervisors"],
            Capability::SupervisorControl => &["arsenal:runtime/supervisor-control"],
            Capability::Sandboxes => &["arsenal:runtime/sandboxes"],
            Capability::Tracing => &["arsenal:runtime/tracing"],
            Capability::Distributed => &["arsenal:runtime/distributed"],
            Capability::DistributedControl => &["arsenal:runtime/distributed-control"],
            Capability::Storage => &["arsenal:runtime/storage"],
            Capability::StorageControl => &["arsenal:runtime/storage-control"],
            Capability::KeyValue => &[
                "wasi:keyvalue/store",
                "wasi:keyvalue/atomics",
                "wasi:keyvalue/batch",
            ],
            Capability::OutboundHttp => &[
                "wasi:http/outgoing-handler",
                "wasi:http/client",
                "wasi:http/types",
            ],
            Capability::Config => &["wasi:config/store"],
        }
    }

    /// The WIT interface behind it, without version (the first of several).
    pub fn interface(self) -> &'static str {
        self.interfaces()[0]
    }

    /// Whether the capability only reads state (granted to untrusted sources by default).
    /// `storage` reads, but other components' data: it is not one of them.
    pub fn is_read_only(self) -> bool {
        match self {
            Capability::System
            | Capability::Processes
            | Capability::Supervisors
            | Capability::Distributed
            | Capability::Config => true,
            Capability::ProcessControl
            | Capability::Messaging
            | Capability::SupervisorControl
            | Capability::Sandboxes
            | Capability::Tracing
            | Capability::DistributedControl
            | Capability::Storage
            | Capability::StorageControl
            | Capability::KeyValue
            | Capability::OutboundHttp => false,
        }
    }

    /// Whether the caller's roles gate it (a runtime interface: the caller's power over
    /// the host), rather than the component's own grant (a standard WASI capability:
    /// what the component reaches whoever calls it).
    pub fn is_runtime(self) -> bool {
        !matches!(
            self,
            Capability::KeyValue | Capability::OutboundHttp | Capability::Config
        )
    }

    /// Whether only `admin` may use it (`operator` everything else of the runtime's):
    /// sandbox directories and budgets, and writing other components' data.
    pub fn is_admin_only(self) -> bool {
        matches!(self, Capability::Sandboxes | Capability::StorageControl)
    }

    /// Parse a configuration name.
    pub fn from_name(name: &str) -> Option<Capability> {
        Capability::ALL
            .iter()
            .copied()
            .find(|capability| capability.name() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a component came from; grants differ per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Embedded in the binary.
    Builtin,
    /// A `.wasm` file from a configured directory or given on the command line.
    Directory,
    /// Uploaded through the admin API.
    Upload,
}

/// The capabilities granted to each source.
#[derive(Debug, Clone)]
pub struct Grants {
    directory: BTreeSet<Capability>,
    upload: BTreeSet<Capability>,
}

/// A grant list naming a capability the host does not have.
#[derive(Debug, thiserror::Error)]
#[error("unknown capability `{name}` in capabilities.{source_name} (known: {known})")]
pub struct UnknownCapability {
    name: String,
    source_name: &'static str,
    known: String,
}

impl Grants {
    /// Grants from configuration.
    pub fn from_settings(settings: &CapabilitySettings) -> Result<Grants, UnknownCapability> {
        let parse = |names: &[String], source_name: &'static str| {
            names
                .iter()
                .map(|name| {
                    Capability::from_name(name).ok_or_else(|| UnknownCapability {
                        name: name.clone(),
                        source_name,
                        known: Capability::ALL
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                })
                .collect::<Result<BTreeSet<_>, _>>()
        };
        Ok(Grants {
            directory: parse(&settings.directory, "directory")?,
            upload: parse(&settings.upload, "upload")?,
        })
    }

    fn allows(&self, source: Source, capability: Capability) -> bool {
        match source {
            Source::Builtin => true,
            Source::Directory => self.directory.contains(&capability),
            Source::Upload => self.upload.contains(&capability),
        }
    }
}

/// Why one import is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// The import as the component names it, e.g. `wasi:filesystem/types@0.2.6`.
    pub import: String,
    /// Why it is refused.
    pub reason: String,
}

/// The outcome of checking a component's imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportVerdict {
    /// Every import is allowed; these are the capabilities used (baseline excluded).
    Allowed(Vec<Capability>),
    /// At least one import is refused.
    Refused(Vec<ImportProblem>),
}

/// The operation contract versions this host accepts, oldest first.
pub const CONTRACT_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// The process contract versions this host accepts.
pub(crate) const PROCESS_VERSIONS: &[&str] = &["0.1.0"];

/// The runtime package versions this host implements.
const RUNTIME_VERSIONS: &[&str] = &["0.1.0"];

/// The `wasi:keyvalue` versions this host implements.
const KEYVALUE_VERSIONS: &[&str] = &["0.2.0-draft"];

const BASELINE_INTERFACES: &[&str] = &[
    "arsenal:operation/types",
    "arsenal:process/types",
    "arsenal:operation/log",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:cli/types",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/types",
    "wasi:clocks/system-clock",
    "wasi:clocks/timezone",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Packages linked closed for every component: importing them grants nothing.
const CLOSED_PACKAGES: &[&str] = &["wasi:filesystem", "wasi:sockets"];

/// Check every import of a component against the policy for `source`, reporting each
/// refused import (not only the first).
pub fn check_imports(imports: &[String], source: Source, grants: &Grants) -> ImportVerdict {
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for import in imports {
        let (interface, version) = match import.split_once('@') {
            Some((interface, version)) => (interface, Some(version)),
            None => (import.as_str(), None),
        };
        let package = interface.split('/').next().unwrap_or(interface);
        let refuse = |reason: String| ImportProblem {
            import: import.clone(),
            reason,
        };
        if BASELINE_INTERFACES.contains(&interface) {
            if let Some(problem) = unsupported_arsenal_version(package, version) {
                problems.push(refuse(problem));
            }
            continue;
        }
        if CLOSED_PACKAGES.contains(&package) {
            continue;
        }
        match Capability::ALL
            .iter()
            .find(|capability| capability.interfaces().contains(&interface))
        {
            Some(&capability) => {
                if let Some(problem) = unsupported_arsenal_version(package, version) {
                    problems.push(refuse(problem));
                } else if grants.allows(source, capability) {
                    used.insert(capability);
                } else {
                    problems.push(refuse(format!(
                        "capability `{capability}` is not granted to {} components",
                        source_label(source)
                    )));
                }
            }
            None => problems.push(refuse("not an interface this host provides".to_owned())),
        }
    }
    if problems.is_empty() {
        ImportVerdict::Allowed(used.into_iter().collect())
    } else {
        ImportVerdict::Refused(problems)
    }
}

fn unsupported_arsenal_version(package: &str, version: Option<&str>) -> Option<String> {
    let supported = match package {
        "arsenal:operation" => CONTRACT_VERSIONS,
        "arsenal:runtime" => RUNTIME_VERSIONS,
        "arsenal:process" => PROCESS_VERSIONS,
        "wasi:keyvalue" => KEYVALUE_VERSIONS,
        _ => return None,
    };
    match version {
        Some(version) if supported.contains(&version) => None,
        Some(version) => Some(format!(
            "version {version} is not supported (supported: {})",
            supported.join(", ")
        )),
        None => Some("unversioned import; expected a versioned package".to_owned()),
    }
}

fn source_label(source: Source) -> &'static str {
    match source {
        Source::Builtin => "built-in",
        Source::Directory => "directory",
        Source::Upload => "uploaded",
    }
}

/// Capabilities granted per source of components. Built-in operations get every
/// capability they import.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapabilitySettings {
    /// Capabilities granted to components loaded from `operations.dirs` and files.
    /// Default: the read-only ones (`system`).
    pub directory: Vec<String>,
    /// Capabilities granted to uploaded components. Default: the read-only ones.
    pub upload: Vec<String>,
}

impl Default for CapabilitySettings {
    fn default() -> Self {
        let read_only: Vec<String> = Capability::ALL
            .iter()
            .filter(|capability| capability.is_read_only())
            .map(|capability| capability.name().to_owned())
            .collect();
        CapabilitySettings {
            directory: read_only.clone(),
            upload: read_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(directory: &[&str]) -> Grants {
        Grants::from_settings(&CapabilitySettings {
            directory: directory.iter().map(|s| s.to_string()).collect(),
            upload: vec![],
        })
        .unwrap()
    }

    fn imports(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn baseline_is_always_allowed_and_not_listed() {
        let verdict = check_imports(
            &imports(&[
                "wasi:cli/stdout@0.2.6",
                "arsenal:operation/log@0.1.0",
                "wasi:io/streams@0.2.0",
            ]),
            Source::Upload,
            &grants(&[]),
        );
        assert_eq!(verdict, ImportVerdict::Allowed(vec![]));
    }

    #[test]
    fn capabilities_follow_the_grants_of_the_source() {
        let system = imports(&["arsenal:runtime/system@0.1.0"]);
        assert_eq!(
            check_imports(&system, Source::Directory, &grants(&["system"])),
            ImportVerdict::Allowed(vec![Capability::System])
        );
        assert_eq!(
            check_imports(&system, Source::Builtin, &grants(&[])),
            ImportVerdict::Allowed(vec![Capability::System])
        );
        let ImportVerdict::Refused(problems) =
            check_imports(&system, Source::Directory, &grants(&[]))
        else {
            panic!("system must be refused without a grant");
        };
        assert_eq!(
            problems[0].reason,
            "capability `system` is not granted to directory components"
        );
    }

    #[test]
    fn key_value_is_one_capability_of_three_interfaces_at_its_version() {
        let key_value = imports(&[
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:keyvalue/atomics@0.2.0-draft",
            "wasi:keyvalue/batch@0.2.0-draft",
        ]);
        assert_eq!(
            check_imports(&key_value, Source::Upload, &grants(&[])),
            ImportVerdict::Refused(
                key_value
                    .iter()
                    .map(|import| ImportProblem {
                        import: import.clone(),
                        reason: "capability `key_value` is not granted to uploaded components"
                            .to_owned()
                    })
                    .collect()
            )
        );
        assert_eq!(
            check_imports(&key_value, Source::Directory, &grants(&["key_value"])),
            ImportVerdict::Allowed(vec![Capability::KeyValue])
        );
        let ImportVerdict::Refused(problems) = check_imports(
            &imports(&["wasi:keyvalue/store@0.2.0-draft2"]),
            Source::Builtin,
            &grants(&[]),
        ) else {
            panic!("another version must be refused");
        };
        assert_eq!(
            problems[0].reason,
            "version 0.2.0-draft2 is not supported (supported: 0.2.0-draft)"
        );
    }

    #[test]
    fn every_refused_import_is_named() {
        let verdict = check_imports(
            &imports(&[
                "example:unknown/thing@0.1.0",
                "wasi:cli/stdout@0.2.6",
                "example:other/thing@0.2.0",
            ]),
            Source::Builtin,
            &grants(&[]),
        );
        let ImportVerdict::Refused(problems) = verdict else {
            panic!("expected refusal")
        };
        let names: Vec<_> = problems.iter().map(|p| p.import.as_str()).collect();
        assert_eq!(
            names,
            ["example:unknown/thing@0.1.0", "example:other/thing@0.2.0"]
        );
        assert_eq!(problems[0].reason, "not an interface this host provides");
    }

    #[test]
    fn filesystem_and_sockets_are_accepted_closed_from_every_source() {
        let closed = imports(&[
            "wasi:filesystem/types@0.2.9",
            "wasi:filesystem/preopens@0.2.9",
            "wasi:sockets/tcp@0.2.9",
            "wasi:sockets/ip-name-lookup@0.2.0",
        ]);
        for source in [Source::Builtin, Source::Directory, Source::Upload] {
            assert_eq!(
                check_imports(&closed, source, &grants(&[])),
                ImportVerdict::Allowed(vec![]),
                "{source:?}"
            );
        }
    }

    #[test]
    fn outbound_http_covers_both_wasi_http_interfaces() {
        let http = imports(&[
            "wasi:http/types@0.2.4",
            "wasi:http/outgoing-handler@0.2.4",
            "wasi:io/poll@0.2.4",
        ]);
        assert_eq!(
            check_imports(&http, Source::Upload, &grants(&[])),
            ImportVerdict::Refused(vec![
                ImportProblem {
                    import: "wasi:http/types@0.2.4".into(),
                    reason: "capability `outbound_http` is not granted to uploaded components"
                        .into(),
                },
                ImportProblem {
                    import: "wasi:http/outgoing-handler@0.2.4".into(),
                    reason: "capability `outbound_http` is not granted to uploaded components"
                        .into(),
                },
            ])
        );
        assert_eq!(
            check_imports(&http, Source::Directory, &grants(&["outbound_http"])),
            ImportVerdict::Allowed(vec![Capability::OutboundHttp])
        );
        let ImportVerdict::Refused(problems) = check_imports(
            &imports(&["wasi:http/incoming-handler@0.2.4"]),
            Source::Builtin,
            &grants(&[]),
        ) else {
            panic!("the incoming handler is no import a host provides");
        };
        assert_eq!(problems[0].reason, "not an interface this host provides");
    }

    #[test]
    fn unknown_capability_in_configuration_is_an_error() {
        let error = Grants::from_settings(&CapabilitySettings {
            directory: vec!["root".into()],
            upload: vec![],
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown capability `root` in capabilities.directory (known: system, processes, process_control, messaging, supervisors, supervisor_control, sandboxes, tracing, distributed, distributed_control, storage, storage_control, key_value, outbound_http, config)"
        );
    }
}
