//! [`Cluster`]: this node's place in the cluster — its NATS link (or none), the members
//! it sees, the tasks that announce it, follow the others and answer forwarded calls.

use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::{Duration, SystemTime};

use async_nats::jetstream;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::forward::{self, ForwardedCall, LocalDispatch, Reply, Secret, Unavailable};
use super::live::Ledger;
use super::membership::{self, Heartbeat, LocalFacts, MemberView, Members, NodeStatus};
use super::names::Names;
use super::replay::{Admission, SeenNonces};
use crate::config::ClusterSettings;
use crate::runtime::ProcessTable;

/// Why clustering could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster.secret is required with cluster.nats_url (at least 32 characters)")]
    NoSecret,
    #[error("cluster.secret must be at least 32 characters")]
    WeakSecret,
    #[error(
        "server.node `{0}` cannot name a cluster node: use 1 to 64 letters, digits, `-` or `_`"
    )]
    NodeName(String),
    #[error(
        "cluster.down_after_ms must be at least twice cluster.heartbeat_ms (and heartbeat_ms at least 10)"
    )]
    Timing,
    #[error("failed to read the NATS credentials file {}: {error}", .path.display())]
    Credentials {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("failed to set up the NATS connection: {0}")]
    Connect(String),
    /// The server answered and refused this node (TLS, authorization): retrying would not
    /// help, so the node does not start.
    #[error("failed to connect to NATS, which refused this node: {0}")]
    Refused(String),
}

/// Reads this node's facts for heartbeats and views.
pub type FactsProbe = Arc<dyn Fn() -> LocalFacts + Send + Sync>;

/// The cluster as this node sees it.
#[derive(Debug, Clone)]
pub(crate) struct ClusterView {
    pub(crate) node: String,
    pub(crate) clustered: bool,
    pub(crate) connection: &'static str,
    pub(crate) heartbeat_ms: u64,
    pub(crate) down_after_ms: u64,
    /// This node first, then the peers by id.
    pub(crate) members: Vec<MemberView>,
}

/// The NATS side of a clustered node.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) client: async_nats::Client,
    pub(super) js: jetstream::Context,
    pub(super) secret: Secret,
}

