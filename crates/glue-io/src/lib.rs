//! # glue-io — the socket runtime of glue
//!
//! Opens the UDP sockets of one endpoint and runs one I/O thread (`glue-io-<name>`) that drives the sans-IO
//! [`glue_proto::Core`] with real time:
//!
//! - a **unicast socket** bound to [`IoConfig::listen`], from which *everything* is sent (unicast and
//!   multicast, so the source port of every datagram is the announced unicast port);
//! - a **discovery socket** bound to [`IoConfig::discovery_listen`] (the multicast group and port, with
//!   `SO_REUSEADDR`/`SO_REUSEPORT`) and joined to the group on [`IoConfig::interface`].
//!
//! Both families work: IPv4 sockets for IPv4 addresses, IPv6 sockets (`IPV6_V6ONLY`) for IPv6 ones, and with
//! [`IoConfig::dual_stack`] IPv6 sockets that also carry IPv4 (`IPV6_V6ONLY` off, IPv4 peers seen as
//! IPv4-mapped addresses and normalised to IPv4) and join an IPv4 and an IPv6 group.
//!
//! The thread waits with `mio` until a socket is readable, a command arrives or the core's next timeout;
//! receives in batches (`recvmmsg` on Linux), feeds the core, sends in batches (`sendmmsg`), and hands the
//! events of each loop iteration to a [`Sink`] as one [`InboundBatch`] (payload bytes taken out of the core
//! without copying, plus flat [`Entry`] records). Other threads talk to it through [`Endpoint`]: bounded
//! command queue, one wake-up per burst, a stats snapshot, and a blocking, idempotent [`Endpoint::close`]
//! that sends the goodbye before the sockets close.
//!
//! With [`ReceiveMode::Caller`] ([`Endpoint::open_caller`]) the application's own thread reads instead, when
//! it sees the sockets readable (e.g. from its event loop): one thread wake-up per datagram instead of two.
//! The I/O thread keeps announcing, the timers, the commands and the close, and queues the batches it makes
//! for that thread; it also takes over reading while traffic is heavy (see the `reading` module), so that
//! streams use two cores.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod batch;
mod caller;
mod command;
mod config;
mod driver;
mod endpoint;
mod engine;
mod error;
mod interface;
mod random;
mod reading;
mod receive;
pub mod slab;
mod socket;
mod stats;
mod sys;
mod tx;

pub use crate::batch::{Entry, EntryKind, InboundBatch, RefuseReason, Sink};
pub use crate::caller::{Notify, Round};
pub use crate::config::{IoConfig, ReceiveMode};
pub use crate::endpoint::Endpoint;
pub use crate::error::Error;
pub use crate::interface::index_by_name as interface_index;
pub use crate::random::random_u64;
pub use crate::stats::EndpointStats;
pub use glue_proto::{
    DownReason, EndpointId, Event, NameClashRule, PeerInfo, PeerStats, ReliableLimits, Stats,
};
