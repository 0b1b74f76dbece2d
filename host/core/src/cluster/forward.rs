//! Forwarded calls: an operation call sent to another node by NATS request-reply on
//! `arsenal.call.<node>`, carrying the caller's identity and deadline as claims signed
//! with HMAC-SHA256 over the cluster secret. The receiving node verifies the signature,
//! that the claims name it, that the deadline has not passed and that the body is the one
//! signed, then runs the call through its own router as that caller — its own role
//! checks apply. Each call carries a random nonce that the receiver remembers until the
//! call's deadline (`replay.rs`), so a captured call cannot be sent again. A refused
//! claim answers 401 `forwarded_identity_invalid`.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{Principal, Role};

/// The header holding the signed claims (JSON).
pub(super) const CLAIMS: &str = "Arsenal-Claims";
/// The header holding the hex HMAC-SHA256 of the claims.
pub(super) const SIGNATURE: &str = "Arsenal-Signature";
/// The reply header holding the HTTP status.
pub(super) const STATUS: &str = "Arsenal-Status";
/// Reply headers carried back from the answering node.
pub const CARRIED: &[&str] = &[
    "content-type",
    "x-operation-version",
    "x-operation-revision",
    "x-arsenal-node",
    // The answering node's trace context: the caller's trace, continued there.
    "traceparent",
];
/// How far a claim's issue time may be from the receiver's clock, and the furthest its
/// deadline may be: a nonce is remembered until the deadline, so that must be bounded.
const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The subject a node answers forwarded calls on.
pub(super) fn subject(node: &str) -> String {
    format!("arsenal.call.{node}")
}

/// A call to run on another node, as its caller made it.
#[derive(Debug, Clone)]
pub struct ForwardedCall {
    pub principal: Principal,
    pub method: String,
    /// Path and query.
    pub path: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub request_id: String,
    /// The caller's deadline.
    pub deadline: SystemTime,
    /// The caller's W3C trace context (this node's span as the parent), continued there.
    pub traceparent: Option<String>,
}

/// A forwarded call this node accepted: the identity is the origin's, verified.
#[derive(Debug, Clone)]
pub struct VerifiedCall {
    pub principal: Principal,
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub request_id: String,
    pub(crate) origin: String,
    pub(crate) deadline: SystemTime,
    pub traceparent: Option<String>,
}

/// A node's answer: HTTP status, the carried headers, the body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Reply {
    /// An answer in the API's error shape.
    pub fn error(status: u16, code: &str, message: &str, request_id: &str) -> Reply {
        let body = serde_json::json!({
            "error": { "code": code, "message": message, "details": null, "request_id": request_id }
        });
        Reply {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Bytes::from(body.to_string()),
        }
    }
}

/// Runs verified calls on this node (the HTTP layer's router, without holding the host).
pub trait LocalDispatch: Send + Sync {
    fn dispatch(&self, call: VerifiedCall) -> Pin<Box<dyn Future<Output = Reply> + Send>>;
}

/// Why a call did not reach the node, or got no answer: 503 `node_unavailable`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("node `{0}` is not a member of this cluster")]
    Unknown(String),
    #[error("node `{0}` is down")]
    Down(String),
    #[error("node `{0}` cannot be reached: this node is not connected to NATS")]
    Disconnected(String),
    #[error("node `{0}` did not answer")]
    NoResponders(String),
    #[error("node `{0}` did not answer before the deadline")]
    TimedOut(String),
    #[error("node `{node}` cannot be reached: {reason}")]
    Failed { node: String, reason: String },
}

impl Unavailable {
    /// The node it names.
    pub fn node(&self) -> &str {
        match self {
            Unavailable::Unknown(node)
            | Unavailable::Down(node)
            | Unavailable::Disconnected(node)
            | Unavailable::NoResponders(node)
            | Unavailable::TimedOut(node)
            | Unavailable::Failed { node, .. } => node,
        }
    }
}

/// Why a forwarded identity is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Forged {
    #[error("the forwarded call carries no signed claims")]
    Unsigned,
    #[error("the signature of the forwarded claims does not verify")]
    BadSignature,
    #[error("the forwarded claims are malformed: {0}")]
    Malformed(String),
    #[error("the forwarded call is addressed to node `{0}`")]
    WrongNode(String),
    #[error("the forwarded call was issued too far from this node's clock")]
    Stale,
    #[error("the forwarded body is not the one signed")]
    BodyMismatch,
    #[error("the forwarded call's deadline has passed")]
    Expired,
    #[error("the forwarded call's deadline is further than five minutes away")]
    DeadlineTooFar,
    #[error("the forwarded call was received before: a replay")]
    Replayed,
}

