//! HTTP: the immutable set of prepared responses ([`snapshot`]) and the
//! hyper service that answers from it ([`server`]), with the built-in
//! WebSub hub's endpoint ([`websub`]).

pub mod server;
pub mod snapshot;
pub mod websub;

pub use server::Limits;
