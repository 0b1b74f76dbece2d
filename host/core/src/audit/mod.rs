//! The audit log: every state-changing operation call and every admin action, with its
//! principal, operation and version, parameters (secrets redacted), outcome, status,
//! duration and request id — written durably before the answer is sent, and kept also
//! when the client disconnected first. `GET /api/v1/audit` (admin) queries it.

mod record;
mod store;

pub use record::{AuditRecord, Outcome, REDACTED, redact};
pub use store::{AuditError, AuditLog, Filter, Page};
