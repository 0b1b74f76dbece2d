//! What can go wrong while setting up a test host.

use std::path::PathBuf;

/// A test host could not be set up as asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("start the host")]
    Start(#[from] arsenal::StartError),
    #[error("read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("load the operation {origin}: {problem}")]
    Load { origin: String, problem: String },
    #[error("load the worker `{name}`")]
    Worker {
        name: String,
        #[source]
        source: arsenal::runtime::WorkerError,
    },
    #[error("no worker component named `{0}` was loaded")]
    UnknownWorker(String),
    #[error("start the supervisor")]
    Spawn(#[from] arsenal::runtime::SpawnError),
    #[error("ask the supervisor")]
    Supervisor(#[from] arsenal::runtime::SupervisorError),
    #[error("reach the worker")]
    Send(#[from] arsenal::runtime::SendError),
    #[error("the supervisor did not restart `{0}` within {1:?}")]
    NotRestarted(String, std::time::Duration),
    #[error("build the component")]
    Build(#[from] crate::build::BuildError),
}
