//! A process's bounded mailbox. Written by hand rather than with a tokio channel because
//! operators inspect mailboxes without consuming them (`inspect_mailbox`,
//! `analyze_message_queue`), and no channel of tokio or crossbeam lets a reader look at
//! queued items. One consumer (the process's actor), any number of senders; a full
//! mailbox refuses the message, so nothing is ever dropped silently.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;

use super::signal::{Envelope, Event};

/// Why a message was not queued.
pub(crate) enum Refused {
    Full,
    Closed,
}

struct Queued {
    envelope: Envelope,
    at: Instant,
}

struct Queue {
    items: VecDeque<Queued>,
    closed: bool,
}

pub struct Mailbox {
    queue: Mutex<Queue>,
    ready: Notify,
    capacity: usize,
}

/// A queued message as an operator sees it.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    /// Position in the queue, 0 being handled next.
    pub position: usize,
    /// `message`, `call`, `exit`, `down` or `timer`.
    pub kind: &'static str,
    pub from: Option<String>,
    pub payload: String,
    /// How long it has waited, in milliseconds.
    pub age_ms: u64,
}

impl Mailbox {
    pub(super) fn new(capacity: usize) -> Mailbox {
        Mailbox {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Queue an envelope, or refuse it when full or closed.
    pub(crate) fn push(&self, envelope: Envelope) -> Result<(), Refused> {
        {
            let mut queue = self.lock();
            if queue.closed {
                return Err(Refused::Closed);
            }
            if queue.items.len() >= self.capacity {
                return Err(Refused::Full);
            }
            queue.items.push_back(Queued {
                envelope,
                at: Instant::now(),
            });
        }
        // One consumer: a stored permit wakes it even if it is not waiting yet.
        self.ready.notify_one();
        Ok(())
    }

    pub(crate) fn try_recv(&self) -> Option<Envelope> {
        self.lock().items.pop_front().map(|queued| queued.envelope)
    }

    /// The next envelope; `None` once closed and empty. Cancel-safe: an envelope is only
    /// taken in the poll that returns it.
    pub(crate) async fn recv(&self) -> Option<Envelope> {
        loop {
            {
                let mut queue = self.lock();
                if let Some(queued) = queue.items.pop_front() {
                    return Some(queued.envelope);
                }
                if queue.closed {
                    return None;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Refuse further messages and hand back those still queued.
    pub fn close(&self) -> Vec<Envelope> {
        let mut queue = self.lock();
        queue.closed = true;
        queue
            .items
            .drain(..)
            .map(|queued| queued.envelope)
            .collect()
    }

    /// Accept messages again, `envelopes` first, in their order: what [`Mailbox::close`]
    /// handed back from a process that stays after all (a migration that failed). They
    /// count their wait from now.
    pub fn reopen(&self, envelopes: Vec<Envelope>) {
        {
            let mut queue = self.lock();
            queue.closed = false;
            let now = Instant::now();
            for envelope in envelopes.into_iter().rev() {
                queue.items.push_front(Queued { envelope, at: now });
            }
        }
        self.ready.notify_one();
    }

    /// The first `limit` queued messages, without taking them.
    pub(crate) fn peek(&self, limit: usize) -> Vec<QueuedMessage> {
        let now = Instant::now();
        self.lock()
            .items
            .iter()
            .take(limit)
            .enumerate()
            .map(|(position, queued)| {
                let (kind, from, payload) = describe(&queued.envelope.event);
                QueuedMessage {
                    position,
                    kind,
                    from,
                    payload,
                    age_ms: now.duration_since(queued.at).as_millis() as u64,
                }
            })
            .collect()
    }
}

/// An event in one line, for traces.
pub(crate) fn describe_event(event: &Event) -> String {
    let (kind, from, payload) = describe(event);
    match from {
        Some(from) => format!("{kind} from {from}: {payload}"),
        None => format!("{kind}: {payload}"),
    }
}

fn describe(event: &Event) -> (&'static str, Option<String>, String) {
    match event {
        Event::Message { from, payload } => (
            "message",
            from.as_ref().map(ToString::to_string),
            payload.clone(),
        ),
        Event::Call { from, payload } => (
            "call",
            from.as_ref().map(ToString::to_string),
            payload.clone(),
        ),
        Event::Exit { from, reason } => ("exit", Some(from.to_string()), reason.to_string()),
        Event::Down { from, reason } => ("down", Some(from.to_string()), reason.to_string()),
        Event::Timer { id, payload } => ("timer", None, format!("{id}: {payload}")),
    }
}
