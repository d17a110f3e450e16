//! herald publishes news feeds: it reads a directory of articles
//! (Markdown with front matter, plain-text exports of news pages) and
//! renders RSS 2.0, Atom 1.0 and JSON Feed 1.1 for every category and the
//! whole site.
//!
//! # Layout
//! - [`config`]: the TOML config, validated into typed values.
//! - [`article`]: one file → one [`article::Article`] (pure `parse`, I/O `load`).
//! - [`scan`]: which folders and files `content.dir` holds.
//! - [`catalog`]: articles by category, updated incrementally.
//! - [`render`]: catalog → feed, OPML and HTML bytes.
//! - [`build`]: whole-site load and atomic writes (`herald build`, `herald check`).
//! - [`snapshot`]: the immutable rendered set: bodies, compressed variants, ETags.
//! - [`server`]: the hyper service over the current snapshot.
//! - [`watch`]: filesystem events → touched paths.
//! - [`daemon`]: wires load, watch, regenerate and serve together.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod article;
pub mod build;
pub mod catalog;
pub mod config;
pub mod daemon;
pub mod render;
pub mod scan;
pub mod server;
pub mod snapshot;
pub mod watch;
