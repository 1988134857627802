//! # glue-raft — consensus groups for glue, sans-IO
//!
//! The storage of a group: [`storage::DurableStorage`].
#![deny(clippy::all)]
#![warn(missing_docs)]

pub mod storage;
