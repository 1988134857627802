//! # glue-raft — consensus groups for glue, sans-IO
//!
//! One [`Group`] is one member of a Raft group: tikv's [`raft`] crate (`RawNode`, with pre-vote and check-quorum)
//! over [`storage::DurableStorage`], driven without sockets, threads or clocks. Bytes and ticks go in
//! ([`Group::step`], [`Group::tick`], the commands); messages to send, committed entries to apply and state changes
//! come out of [`Group::ready`] as an [`Output`]. The caller (glue's TypeScript layer) carries the messages over
//! glue's reliable unicast and runs the state machine. The algorithm is raft-rs's; this crate adds the storage, the
//! checks on input from the network and the bookkeeping of what was handed out.
//!
//! ## Durability
//! With [`GroupConfig::data_dir`], entries, the hard state (term, vote, commit) and snapshots are on disk before
//! anything that depends on them is handed out; see [`storage`] for the files and what survives a crash (a torn
//! last record is dropped on opening). Without it everything is in memory, and a member that restarts must join
//! under a new ID.
//!
//! ## Input from the network
//! [`Group::step`] refuses (with [`GroupError::Malformed`], changing nothing) what a correct member never sends,
//! before raft sees it, because raft-rs trusts its peers and panics on some malformed messages:
//! - messages not addressed to this member, or claiming another sender than the one given (or this member);
//! - types members do not send each other: proposals and leader transfers (both stay on the member they are made
//!   on: forward them above this layer) and raft's local types;
//! - senders that are not voters or learners of the current configuration (a member with no configuration yet,
//!   one that joins, takes appends, heartbeats and snapshots from anyone);
//! - indexes or terms of 2^53 or more; term 0 except on read index requests; snapshot requests; appends whose log
//!   term is 0 after an index other than 0 (raft reads term 0 for indexes beyond its log, so such an append would
//!   commit past its end), or not 0 after index 0;
//! - entries anywhere but appends and read index messages (exactly one there); append entries that are not
//!   consecutive after the message's index, whose terms fall or exceed the message's, of more than 256 MiB, or
//!   that are configuration changes that do not decode or are joint;
//! - snapshots anywhere but snapshot messages; snapshots at index or term 0, of a term above the message's, of
//!   more than 1 GiB, or with a configuration that has no voter, repeats a member, uses ID 0 or is joint;
//! - timeout-now and read index answers of the current term from anyone but its leader; append answers to a
//!   leader for indexes beyond its log.
//!
//! A heartbeat whose commit index lies beyond this member's log (its leader believes it holds entries it lost) is
//! not refused but its commit index lowered. Should raft panic all the same, the panic is caught, the call fails
//! with `Malformed` and the group is poisoned ([`GroupError::Poisoned`]): its memory may be inconsistent, its disk
//! is not; close it and open it again.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod commit_notice;
mod config;
mod error;
mod group;
mod guard;
mod membership;
mod output;
mod ready;
mod snapshot_retry;
pub mod storage;
mod timeout;

pub use crate::config::GroupConfig;
pub use crate::error::GroupError;
pub use crate::group::Group;
pub use crate::output::{Change, Committed, ConfChangeKind, EntryKind, Output, Role, Status};
pub use crate::storage::{INITIAL_INDEX, MAX_ENTRY_BYTES, MAX_SNAPSHOT_BYTES};
