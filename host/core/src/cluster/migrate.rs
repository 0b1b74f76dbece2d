//! Process migration: a local worker process moves to another node with its state.
//! The source suspends it (no message is handled meanwhile), snapshots its state, and asks
//! the target on `arsenal.adopt.<node>` — signed like a forwarded call, as the caller,
//! whose role the target checks — to start the same worker version with the same args and
//! name, restore the state and queue the messages that were waiting at the source, in
//! their order. Only then does the source stop its process; on any failure it puts the
//! messages back and resumes it. From the suspension on, the source's mailbox refuses new
//! messages (the sender is told the process is not there), so none is left behind. Calls
//! waiting at the source are answered as the process exiting there; timers, exit and down
//! notices stay behind, with the links and monitors they belong to.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::forward::{ForwardedCall, Reply, Unavailable, VerifiedCall};
use super::node::Cluster;
use crate::auth::{Principal, Role};
use crate::runtime::{Envelope, Event, ExitReason, Pid, ProcessTable, Sandbox, SpawnOptions};

/// The subject a node adopts migrated processes on.
pub(super) fn subject(node: &str) -> String {
    format!("arsenal.adopt.{node}")
}

/// What the target needs to start the process again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Adoption {
    worker: String,
    version: String,
    content_hash: String,
    args: String,
    name: Option<String>,
    trap_exit: bool,
    /// The snapshot, hex; none for a worker without `state`.
    state: Option<String>,
    /// The messages queued at the source, oldest first.
    #[serde(default)]
    messages: Vec<Carried>,
}

/// A message that was waiting in the source's mailbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Carried {
    from: Option<String>,
    payload: String,
}

