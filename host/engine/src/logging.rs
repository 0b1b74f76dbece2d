//! Baseline import `arsenal:operation/log`: guest log lines go to the host's log, tagged
//! with the operation and request id, under a per-call budget so a guest that logs in a
//! loop cannot flood the host's log. Components of the contract 0.1.0 log through the
//! same function.

use crate::bindings::arsenal::operation::log::{Host, Level};
use crate::bindings::v0_1_0::arsenal::operation::log as log_0_1_0;
use crate::guest::GuestState;

/// Longest logged message, in bytes; longer ones are cut at a character boundary.
const MAX_MESSAGE_BYTES: usize = 4096;

/// Log lines kept per call; further lines are counted and reported once at the end.
const LOG_LINE_BUDGET: u32 = 1000;

impl Host for GuestState {
    fn log(&mut self, level: Level, message: String) {
        if self.context.log_lines >= LOG_LINE_BUDGET {
            self.context.log_dropped += 1;
            return;
        }
        self.context.log_lines += 1;
        let mut end = message.len().min(MAX_MESSAGE_BYTES);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let message = &message[..end];
        let operation = &*self.context.operation;
        let request_id = &*self.context.request_id;
        match level {
            Level::Trace => tracing::trace!(target: "guest", operation, request_id, "{message}"),
            Level::Debug => tracing::debug!(target: "guest", operation, request_id, "{message}"),
            Level::Info => tracing::info!(target: "guest", operation, request_id, "{message}"),
            Level::Warn => tracing::warn!(target: "guest", operation, request_id, "{message}"),
            Level::Error => tracing::error!(target: "guest", operation, request_id, "{message}"),
        }
    }
}

impl log_0_1_0::Host for GuestState {
    fn log(&mut self, level: log_0_1_0::Level, message: String) {
        let level = match level {
            log_0_1_0::Level::Trace => Level::Trace,
            log_0_1_0::Level::Debug => Level::Debug,
            log_0_1_0::Level::Info => Level::Info,
            log_0_1_0::Level::Warn => Level::Warn,
            log_0_1_0::Level::Error => Level::Error,
        };
        Host::log(self, level, message);
    }
}
