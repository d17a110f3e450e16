//! The content directory as files: which paths are articles ([`rules`]),
//! walking the tree ([`walk`]), reading a file safely ([`read`]), and
//! turning filesystem events into touched paths ([`watch`]). What a file
//! *means* is `article`'s concern.

pub mod read;
pub mod rules;
pub mod walk;
pub mod watch;
