//! systemd service notifications (`sd_notify`): `READY=1` once serving,
//! `RELOADING=1` and `READY=1` around a config reload, `STOPPING=1` at
//! shutdown, `WATCHDOG=1` while alive. Each is a datagram to the socket
//! in `NOTIFY_SOCKET`; without it (not under systemd) nothing is sent.

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd (NOTIFY_SOCKET)");
    }
}

/// The daemon serves (again).
pub fn ready() {
    send(&[NotifyState::Ready, NotifyState::Status("serving")]);
}

/// A config reload begins (with the monotonic time systemd's
/// `Type=notify-reload` asks for).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Shutdown begins.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// The daemon is alive.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to send `WATCHDOG=1` when the unit sets `WatchdogSec`: half
/// the interval systemd allows, as `sd_watchdog_enabled(3)` advises.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}
