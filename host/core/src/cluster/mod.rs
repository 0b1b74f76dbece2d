//! Clustering on NATS (`cluster.nats_url`): membership by heartbeat in a JetStream
//! key-value bucket, operation calls forwarded to a chosen node by request-reply with a
//! signed identity, admin changes of components recorded cluster-wide in a JetStream
//! key-value bucket (their bytes in an object store) and followed by every node, a global
//! name registry, and process migration. Without NATS the node is a cluster of one.
//! Design and configuration: `docs/cluster.md`.

mod forward;
mod live;
mod membership;
mod migrate;
mod names;
mod node;
mod objects;
mod replay;

pub use forward::{CARRIED, ForwardedCall, LocalDispatch, Reply, Unavailable, VerifiedCall};
pub(crate) use live::{Bring, LiveState, Retry};
pub use live::{Changed, LiveChange, ShareError};
pub use membership::LocalFacts;
pub(crate) use membership::{ComponentRevision, MemberView, NodeLoad, NodeStatus};
pub(crate) use migrate::MigrateError;
pub use node::ClusterError;
pub use node::{Cluster, FactsProbe, ServedCalls};
pub(crate) use objects::Missing;
