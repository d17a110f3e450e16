//! The one way a test waits for the daemon: poll a check until it holds,
//! under a deadline, and fail with what the check saw last.

use std::time::{Duration, Instant};

/// How long [`eventually`] waits between two attempts.
pub const TICK: Duration = Duration::from_millis(20);

/// The usual deadline for a change to reach the feeds: generous, since a
/// loaded two-core machine can stall for seconds.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Calls `check` every [`TICK`] until it returns `Ok`, and returns that
/// value; panics after `timeout` with `what` and the last `Err` reason.
pub fn eventually<T>(what: &str, timeout: Duration, check: impl FnMut() -> Result<T, String>) -> T {
    poll_until(timeout, check).unwrap_or_else(|why| {
        panic!("timed out after {timeout:?} waiting for {what}; last state: {why}")
    })
}

/// [`eventually`] for a caller that reports the failure itself: `Err`
/// holds the last reason `check` gave.
pub fn poll_until<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let started = Instant::now();
    loop {
        match check() {
            Ok(v) => return Ok(v),
            Err(why) if started.elapsed() >= timeout => return Err(why),
            // Between attempts, not as a synchronisation point.
            Err(_) => std::thread::sleep(TICK),
        }
    }
}
