//! HTTP: the immutable set of prepared responses ([`snapshot`]) and the
//! hyper service that answers from it ([`server`]).

pub mod server;
pub mod snapshot;

pub use server::Limits;
