//! What can go wrong while setting up a test host.

use std::path::PathBuf;

/// A test host could not be set up as asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host did not start (bad settings, an engine that cannot be built, ...).
    #[error("start the host")]
    Start(#[from] arsenal::StartError),
    /// A file the test named could not be read.
    #[error("read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A file the test host writes (a granted secret) could not be written.
    #[error("write in {path}")]
    Write {
        /// The file, or the directory it was to be made in.
        path: PathBuf,
        /// Why it could not be written.
        #[source]
        source: std::io::Error,
    },
    /// A granted destination is no `scheme://host:port` pattern.
    #[error("the destination `{pattern}` granted in `{grantee}`")]
    Grant {
        /// The table it was granted in: `components.<name>` or `sandboxes.<name>`.
        grantee: String,
        /// The pattern as the test gave it.
        pattern: String,
        /// Why it is no pattern.
        #[source]
        source: arsenal::spec::PatternError,
    },
    /// An [`crate::Upstream`] could not listen on 127.0.0.1.
    #[error("start the upstream")]
    Upstream(#[source] std::io::Error),
    /// An [`crate::Upstream`] did not receive the requests waited for in time.
    #[error(
        "the upstream received {received} of the {expected} requests waited for within {within:?}"
    )]
    NotReceived {
        /// How many requests were waited for.
        expected: usize,
        /// How many came.
        received: usize,
        /// How long it waited.
        within: std::time::Duration,
    },
    /// An operation component was refused by the host.
    #[error("load the operation {origin}: {problem}")]
    Load {
        /// Where the component came from: the path it was loaded from.
        origin: String,
        /// Why the host refused it.
        problem: String,
    },
    /// A worker component was refused by the host.
    #[error("load the worker `{name}`")]
    Worker {
        /// The name the test gave the worker.
        name: String,
        /// Why the host refused it.
        #[source]
        source: Box<arsenal::LoadError>,
    },
    /// No worker component was loaded under this name.
    #[error("no worker component named `{0}` was loaded")]
    UnknownWorker(String),
    /// The supervisor could not be started.
    #[error("start the supervisor")]
    Spawn(#[from] arsenal::runtime::SpawnError),
    /// The supervisor did not answer.
    #[error("ask the supervisor")]
    Supervisor(#[from] arsenal::runtime::SupervisorError),
    /// The worker could not be sent to or called.
    #[error("reach the worker")]
    Send(#[from] arsenal::runtime::SendError),
    /// The worker (its pid) did not exit, or was not restarted, within the wait.
    #[error("the supervisor did not restart `{0}` within {1:?}")]
    NotRestarted(String, std::time::Duration),
    /// The component could not be built from its sources.
    #[error("build the component")]
    Build(#[from] crate::build::BuildError),
}
