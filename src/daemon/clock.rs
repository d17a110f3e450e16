//! The daemon's clock: the system's, or one a test sets by hand.

use std::sync::{mpsc, Arc, Mutex};

use chrono::{DateTime, FixedOffset, Utc};

use super::Msg;

/// The daemon's notion of "now": the system clock, or a clock a test sets
/// by hand. Setting a manual clock wakes the publisher, which then
/// publishes whatever came due, as it would when the system clock passes a
/// date.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<FixedOffset>>>>,
    /// The publisher's queue, once the daemon runs: written by `run_with`,
    /// read by [`Clock::set`].
    wake: Arc<Mutex<Option<mpsc::Sender<Msg>>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").field("now", &self.now()).finish()
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `start` until [`Clock::set`] moves it.
    pub fn manual(start: DateTime<FixedOffset>) -> Clock {
        Clock {
            manual: Some(Arc::new(Mutex::new(start))),
            wake: Arc::default(),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<FixedOffset> {
        match &self.manual {
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
            None => Utc::now().fixed_offset(),
        }
    }

    /// Moves a manual clock to `t` and wakes the publisher; does nothing to
    /// the system clock.
    pub fn set(&self, t: DateTime<FixedOffset>) {
        if let Some(m) = &self.manual {
            *m.lock().unwrap_or_else(|e| e.into_inner()) = t;
            if let Some(tx) = &*self.wake.lock().unwrap_or_else(|e| e.into_inner()) {
                let _ = tx.send(Msg::Tick);
            }
        }
    }

    pub(super) fn attach(&self, tx: mpsc::Sender<Msg>) {
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }
}
