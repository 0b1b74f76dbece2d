//! CPU time spent by a future, measured per poll with the thread's CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`). A worker's guest code runs inside `poll`, on whichever
//! thread polls it; time spent awaiting (a call to another process, say) costs nothing.
//! Hand-written because no crate measures CPU time per poll of a future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The calling thread's CPU time so far.
#[expect(
    unsafe_code,
    reason = "clock_gettime has no safe binding in our dependencies"
)]
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` to the valid pointer it is given.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if status != 0 {
        return Duration::ZERO;
    }
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Runs `future` and returns its output with the CPU time its polls took.
pub(crate) async fn measure<F: Future>(future: F) -> (F::Output, Duration) {
    // Pinned on this future's own state: no allocation per measured call.
    let mut timed = CpuTimed {
        inner: std::pin::pin!(future),
        spent: Duration::ZERO,
    };
    let output = (&mut timed).await;
    (output, timed.spent)
}

struct CpuTimed<'a, F: Future> {
    inner: Pin<&'a mut F>,
    spent: Duration,
}

impl<F: Future> Future for &mut CpuTimed<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = thread_cpu_time();
        let poll = self.inner.as_mut().poll(cx);
        let spent = thread_cpu_time().saturating_sub(started);
        self.spent += spent;
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn busy_polls_count_and_waiting_does_not() {
        let (sum, busy) = measure(async {
            let mut sum = 0u64;
            for i in 0..5_000_000u64 {
                sum = sum.wrapping_add(std::hint::black_box(i));
            }
            sum
        })
        .await;
        assert!(sum > 0);
        assert!(busy > Duration::ZERO);
        let ((), idle) = measure(tokio::time::sleep(Duration::from_millis(20))).await;
        assert!(idle < Duration::from_millis(5), "{idle:?}");
    }
}