/// The messages among `queued` (calls, timers and notices are not carried).
fn carried(queued: &[Envelope]) -> Vec<Carried> {
    queued
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::Message { from, payload } if envelope.reply.is_none() => Some(Carried {
                from: from.as_ref().map(ToString::to_string),
                payload: payload.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// A process that moved.
#[derive(Debug, Clone)]
pub(crate) struct Migrated {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) node: String,
    pub(crate) state_bytes: u64,
}

/// Why a process did not move.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum MigrateError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotMovable(String),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("{0}")]
    Failed(String),
}

impl Cluster {
    /// Move `target` (a local pid or name) to `node`, as `principal`.
    pub(crate) async fn migrate(
        &self,
        table: &Arc<ProcessTable>,
        target: &str,
        node: &str,
        principal: Principal,
        request_id: &str,
        deadline: SystemTime,
    ) -> Result<Migrated, MigrateError> {
        if node == self.node() {
            return Err(MigrateError::NotMovable(format!(
                "{target} already runs on node `{node}`"
            )));
        }
        let entry = table
            .entry(target)
            .map_err(|error| MigrateError::NotFound(error.to_string()))?;
        let pid = entry.pid.clone();
        let not_movable = |why: &str| MigrateError::NotMovable(format!("{pid} {why}"));
        if entry.check_unprotected().is_err() {
            return Err(not_movable("is a protected host service"));
        }
        if entry.parent.get().is_some() {
            return Err(not_movable(
                "is supervised; its supervisor would restart it here",
            ));
        }
        if Sandbox::of(&entry).is_some() {
            return Err(not_movable("runs in a sandbox"));
        }
        let code = table
            .workers()
            .get(&entry.worker)
            .ok_or_else(|| not_movable("runs a worker that is no longer loaded"))?;
        let name = entry.name.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let pid_text = pid.to_string();
        table
            .suspend(&pid_text)
            .map_err(|error| MigrateError::NotFound(error.to_string()))?;
        // Suspended, it handles nothing more: what is queued now moves with it, and new
        // messages are refused until it has moved (or stays, and has them back).
        let queued = entry.mailbox.close();
        let messages = carried(&queued);
        let moved = async {
            let state = table
                .state(&pid_text)
                .await
                .map_err(|error| MigrateError::NotFound(error.to_string()))?
                .map_err(|error| {
                    MigrateError::Failed(format!("its state could not be taken: {error}"))
                })?;
            let state_bytes = state.as_ref().map_or(0, |state| state.len() as u64);
            let adoption = Adoption {
                worker: code.name().to_owned(),
                version: code.version().to_owned(),
                content_hash: code.content_hash().to_owned(),
                args: entry.args.clone(),
                name: name.clone(),
                trap_exit: entry.trap_exit.load(std::sync::atomic::Ordering::Relaxed),
                state: state.map(hex::encode),
                messages: messages.clone(),
            };
            let body = serde_json::to_vec(&adoption).expect("adoption serialises");
            let reply = self
                .request(
                    node,
                    &subject(node),
                    ForwardedCall {
                        principal,
                        method: "ADOPT".to_owned(),
                        path: pid_text.clone(),
                        content_type: Some("application/json".to_owned()),
                        body: Bytes::from(body),
                        request_id: request_id.to_owned(),
                        deadline,
                        traceparent: None,
                    },
                )
                .await?;
            let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
            if reply.status != 201 {
                return Err(MigrateError::Failed(format!(
                    "node `{node}` refused it: {}",
                    answer["error"]["message"]
                        .as_str()
                        .unwrap_or("no reason given")
                )));
            }
            let to = answer["data"]["pid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            Ok((to, state_bytes))
        }
        .await;
        match moved {
            Ok((to, state_bytes)) => {
                // Unregistered and stopped here: the name now lives on the target.
                let _ = table.exit(&pid_text, None, ExitReason::Shutdown);
                // The calls that waited here end as they would at its exit.
                for envelope in queued {
                    if let Some(reply) = envelope.reply {
                        let _ = reply.send(Err(ExitReason::Shutdown));
                    }
                }
                tracing::info!(from = %pid_text, %to, node, messages = messages.len(), state_bytes, "process migrated");
                Ok(Migrated {
                    from: pid_text,
                    to,
                    node: node.to_owned(),
                    state_bytes,
                })
            }
            Err(error) => {
                entry.mailbox.reopen(queued);
                let _ = table.resume(&pid_text);
                Err(error)
            }
        }
    }

    /// Start a process another node hands over (the target side of a migration).
    pub(super) async fn adopt(
        &self,
        table: Option<Arc<ProcessTable>>,
        call: VerifiedCall,
    ) -> Reply {
        let refused = |status: u16, code: &str, message: String| {
            Reply::error(status, code, &message, &call.request_id)
        };
        if !call.principal.may(Role::Operator) {
            return refused(
                403,
                "forbidden",
                format!(
                    "principal `{}` (role {}) may not migrate processes",
                    call.principal.name(),
                    call.principal.role()
                ),
            );
        }
        let Some(table) = table else {
            return refused(
                503,
                "node_unavailable",
                "this node runs no processes".to_owned(),
            );
        };
        let adoption: Adoption = match serde_json::from_slice(&call.body) {
            Ok(adoption) => adoption,
            Err(error) => return refused(400, "malformed_request", error.to_string()),
        };
        let Some(code) = table.workers().get(&adoption.worker) else {
            return refused(
                409,
                "worker_not_loaded",
                format!("worker `{}` is not loaded on this node", adoption.worker),
            );
        };
        if code.content_hash() != adoption.content_hash {
            return refused(
                409,
                "worker_version_mismatch",
                format!(
                    "worker `{}` here is version {} ({}), the process runs {} ({})",
                    adoption.worker,
                    code.version(),
                    &code.content_hash()[..12.min(code.content_hash().len())],
                    adoption.version,
                    &adoption.content_hash[..12.min(adoption.content_hash.len())],
                ),
            );
        }
        let state = match adoption.state.as_deref().map(hex::decode).transpose() {
            Ok(state) => state,
            Err(error) => return refused(400, "malformed_request", error.to_string()),
        };
        let options = SpawnOptions {
            name: adoption.name.clone(),
            link: None,
            trap_exit: adoption.trap_exit,
            sandbox: None,
        };
        let pid = match table.spawn(code, &adoption.args, options).await {
            Ok(pid) => pid,
            Err(error) => return refused(409, "start_failed", error.to_string()),
        };
        if let Some(state) = state {
            let restored = table
                .restore(&pid.to_string(), &adoption.version, state)
                .await;
            if !matches!(restored, Ok(Ok(()))) {
                let _ = table.exit(&pid.to_string(), None, ExitReason::Kill);
                return refused(
                    500,
                    "migration_failed",
                    "the state could not be restored on this node".to_owned(),
                );
            }
        }
        // Then what was waiting at the source, in its order; the process runs meanwhile,
        // so a mailbox as large as the source's takes them.
        let to = pid.to_string();
        for message in &adoption.messages {
            let from = message
                .from
                .as_deref()
                .and_then(|from| from.parse::<Pid>().ok());
            if let Err(error) = table.send(&to, from, &message.payload) {
                tracing::warn!(pid = %to, %error, "a migrated message was not queued");
            }
        }
        tracing::info!(pid = %pid, from = %call.path, origin = %call.origin, messages = adoption.messages.len(), "process adopted");
        let body = serde_json::json!({ "data": { "pid": pid.to_string() } });
        Reply {
            status: 201,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Bytes::from(body.to_string()),
        }
    }
}
