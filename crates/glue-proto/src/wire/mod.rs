//! The wire format: a datagram is a fixed [`Header`] followed by one or more submessages, each a
//! 4-byte [`SubmessageHeader`] and a body. Small messages are packed many to a datagram, as RTPS does.
//! All integers are little-endian. Every message is specified in `docs/PROTOCOL.md` with test vectors.

mod ack;
mod announce;
mod builder;
mod bye;
mod data;
mod error;
mod handshake;
mod header;
mod heartbeat;
mod peers;
mod rdata;
mod reader;
mod submessage;

pub use ack::{Ack, ACK_FLAG_MULTICAST, ACK_FLAG_SYNC, MAX_ACK_RANGES};
pub use announce::{
    extension_records, set_extension_record, Announce, Extension, ANNOUNCE_FLAG_UNICAST, EXTENSION_INTEREST,
    MAX_NAME_LEN,
};
pub use builder::DatagramBuilder;
pub use bye::Bye;
pub use data::{Data, DATA_FLAG_BROADCAST};
pub use error::DecodeError;
pub use handshake::Cookie;
pub use header::{Header, HEADER_LEN, MAGIC, VERSION};
pub use heartbeat::{Heartbeat, HEARTBEAT_FLAG_DIRECT, HEARTBEAT_FLAG_MULTICAST};
pub use peers::{PeerEntry, Peers, MAX_PEERS_ENTRIES, PEERS_FAMILY_V4, PEERS_FAMILY_V6};
pub use rdata::{RData, RDATA_FLAG_FIRST, RDATA_FLAG_LAST, RDATA_FLAG_MULTICAST};
pub use reader::Reader;
pub use submessage::{SubmessageHeader, SubmessageIter, SubmessageKind, SUBMESSAGE_HEADER_LEN};
