//! herald publishes news feeds: it reads a directory of articles
//! (Markdown with front matter, plain-text exports of news pages) and
//! renders RSS 2.0, Atom 1.0 and JSON Feed 1.1 for every category and the
//! whole site.
//!
//! # Layout
//! The data path, top to bottom:
//! - [`config`]: the TOML config, validated into typed values.
//! - [`content`]: the content directory as files: rules, walk, safe reads, watch events.
//! - [`article`]: one file → one [`article::Article`] (pure `parse`, I/O `load`).
//! - [`catalog`]: articles by category, updated incrementally.
//! - [`render`]: catalog → feed, OPML and HTML bytes.
//! - [`http`]: the immutable rendered set (bodies, compressed variants,
//!   ETags) and the hyper service over it.
//! - [`daemon`]: wires load, watch, regenerate and serve together.
//!
//! Beside it: [`diagnostics`] (file:line:col problems), [`taxonomy`]
//! (tags and authors, and how their names fold), [`url_segment`]
//! (percent-encoding), [`websub`] (hub pings and the built-in hub),
//! [`load`] (whole-tree loads, for the daemon and
//! `herald build`/`check`), [`output`] (atomic writes of rendered files)
//! and [`systemd`] (service notifications).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod article;
pub mod catalog;
pub mod config;
pub mod content;
pub mod daemon;
pub mod diagnostics;
pub mod http;
pub mod load;
pub mod output;
pub mod render;
pub mod systemd;
pub mod taxonomy;
pub mod url_segment;
pub mod variant;
pub mod websub;