/// What the origin signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    origin: String,
    target: String,
    principal: String,
    role: Role,
    authenticated: bool,
    request_id: String,
    method: String,
    path: String,
    content_type: Option<String>,
    issued_unix_ms: u64,
    deadline_unix_ms: u64,
    body_sha256: String,
    /// Random, 128 bits in hex: the receiver accepts each nonce once.
    nonce: String,
    /// The W3C trace context the call continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traceparent: Option<String>,
}

/// The cluster secret, as an HMAC key.
#[derive(Clone)]
pub(super) struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub(super) fn new(secret: &str) -> Secret {
        Secret(secret.as_bytes().to_vec())
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }

    /// The hex HMAC-SHA256 of `bytes`.
    pub(super) fn sign(&self, bytes: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` (hex) is the HMAC-SHA256 of `bytes`; compared in constant time.
    pub(super) fn verifies(&self, bytes: &[u8], signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(bytes);
        mac.verify_slice(&signature).is_ok()
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// 128 random bits from the operating system.
fn nonce() -> [u8; 16] {
    let mut bytes = [0; 16];
    // The system's random source failing is not something a node can run on.
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    bytes
}

/// The headers of `call` from `origin` to `target`, signed with `secret`.
pub(super) fn sign(secret: &Secret, origin: &str, target: &str, call: &ForwardedCall) -> HeaderMap {
    let claims = Claims {
        origin: origin.to_owned(),
        target: target.to_owned(),
        principal: call.principal.name().to_owned(),
        role: call.principal.role(),
        authenticated: call.principal.is_authenticated(),
        request_id: call.request_id.clone(),
        method: call.method.clone(),
        path: call.path.clone(),
        content_type: call.content_type.clone(),
        issued_unix_ms: unix_ms(SystemTime::now()),
        deadline_unix_ms: unix_ms(call.deadline),
        body_sha256: hex::encode(Sha256::digest(&call.body)),
        nonce: hex::encode(nonce()),
        traceparent: call.traceparent.clone(),
    };
    let text = serde_json::to_string(&claims).expect("claims serialise");
    let signature = secret.sign(text.as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(CLAIMS, text.as_str());
    headers.insert(SIGNATURE, signature.as_str());
    headers
}

/// Check a received call's claims against `secret`, this node and this node's clock;
/// returns the call and its nonce, which the caller checks against the calls seen.
pub(super) fn verify(
    secret: &Secret,
    this_node: &str,
    headers: Option<&HeaderMap>,
    body: &Bytes,
) -> Result<(VerifiedCall, u128), Forged> {
    let headers = headers.ok_or(Forged::Unsigned)?;
    let text = headers.get(CLAIMS).ok_or(Forged::Unsigned)?.as_str();
    let signature = headers.get(SIGNATURE).ok_or(Forged::Unsigned)?.as_str();
    if !secret.verifies(text.as_bytes(), signature) {
        return Err(Forged::BadSignature);
    }
    let claims: Claims =
        serde_json::from_str(text).map_err(|error| Forged::Malformed(error.to_string()))?;
    if claims.target != this_node {
        return Err(Forged::WrongNode(claims.target));
    }
    let now = unix_ms(SystemTime::now());
    let skew = CLOCK_SKEW.as_millis() as u64;
    if claims.issued_unix_ms.abs_diff(now) > skew {
        return Err(Forged::Stale);
    }
    if claims.deadline_unix_ms < now {
        return Err(Forged::Expired);
    }
    if claims.deadline_unix_ms > now.saturating_add(skew) {
        return Err(Forged::DeadlineTooFar);
    }
    if hex::encode(Sha256::digest(body)) != claims.body_sha256 {
        return Err(Forged::BodyMismatch);
    }
    let nonce = hex::decode(&claims.nonce)
        .ok()
        .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
        .map(u128::from_be_bytes)
        .ok_or_else(|| Forged::Malformed("the nonce is not 128 bits in hex".to_owned()))?;
    let principal = if claims.authenticated {
        Principal::new(&claims.principal, claims.role)
    } else {
        Principal::anonymous_reader()
    };
    let call = VerifiedCall {
        principal,
        method: claims.method,
        path: claims.path,
        content_type: claims.content_type,
        body: body.clone(),
        request_id: claims.request_id,
        origin: claims.origin,
        deadline: UNIX_EPOCH + Duration::from_millis(claims.deadline_unix_ms),
        traceparent: claims.traceparent,
    };
    Ok((call, nonce))
}

/// A reply as NATS headers and payload.
pub(super) fn reply_message(reply: &Reply) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert(STATUS, reply.status.to_string().as_str());
    for (name, value) in &reply.headers {
        headers.insert(name.as_str(), value.as_str());
    }
    (headers, reply.body.clone())
}

/// A reply from NATS headers and payload.
pub(super) fn reply_from(headers: Option<&HeaderMap>, body: Bytes) -> Option<Reply> {
    let headers = headers?;
    let status = headers.get(STATUS)?.as_str().parse().ok()?;
    let carried = CARRIED
        .iter()
        .filter_map(|name| {
            headers
                .get(*name)
                .map(|value| ((*name).to_owned(), value.as_str().to_owned()))
        })
        .collect();
    Some(Reply {
        status,
        headers: carried,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn call() -> ForwardedCall {
        ForwardedCall {
            principal: Principal::new("ops", Role::Operator),
            method: "GET".to_owned(),
            path: "/api/v1/processes".to_owned(),
            content_type: None,
            body: Bytes::from_static(b"{}"),
            request_id: "r1".to_owned(),
            deadline: SystemTime::now() + Duration::from_secs(5),
            traceparent: Some(TRACEPARENT.to_owned()),
        }
    }

    #[test]
    fn a_signed_call_verifies_on_its_node_only() {
        let secret = Secret::new("a-secret-long-enough-for-the-cluster");
        let headers = sign(&secret, "a", "b", &call());
        let (verified, nonce) = verify(&secret, "b", Some(&headers), &call().body).unwrap();
        assert_eq!(verified.principal, Principal::new("ops", Role::Operator));
        assert_eq!(verified.traceparent.as_deref(), Some(TRACEPARENT));
        // Each signing draws a new nonce.
        let (_, again) = verify(
            &secret,
            "b",
            Some(&sign(&secret, "a", "b", &call())),
            &call().body,
        )
        .unwrap();
        assert_ne!(nonce, again);
        assert_eq!(verified.origin, "a");
        assert_eq!(
            verify(&secret, "c", Some(&headers), &call().body).unwrap_err(),
            Forged::WrongNode("b".to_owned())
        );
        assert_eq!(
            verify(
                &secret,
                "b",
                Some(&headers),
                &Bytes::from_static(b"{\"x\":1}")
            )
            .unwrap_err(),
            Forged::BodyMismatch
        );
    }

    #[test]
    fn a_forged_or_altered_claim_is_refused() {
        let secret = Secret::new("a-secret-long-enough-for-the-cluster");
        let other = Secret::new("another-secret-long-enough-for-it");
        let headers = sign(&other, "a", "b", &call());
        assert_eq!(
            verify(&secret, "b", Some(&headers), &call().body).unwrap_err(),
            Forged::BadSignature
        );
        let mut altered = sign(&secret, "a", "b", &call());
        let claims = altered
            .get(CLAIMS)
            .unwrap()
            .as_str()
            .replace("operator", "admin");
        altered.insert(CLAIMS, claims.as_str());
        assert_eq!(
            verify(&secret, "b", Some(&altered), &call().body).unwrap_err(),
            Forged::BadSignature
        );
        assert_eq!(
            verify(&secret, "b", None, &call().body).unwrap_err(),
            Forged::Unsigned
        );
    }

    #[test]
    fn a_call_past_its_deadline_or_with_one_too_far_is_refused() {
        let secret = Secret::new("a-secret-long-enough-for-the-cluster");
        let mut late = call();
        late.deadline = SystemTime::now() - Duration::from_millis(1);
        let headers = sign(&secret, "a", "b", &late);
        assert_eq!(
            verify(&secret, "b", Some(&headers), &late.body).unwrap_err(),
            Forged::Expired
        );
        let mut far = call();
        far.deadline = SystemTime::now() + Duration::from_secs(3_600);
        let headers = sign(&secret, "a", "b", &far);
        assert_eq!(
            verify(&secret, "b", Some(&headers), &far.body).unwrap_err(),
            Forged::DeadlineTooFar
        );
    }
}
