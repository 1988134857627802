//! # glue-proto — the sans-IO protocol core of glue
//!
//! The core never touches a socket or a clock. It takes datagrams and the current time in
//! ([`Core::handle_datagram`], [`Core::handle_timeout`]) and application commands ([`Core::send`],
//! [`Core::broadcast`]); it hands out what to send ([`Core::poll_transmit`]), when to wake it next
//! ([`Core::poll_timeout`]) and what happened ([`Core::poll_event`]). Sockets, threads and batching live
//! in `glue-io`; because of that split, loss, reordering and time are tested deterministically with a
//! virtual clock (see `tests/`).
//!
//! Layers inside: [`wire`] (the binary codec of every message, specified in `docs/PROTOCOL.md`),
//! [`discovery`] (announcements, the peer table, expiry, name clashes) and [`Core`] which ties them.
#![deny(clippy::all)]
#![warn(missing_docs)]

pub mod address;
mod config;
mod core;
pub mod discovery;
mod event;
mod id;
mod outbox;
mod peer_stats;
pub mod reliable;
mod rng;
pub mod seal;
mod stats;
pub mod wire;

pub use crate::config::{ConfigError, CoreConfig, NameClashRule, MAX_CONFIGURED_PEERS};
pub use crate::core::{Core, Refusal, SendError, Transmit};
pub use crate::event::{DownReason, Event, Payload, PeerInfo};
pub use crate::id::{EndpointId, ParseIdError};
pub use crate::peer_stats::PeerStats;
pub use crate::reliable::ReliableLimits;
pub use crate::stats::Stats;
