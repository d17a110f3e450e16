//! The integration tests' one harness. Every test file says `mod support;`
//! and `use support::*;`.
//!
//! - [`daemon`]: start the daemon — in-process through `run_with` (short
//!   limits, an injectable clock), or the real binary where the test is
//!   about the process — and talk to it.
//! - [`http`]: the one HTTP client (reqwest).
//! - [`raw`]: raw sockets, for requests a client library would not send.
//! - [`poll`]: [`eventually`], the one way to wait.
//! - [`site`]: temp content directories, configs, editor-style saves, the
//!   sample newsroom and the `tests/fixtures/serve` site.
//! - [`feeds`]: reading served bodies (RSS/Atom items, gzip/br,
//!   Prometheus text, HTML tags).
//! - [`run`]: one-shot `herald check` / `herald build` runs.
//! - [`subscriber`]: a WebSub subscriber and a stub external hub on
//!   loopback, recording what they get and answering as told.
//! - [`chaos`]: the chaos test's PRNG, pollers and reply checks (not
//!   re-exported: `use support::chaos::*`).
//!
//! The library paths the tests use are re-exported here, so that moving a
//! library module means changing these lines only.
#![allow(dead_code)] // each test binary uses a different subset of the helpers

pub mod chaos;
pub mod daemon;
pub mod feeds;
pub mod http;
pub mod poll;
pub mod raw;
pub mod run;
pub mod site;
pub mod subscriber;

// (Each test binary uses a different subset of what follows.)
#[allow(unused_imports)]
pub use daemon::*;
#[allow(unused_imports)]
pub use feeds::*;
#[allow(unused_imports)]
pub use http::*;
#[allow(unused_imports)]
pub use poll::*;
#[allow(unused_imports)]
pub use raw::*;
#[allow(unused_imports)]
pub use run::*;
#[allow(unused_imports)]
pub use site::*;
#[allow(unused_imports)]
pub use subscriber::*;

#[allow(unused_imports)]
pub use herald::article::{self, Article, Entry};
#[allow(unused_imports)]
pub use herald::catalog::{Catalog, Held};
#[allow(unused_imports)]
pub use herald::config::{Config, Format};
#[allow(unused_imports)]
pub use herald::daemon::{run_with, Clock, DaemonError, Options, Publisher, LOAD_WARNINGS_LOGGED};
#[allow(unused_imports)]
pub use herald::diagnostics::{Diagnostic, Severity};
#[allow(unused_imports)]
pub use herald::http::server::Limits;
#[allow(unused_imports)]
pub use herald::http::snapshot::Snapshot;
#[allow(unused_imports)]
pub use herald::load::load_content;
#[allow(unused_imports)]
pub use herald::output::render_all;
#[allow(unused_imports)]
pub use herald::render::{self, PageId};
#[allow(unused_imports)]
pub use herald::taxonomy::Taxonomy;
#[allow(unused_imports)]
pub use herald::url_segment::encode_segment;
#[allow(unused_imports)]
pub use herald::websub::Tuning;
