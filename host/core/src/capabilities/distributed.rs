//! Capabilities `distributed` (`arsenal:runtime/distributed`: the cluster view, the
//! global registry, calls to a node as the operation's caller) and
//! `distributed-control` (`arsenal:runtime/distributed-control`: migration). A node that
//! is not clustered answers as a cluster of one.

use std::time::{Duration, SystemTime};

use bytes::Bytes;

use wasmtime::component::Linker;

use crate::auth::{Principal, Role};
use crate::bindings::arsenal::runtime::distributed::{
    self, CallError, ClusterView, ComponentRevision, GlobalName, GlobalRegistry, Member,
    NameConflict, NodeLoad, NodeReply, NodeStatus,
};
use crate::bindings::arsenal::runtime::distributed_control::{self, MigrateError, Migrated};
use crate::cluster::{self, ForwardedCall};
use crate::policy::Capability;

use super::{Gated, Granted, Reach, RuntimeView};

/// Link this module's interfaces, each behind its capability.
pub(super) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    distributed::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::Distributed)
    })?;
    distributed_control::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::DistributedControl)
    })?;
    Ok(())
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

impl Reach<'_> {
    /// The operation's caller, as a forwarded identity: the highest of its roles.
    fn caller(&self) -> Principal {
        let role = self
            .permits
            .roles()
            .iter()
            .filter_map(|role| match role.as_str() {
                "admin" => Some(Role::Admin),
                "operator" => Some(Role::Operator),
                "viewer" => Some(Role::Viewer),
                _ => None,
            })
            .max()
            .unwrap_or(Role::Viewer);
        Principal::new(self.permits.principal(), role)
    }

    fn cluster(&self) -> std::sync::Arc<cluster::Cluster> {
        self.host.cluster.load_full()
    }
}

fn status(status: cluster::NodeStatus) -> NodeStatus {
    match status {
        cluster::NodeStatus::ThisNode => NodeStatus::ThisNode,
        cluster::NodeStatus::Up => NodeStatus::Up,
        cluster::NodeStatus::Down => NodeStatus::Down,
        cluster::NodeStatus::Unknown => NodeStatus::Unknown,
    }
}

fn member(member: cluster::MemberView) -> Member {
    let beat = member.beat;
    Member {
        node: beat.node,
        address: beat.address,
        version: beat.version,
        incarnation: beat.incarnation,
        started_unix_ms: beat.started_unix_ms,
        status: status(member.status),
        last_heartbeat_ms: member.last_heartbeat.map(|age| age.as_millis() as u64),
        load: NodeLoad {
            processes: beat.load.processes,
            instances_in_use: beat.load.instances_in_use,
            load_average: beat.load.load_average,
            rss_bytes: beat.load.rss_bytes,
        },
        components: beat
            .components
            .into_iter()
            .map(|component| ComponentRevision {
                kind: component.kind,
                name: component.name,
                version: component.version,
                revision: component.revision,
            })
            .collect(),
    }
}

impl distributed::Host for Granted<'_> {
    fn view(&mut self) -> wasmtime::Result<ClusterView> {
        let reach = self.reach()?;
        let view = reach.cluster().view();
        Ok(ClusterView {
            node: view.node,
            clustered: view.clustered,
            connection: view.connection.to_owned(),
            heartbeat_ms: view.heartbeat_ms,
            down_after_ms: view.down_after_ms,
            members: view.members.into_iter().map(member).collect(),
        })
    }

    async fn call_node(
        &mut self,
        node: String,
        method: String,
        path: String,
        body: String,
    ) -> wasmtime::Result<Result<NodeReply, CallError>> {
        let reach = self.reach()?;
        let method = method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Ok(Err(CallError::Invalid(format!(
                "`{method}` is not a method operations are served on"
            ))));
        }
        if !path.starts_with("/api/") {
            return Ok(Err(CallError::Invalid(format!(
                "`{path}` is not an API path"
            ))));
        }
        // A change on another node is a change: the operation must be allowed to make it.
        if method != "GET" {
            reach.require(Capability::DistributedControl)?;
        }
        let cluster = reach.cluster();
        let call = ForwardedCall {
            principal: reach.caller(),
            method,
            path,
            content_type: (!body.is_empty()).then(|| "application/json".to_owned()),
            body: Bytes::from(body),
            request_id: reach.request_id.to_string(),
            deadline: SystemTime::now() + cluster.call_timeout(),
            // The operation's own trace context is not in its store (only its request id).
            traceparent: None,
        };
        Ok(match cluster.call(&node, call).await {
            Ok(reply) => Ok(NodeReply {
                status: reply.status,
                body: String::from_utf8_lossy(&reply.body).into_owned(),
            }),
            Err(unavailable) => Err(CallError::NodeUnavailable(unavailable.node().to_owned())),
        })
    }

    fn names(&mut self) -> wasmtime::Result<GlobalRegistry> {
        let reach = self.reach()?;
        let registry = reach.cluster().global_registry();
        Ok(GlobalRegistry {
            names: registry
                .names
                .into_iter()
                .map(|name| GlobalName {
                    name: name.name,
                    pid: name.pid,
                    node: name.node,
                    status: status(name.status),
                })
                .collect(),
            conflicts: registry
                .conflicts
                .into_iter()
                .map(|conflict| NameConflict {
                    name: conflict.name,
                    holders: conflict.holders,
                    winner: conflict.winner,
                    reason: conflict.reason,
                })
                .collect(),
        })
    }
}

impl distributed_control::Host for Granted<'_> {
    async fn migrate(
        &mut self,
        target: String,
        node: String,
    ) -> wasmtime::Result<Result<Migrated, MigrateError>> {
        let reach = self.reach()?;
        let Some(table) = reach.table() else {
            return Ok(Err(MigrateError::Failed("no process table".to_owned())));
        };
        let cluster = reach.cluster();
        // Taking the state and starting the process elsewhere may take a few calls' time.
        let deadline = SystemTime::now() + cluster.call_timeout().max(Duration::from_secs(1));
        let request_id = reach.request_id.to_string();
        let moved = cluster
            .migrate(
                &table,
                &target,
                &node,
                reach.caller(),
                &request_id,
                deadline,
            )
            .await;
        Ok(moved
            .map(|moved| Migrated {
                from: moved.from,
                to: moved.to,
                node: moved.node,
                state_bytes: moved.state_bytes,
            })
            .map_err(|error| match error {
                cluster::MigrateError::NotFound(message) => MigrateError::NotFound(message),
                cluster::MigrateError::NotMovable(message) => MigrateError::NotMovable(message),
                cluster::MigrateError::Unavailable(unavailable) => {
                    MigrateError::NodeUnavailable(unavailable.node().to_owned())
                }
                cluster::MigrateError::Failed(message) => MigrateError::Failed(message),
            }))
    }
}