/// This node's place in the cluster.
pub struct Cluster {
    node: String,
    incarnation: u32,
    started_unix_ms: u64,
    settings: ClusterSettings,
    pub(super) link: Option<Link>,
    pub(super) members: Arc<Members>,
    pub(super) names: Arc<Names>,
    /// The follower of the cluster's live component states.
    pub(super) live: Ledger,
    probe: OnceLock<FactsProbe>,
    table: OnceLock<Weak<ProcessTable>>,
    /// Whether forwarded calls are being answered on NATS (from the first dispatch on).
    answering: std::sync::atomic::AtomicBool,
    /// The dispatch calls run through on this node (the router its assembly built), while
    /// the guard [`Cluster::serve_calls`] gave lives.
    served: RwLock<Option<(u64, Arc<dyn LocalDispatch>)>>,
    /// Numbers the servers' dispatches, so a guard clears only its own.
    serves: std::sync::atomic::AtomicU64,
    /// The nonces of forwarded calls accepted, until their deadlines.
    seen: SeenNonces,
    pub(super) stop: CancellationToken,
    pub(super) tasks: TaskTracker,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.node)
            .field("clustered", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

/// Node ids travel in NATS subjects and keys.
fn valid_node(node: &str) -> bool {
    (1..=64).contains(&node.len())
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Cluster {
    /// This node alone: the cluster of a host that is not started (or not clustered).
    pub(crate) fn standalone(node: &str, incarnation: u32, settings: &ClusterSettings) -> Cluster {
        Cluster {
            node: node.to_owned(),
            incarnation,
            started_unix_ms: membership::unix_ms(),
            settings: settings.clone(),
            link: None,
            members: Arc::default(),
            names: Arc::default(),
            live: Ledger::default(),
            probe: OnceLock::new(),
            table: OnceLock::new(),
            answering: std::sync::atomic::AtomicBool::new(false),
            served: RwLock::new(None),
            serves: Default::default(),
            seen: SeenNonces::default(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub(crate) fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// This node alone, or joined to NATS when `settings.nats_url` is set. The connection
    /// is made in the background and retried: a node starts while NATS is down.
    pub(crate) async fn new(
        node: &str,
        incarnation: u32,
        settings: &ClusterSettings,
    ) -> Result<Cluster, ClusterError> {
        let mut cluster = Cluster::standalone(node, incarnation, settings);
        if let Some(url) = &settings.nats_url {
            cluster.link = Some(connect(node, url, settings).await?);
        }
        Ok(cluster)
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub(crate) fn is_clustered(&self) -> bool {
        self.link.is_some()
    }

    /// The cluster's JetStream, when this node is joined to NATS.
    pub(crate) fn jetstream(&self) -> Option<jetstream::Context> {
        self.link.as_ref().map(|link| link.js.clone())
    }

    fn down_after(&self) -> Duration {
        Duration::from_millis(self.settings.down_after_ms)
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.settings.heartbeat_ms)
    }

    /// The bound on a call when its caller has none.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.call_timeout_ms)
    }

    pub(super) fn connected(&self) -> bool {
        self.link.as_ref().is_some_and(|link| {
            link.client.connection_state() == async_nats::connection::State::Connected
        })
    }

    /// Start announcing this node and following the others; `probe` reads its facts,
    /// `table` adopts migrated processes.
    pub(crate) fn start(self: &Arc<Self>, probe: FactsProbe, table: Weak<ProcessTable>) {
        let _ = self.probe.set(probe);
        let _ = self.table.set(table);
        let Some(link) = &self.link else { return };
        let weak = Arc::downgrade(self);
        let beat = move || {
            weak.upgrade()
                .map(|cluster| cluster.own_heartbeat())
                .unwrap_or_else(|| Heartbeat {
                    node: String::new(),
                    address: None,
                    version: String::new(),
                    incarnation: 0,
                    started_unix_ms: 0,
                    load: Default::default(),
                    components: Vec::new(),
                    names: Vec::new(),
                })
        };
        self.tasks.spawn(membership::announce(
            link.js.clone(),
            self.heartbeat(),
            self.down_after(),
            beat,
            self.stop.clone(),
        ));
        self.tasks.spawn(membership::watch(
            link.js.clone(),
            self.members.clone(),
            self.heartbeat(),
            self.down_after(),
            self.stop.clone(),
        ));
        super::names::start(self);
    }

    /// This node's heartbeat, read now.
    pub(super) fn own_heartbeat(&self) -> Heartbeat {
        let facts = self.local_facts();
        Heartbeat {
            node: self.node.clone(),
            address: facts.address,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            incarnation: self.incarnation,
            started_unix_ms: self.started_unix_ms,
            load: facts.load,
            components: facts.components,
            names: facts.names,
        }
    }

    pub(super) fn local_facts(&self) -> LocalFacts {
        self.probe.get().map(|probe| probe()).unwrap_or_default()
    }

    /// Run calls for this node through `dispatch` until the returned guard drops (a later
    /// dispatch replaces an earlier one), and answer forwarded calls on NATS from now on.
    pub fn serve_calls(self: &Arc<Self>, dispatch: Arc<dyn LocalDispatch>) -> ServedCalls {
        let id = self
            .serves
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.served.write().unwrap_or_else(|p| p.into_inner()) = Some((id, dispatch));
        if self.link.is_some()
            && !self
                .answering
                .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            let cluster = self.clone();
            self.tasks.spawn(async move { cluster.answer().await });
        }
        ServedCalls {
            cluster: Arc::downgrade(self),
            id,
        }
    }

    /// The dispatch that runs calls on this node now.
    fn local_dispatch(&self) -> Option<Arc<dyn LocalDispatch>> {
        let served = self.served.read().unwrap_or_else(|p| p.into_inner());
        served.as_ref().map(|(_, dispatch)| dispatch.clone())
    }

    /// Answer forwarded calls until stopped; the subscription is made again after NATS
    /// comes back (async-nats resubscribes by itself; a failed subscribe is retried).
    async fn answer(self: Arc<Self>) {
        let Some(link) = &self.link else { return };
        loop {
            // Forwarded calls and adoptions: `arsenal.call.<node>`, `arsenal.adopt.<node>`.
            let subscribed = link
                .client
                .subscribe(format!("arsenal.*.{}", self.node))
                .await;
            match subscribed {
                Ok(mut calls) => loop {
                    tokio::select! {
                        () = self.stop.cancelled() => return,
                        message = calls.next() => {
                            let Some(message) = message else { break };
                            let cluster = self.clone();
                            self.tasks.spawn(async move { cluster.answer_one(message).await });
                        }
                    }
                },
                Err(error) => tracing::debug!(%error, "cannot subscribe to forwarded calls yet"),
            }
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(self.heartbeat()) => {}
            }
        }
    }

    async fn answer_one(&self, message: async_nats::Message) {
        let Some(link) = &self.link else { return };
        let Some(reply_to) = message.reply.clone() else {
            return;
        };
        let verified = forward::verify(
            &link.secret,
            &self.node,
            message.headers.as_ref(),
            &message.payload,
        )
        .and_then(|(call, nonce)| {
            // Only a call whose claims verify is remembered: a forger cannot fill this.
            let deadline = call
                .deadline
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as u64);
            match self.seen.admit(nonce, deadline, membership::unix_ms()) {
                Admission::Fresh => Ok(Some(call)),
                Admission::Replayed => Err(forward::Forged::Replayed),
                Admission::Full => Ok(None),
            }
        });
        let reply = match verified {
            Err(forged) => {
                tracing::warn!(error = %forged, "forwarded call refused");
                Reply::error(401, "forwarded_identity_invalid", &forged.to_string(), "")
            }
            Ok(None) => {
                tracing::warn!("forwarded call refused: too many calls within their deadlines");
                Reply::error(
                    503,
                    "overloaded",
                    "this node holds too many forwarded calls within their deadlines",
                    "",
                )
            }
            Ok(Some(call)) if message.subject.as_str() == super::migrate::subject(&self.node) => {
                let table = self.table.get().and_then(Weak::upgrade);
                self.adopt(table, call).await
            }
            Ok(Some(call)) => {
                let request_id = call.request_id.clone();
                let left = call
                    .deadline
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                match self.local_dispatch() {
                    None => Reply::error(
                        503,
                        "node_unavailable",
                        "this node serves no calls",
                        &request_id,
                    ),
                    Some(dispatch) => {
                        match tokio::time::timeout(left, dispatch.dispatch(call)).await {
                            Ok(reply) => reply,
                            Err(_) => Reply::error(
                                504,
                                "request_timeout",
                                "the forwarded call ran past its caller's deadline",
                                &request_id,
                            ),
                        }
                    }
                }
            }
        };
        let (headers, body) = forward::reply_message(&reply);
        if let Err(error) = link
            .client
            .publish_with_headers(reply_to, headers, body)
            .await
        {
            tracing::debug!(%error, "reply to a forwarded call lost");
        }
    }

    /// Run `call` on `node`: here through the local dispatch, elsewhere through NATS.
    /// Never waits past the call's deadline.
    pub async fn call(&self, node: &str, call: ForwardedCall) -> Result<Reply, Unavailable> {
        if node == self.node {
            let dispatch = self
                .local_dispatch()
                .ok_or_else(|| Unavailable::NoResponders(node.to_owned()))?;
            return Ok(dispatch
                .dispatch(forward::VerifiedCall {
                    principal: call.principal,
                    method: call.method,
                    path: call.path,
                    content_type: call.content_type,
                    body: call.body,
                    request_id: call.request_id,
                    origin: self.node.clone(),
                    deadline: call.deadline,
                    traceparent: call.traceparent,
                })
                .await);
        }
        self.request(node, &forward::subject(node), call).await
    }

    /// Send `call` to `node` on `subject` and wait for the answer, at most until the
    /// call's deadline.
    pub(super) async fn request(
        &self,
        node: &str,
        subject: &str,
        call: ForwardedCall,
    ) -> Result<Reply, Unavailable> {
        let Some(link) = &self.link else {
            return Err(Unavailable::Unknown(node.to_owned()));
        };
        if !valid_node(node) {
            return Err(Unavailable::Unknown(node.to_owned()));
        }
        if !self.connected() {
            return Err(Unavailable::Disconnected(node.to_owned()));
        }
        match self.members.peer(node, self.down_after(), true) {
            None => return Err(Unavailable::Unknown(node.to_owned())),
            Some(member) if member.status == NodeStatus::Down => {
                return Err(Unavailable::Down(node.to_owned()));
            }
            Some(_) => {}
        }
        let left = call
            .deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let headers = forward::sign(&link.secret, &self.node, node, &call);
        let request = async_nats::Request::new()
            .payload(call.body.clone())
            .headers(headers)
            .timeout(Some(left.max(Duration::from_millis(1))));
        match link.client.send_request(subject.to_owned(), request).await {
            Ok(message) => forward::reply_from(message.headers.as_ref(), message.payload)
                .ok_or_else(|| Unavailable::Failed {
                    node: node.to_owned(),
                    reason: "its answer was malformed".to_owned(),
                }),
            Err(error) => Err(match error.kind() {
                async_nats::RequestErrorKind::NoResponders => {
                    Unavailable::NoResponders(node.to_owned())
                }
                async_nats::RequestErrorKind::TimedOut => Unavailable::TimedOut(node.to_owned()),
                async_nats::RequestErrorKind::InvalidSubject
                | async_nats::RequestErrorKind::MaxPayloadExceeded
                | async_nats::RequestErrorKind::Other => Unavailable::Failed {
                    node: node.to_owned(),
                    reason: error.to_string(),
                },
            }),
        }
    }

    /// Every member this node knows, itself first.
    pub(crate) fn view(&self) -> ClusterView {
        let connection = match &self.link {
            None => "standalone",
            Some(link) => match link.client.connection_state() {
                async_nats::connection::State::Connected => "connected",
                async_nats::connection::State::Pending => "connecting",
                async_nats::connection::State::Disconnected => "disconnected",
            },
        };
        let mut members = vec![MemberView {
            beat: self.own_heartbeat(),
            status: NodeStatus::ThisNode,
            last_heartbeat: None,
        }];
        members.extend(
            self.members
                .peers(&self.node, self.down_after(), self.connected()),
        );
        ClusterView {
            node: self.node.clone(),
            clustered: self.is_clustered(),
            connection,
            heartbeat_ms: self.settings.heartbeat_ms,
            down_after_ms: self.settings.down_after_ms,
            members,
        }
    }

    /// The status of `node` as this node sees it (`None`: never seen).
    pub(crate) fn status_of(&self, node: &str) -> Option<NodeStatus> {
        if node == self.node {
            return Some(NodeStatus::ThisNode);
        }
        self.members
            .peer(node, self.down_after(), self.connected())
            .map(|member| member.status)
    }

    /// Stop every cluster task: the node leaves (its heartbeat stops, peers see it down).
    pub(crate) fn stop(&self) {
        self.stop.cancel();
        self.tasks.close();
    }
}

/// While held, forwarded calls run through the served router it was made for.
pub struct ServedCalls {
    cluster: Weak<Cluster>,
    id: u64,
}

impl Drop for ServedCalls {
    /// The served router holds the host: let it go with the server, so the host can stop.
    fn drop(&mut self) {
        if let Some(cluster) = self.cluster.upgrade() {
            let mut served = cluster.served.write().unwrap_or_else(|p| p.into_inner());
            let ours = served.as_ref().is_some_and(|(id, _)| *id == self.id);
            // Dropped after the lock: it may hold the last reference to the host.
            let router = if ours { served.take() } else { None };
            drop(served);
            drop(router);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Connect to NATS, with credentials and TLS when configured. A server out of reach is
/// retried in the background (the node starts while NATS is down); a server that refuses
/// this node is an error at once.
async fn connect(node: &str, url: &str, settings: &ClusterSettings) -> Result<Link, ClusterError> {
    let secret = settings.secret.as_deref().ok_or(ClusterError::NoSecret)?;
    if secret.len() < 32 {
        return Err(ClusterError::WeakSecret);
    }
    if !valid_node(node) {
        return Err(ClusterError::NodeName(node.to_owned()));
    }
    if settings.heartbeat_ms < 10 || settings.down_after_ms < settings.heartbeat_ms * 2 {
        return Err(ClusterError::Timing);
    }
    let client = match options(node, url, settings).await?.connect(url).await {
        Ok(client) => client,
        Err(error) if refused(&error) => return Err(ClusterError::Refused(error.to_string())),
        // NATS is down or out of reach for now: the node starts, and keeps trying.
        Err(_) => options(node, url, settings)
            .await?
            .retry_on_initial_connect()
            .connect(url)
            .await
            .map_err(|error| ClusterError::Connect(error.to_string()))?,
    };
    let js = jetstream::new(client.clone());
    Ok(Link {
        client,
        js,
        secret: Secret::new(secret),
    })
}

/// The options of this node's NATS connection, with credentials and TLS when configured,
/// and the user and password of `url` (`nats://user:password@host:port`) when it has them:
/// async-nats does not take them from the URL itself.
async fn options(
    node: &str,
    url: &str,
    settings: &ClusterSettings,
) -> Result<async_nats::ConnectOptions, ClusterError> {
    let mut options = match user_and_password(url) {
        Some((user, password)) => {
            async_nats::ConnectOptions::with_user_and_password(user, password)
        }
        None => async_nats::ConnectOptions::new(),
    };
    options = options
        .name(format!("arsenal-{node}"))
        .connection_timeout(Duration::from_secs(2))
        // Reconnect quickly: a node cut off from NATS is cut off from its peers.
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((100 * attempts as u64).min(2_000))
        });
    if let Some(path) = &settings.credentials_file {
        options =
            options
                .credentials_file(path)
                .await
                .map_err(|error| ClusterError::Credentials {
                    path: path.clone(),
                    error,
                })?;
    }
    if let Some(ca) = &settings.tls_ca_file {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&settings.tls_cert_file, &settings.tls_key_file) {
        options = options
            .add_client_certificate(cert.clone(), key.clone())
            .require_tls(true);
    }
    Ok(options)
}

/// The first user and password among the comma-separated server URLs of `url`.
fn user_and_password(url: &str) -> Option<(String, String)> {
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8_lossy()
            .into_owned()
    };
    url.split(',').find_map(|server| {
        let server: async_nats::ServerAddr = server.trim().parse().ok()?;
        let user = server.username()?;
        Some((decode(user), decode(server.password().unwrap_or_default())))
    })
}

/// Whether a first connection failed because the server refused this node — its
/// certificate, its TLS setup, its credentials — rather than being out of reach. A TLS
/// handshake that fails surfaces as an I/O error of kind `InvalidData`.
fn refused(error: &async_nats::ConnectError) -> bool {
    use async_nats::ConnectErrorKind as Kind;
    match error.kind() {
        Kind::Tls | Kind::Authentication | Kind::AuthorizationViolation => true,
        Kind::Io => std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData),
        _ => false,
    }
}
