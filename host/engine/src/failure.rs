//! How guest code fails: past its deadline, out of a resource, refused a capability, or
//! trapped — told apart in one place from what wasmtime reports, for operations and
//! workers alike.

use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use crate::limits::Refusal;

/// Why guest code did not return normally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestFailure {
    #[error("run past its deadline of {0:?}")]
    Timeout(Duration),
    #[error("exhaust a resource: {0}")]
    ResourceExhausted(Refusal),
    /// A trap; the message is for the host log, never for clients.
    #[error("complete: the guest trapped: {0}")]
    Crashed(String),
    #[error("get an instance: all {0} are in use")]
    Overloaded(u32),
    /// A host call the caller's roles do not allow.
    #[error("be allowed: {0}")]
    Denied(crate::permits::Denied),
    /// Its version stopped being live and the call outlasted the drain deadline.
    #[error("finish within {0:?} of its version being retired")]
    Retired(Duration),
}

/// Make guest code in `store` trap with `Interrupt` once `timeout` from now has passed.
pub fn arm_deadline<T: 'static>(store: &mut Store<T>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        // Yielding each tick keeps the worker thread available to other tasks while a
        // guest computes; past the deadline, the guest traps with `Interrupt`.
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}

/// What `error`, from guest code given `timeout` and refused `refusal`, means.
pub fn classify(
    error: wasmtime::Error,
    refusal: Option<Refusal>,
    timeout: Duration,
) -> GuestFailure {
    if let Some(denied) = error.downcast_ref::<crate::permits::Denied>() {
        return GuestFailure::Denied(denied.clone());
    }
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return GuestFailure::Timeout(timeout);
    }
    // A refused grow is usually followed by a trap (an abort on allocation failure,
    // `unreachable` after a failed `table.grow`): the refusal is the cause.
    if let Some(refusal) = refusal {
        return GuestFailure::ResourceExhausted(refusal);
    }
    if error
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return GuestFailure::Overloaded(0);
    }
    GuestFailure::Crashed(format!("{error:?}"))
}
