//! [`AuditLog`]: records kept in an embedded database (redb) that commits with fsync, by
//! one writer thread doing group commit: every record waiting when a commit starts goes
//! into it, and each `append` returns only once its record is on disk — so an answer is
//! never sent for a change the log could lose. Readers run beside the writer (redb's
//! MVCC) and page newest first with a cursor.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use tokio::sync::{mpsc, oneshot};

use super::record::{AuditRecord, Outcome};

const RECORDS: TableDefinition<'static, u64, &'static [u8]> = TableDefinition::new("records");
/// Records waiting for the writer before `append` waits for room.
const QUEUE: usize = 4096;
/// Records committed together at most.
const GROUP: usize = 512;

/// The audit log could not do its work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log: {0}")]
pub struct AuditError(String);

fn failed(error: impl std::fmt::Display) -> AuditError {
    AuditError(error.to_string())
}

/// Which records a query wants. Every field narrows; none means all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub principal: Option<String>,
    pub operation: Option<String>,
    pub outcome: Option<Outcome>,
    pub request_id: Option<String>,
    /// Arrived at or after, in ms since the epoch.
    pub since_ms: Option<u64>,
    /// Arrived before, in ms since the epoch.
    pub until_ms: Option<u64>,
    /// Only records older than this position (the previous page's cursor).
    pub before: Option<u64>,
    pub limit: usize,
}

impl Filter {
    fn admits(&self, record: &AuditRecord) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|p| *p == record.principal)
            && self
                .operation
                .as_ref()
                .is_none_or(|op| record.operation.as_ref() == Some(op))
            && self.outcome.is_none_or(|outcome| outcome == record.outcome)
            && self
                .request_id
                .as_ref()
                .is_none_or(|id| *id == record.request_id)
            && self.since_ms.is_none_or(|since| record.time_ms >= since)
            && self.until_ms.is_none_or(|until| record.time_ms < until)
    }
}

/// One page of a query, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<AuditRecord>,
    /// Pass as `before` for the next page; none when this page reached the start.
    pub next: Option<u64>,
}

struct Pending {
    record: AuditRecord,
    written: oneshot::Sender<Result<u64, AuditError>>,
}

/// The audit log of one host.
pub struct AuditLog {
    db: Arc<Database>,
    /// Taken on drop, which ends the writer once it has written what is queued.
    queue: Option<mpsc::Sender<Pending>>,
    writer: Option<std::thread::JoinHandle<()>>,
    durable: bool,
}

impl Drop for AuditLog {
    /// Let the writer finish and release the database, so the directory can be opened
    /// again at once (a restart in the same process).
    fn drop(&mut self) {
        self.queue.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("durable", &self.durable)
            .finish()
    }
}

impl AuditLog {
    /// The log in `dir` (`audit.redb`), created if missing; in memory when there is no
    /// directory (persistence off), which is said at start. At most `retain` records are
    /// kept, the oldest dropped first; its page cache holds at most `cache_bytes`.
    pub fn open(
        dir: Option<&Path>,
        retain: u64,
        cache_bytes: usize,
    ) -> Result<AuditLog, AuditError> {
        let mut builder = Database::builder();
        builder.set_cache_size(cache_bytes);
        let db = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(failed)?;
                builder.create(dir.join("audit.redb")).map_err(failed)?
            }
            None => {
                tracing::warn!("no state directory: the audit log is kept in memory only");
                builder
                    .create_with_backend(redb::backends::InMemoryBackend::new())
                    .map_err(failed)?
            }
        };
        let db = Arc::new(db);
        let next = {
            let txn = db.begin_write().map_err(failed)?;
            let last = {
                let table = txn.open_table(RECORDS).map_err(failed)?;
                let last = table.last().map_err(failed)?;
                last.map(|(seq, _)| seq.value())
            };
            txn.commit().map_err(failed)?;
            last.unwrap_or(0) + 1
        };
        let (queue, waiting) = mpsc::channel(QUEUE);
        let writer = Writer {
            db: db.clone(),
            next,
            retain: retain.max(1),
        };
        let writer = std::thread::Builder::new()
            .name("arsenal-audit".to_owned())
            .spawn(move || writer.run(waiting))
            .map_err(failed)?;
        Ok(AuditLog {
            db,
            queue: Some(queue),
            writer: Some(writer),
            durable: dir.is_some(),
        })
    }

    /// Whether records survive the process.
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// Write `record`; returns its position once it is committed (on disk, for a durable
    /// log).
    pub async fn append(&self, record: AuditRecord) -> Result<u64, AuditError> {
        let (written, done) = oneshot::channel();
        let queue = self.queue.as_ref().expect("the queue lives until drop");
        queue
            .send(Pending { record, written })
            .await
            .map_err(|_| AuditError("the writer has stopped".to_owned()))?;
        done.await
            .map_err(|_| AuditError("the writer has stopped".to_owned()))?
    }

    /// The records `filter` admits, newest first, one page. Blocking: reads the database.
    pub fn query(&self, filter: &Filter) -> Result<Page, AuditError> {
        let txn = self.db.begin_read().map_err(failed)?;
        let table = txn.open_table(RECORDS).map_err(failed)?;
        let range = match filter.before {
            Some(before) => table.range(..before),
            None => table.range::<u64>(..),
        }
        .map_err(failed)?;
        let limit = filter.limit.max(1);
        let mut records = Vec::with_capacity(limit.min(256));
        let mut more = false;
        for entry in range.rev() {
            let (_, bytes) = entry.map_err(failed)?;
            let record: AuditRecord = serde_json::from_slice(bytes.value()).map_err(failed)?;
            if !filter.admits(&record) {
                continue;
            }
            if records.len() == limit {
                more = true;
                break;
            }
            records.push(record);
        }
        let next = more
            .then(|| records.last().map(|record| record.seq))
            .flatten();
        Ok(Page { records, next })
    }
}

/// The one thread that writes.
struct Writer {
    db: Arc<Database>,
    next: u64,
    retain: u64,
}

impl Writer {
    fn run(mut self, mut waiting: mpsc::Receiver<Pending>) {
        while let Some(first) = waiting.blocking_recv() {
            let mut group = vec![first];
            while group.len() < GROUP {
                match waiting.try_recv() {
                    Ok(pending) => group.push(pending),
                    Err(_) => break,
                }
            }
            let written = self.commit(&mut group);
            if let Err(error) = &written {
                tracing::error!(%error, records = group.len(), "audit records not written");
            }
            for pending in group {
                let _ = pending
                    .written
                    .send(written.clone().map(|()| pending.record.seq));
            }
        }
    }

    /// Number, insert and commit a group; positions are used only if the commit is.
    fn commit(&mut self, group: &mut [Pending]) -> Result<(), AuditError> {
        let txn = self.db.begin_write().map_err(failed)?;
        let mut next = self.next;
        {
            let mut table = txn.open_table(RECORDS).map_err(failed)?;
            for pending in group.iter_mut() {
                pending.record.seq = next;
                let bytes = serde_json::to_vec(&pending.record).map_err(failed)?;
                table.insert(next, bytes.as_slice()).map_err(failed)?;
                next += 1;
            }
            // Retention: the oldest beyond `retain` go, in the same transaction.
            if next - 1 > self.retain {
                let keep_from = next - self.retain;
                table.retain_in(..keep_from, |_, _| false).map_err(failed)?;
            }
        }
        txn.commit().map_err(failed)?;
        self.next = next;
        Ok(())
    }
}
