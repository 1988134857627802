//! What the core reports to the application.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use crate::EndpointId;

/// A peer as known from its announcements.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The peer's endpoint ID.
    pub id: EndpointId,
    /// The peer's name.
    pub name: String,
    /// The peer's unicast address (source IP of its announcement, announced port).
    pub address: SocketAddr,
    /// How often the peer announces.
    pub announce_period: Duration,
    /// The peer's incarnation (changes when it restarts).
    pub incarnation: u32,
    /// The extension area of its latest announcement (type-length-value records, well-formed; see
    /// [`PeerInfo::extension`]). A change of any record is reported as [`Event::PeerChanged`].
    pub extensions: Vec<u8>,
}

impl PeerInfo {
    /// The value of the peer's announcement extension of type `kind`, if it announced one.
    pub fn extension(&self, kind: u8) -> Option<&[u8]> {
        self.extension_records().find(|(k, _)| *k == kind).map(|(_, v)| v)
    }

    /// The peer's announcement extensions as (type, value), in the order announced.
    pub fn extension_records(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        crate::wire::extension_records(&self.extensions).filter_map(Result::ok).map(|e| (e.kind, e.value))
    }
}

/// Why a peer went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownReason {
    /// Nothing heard for its period × the expiry multiplier.
    Expired,
    /// It said goodbye.
    Left,
    /// It came back under the same ID with a new incarnation (a peer-up follows).
    Restarted,
    /// The peer table was full and a newcomer took its slot: it never sent anything but announcements.
    Evicted,
}

impl DownReason {
    /// The reason as reported to applications: "expired", "left", "restarted" or "evicted".
    pub fn as_str(self) -> &'static str {
        match self {
            DownReason::Expired => "expired",
            DownReason::Left => "left",
            DownReason::Restarted => "restarted",
            DownReason::Evicted => "evicted",
        }
    }
}

/// One thing that happened, in order. Drain with [`crate::Core::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new peer was discovered (and accepted by the name-clash rule).
    PeerUp(PeerInfo),
    /// A known peer changed its name, address, announce period or announcement extensions.
    PeerChanged(PeerInfo),
    /// A peer is gone.
    PeerDown {
        /// The peer as last known.
        peer: PeerInfo,
        /// Why.
        reason: DownReason,
    },
    /// A newcomer announced a name that another endpoint (possibly this one) already holds.
    NameClash {
        /// The endpoint that announced the taken name.
        newcomer: PeerInfo,
        /// The endpoint that held the name first.
        existing: EndpointId,
        /// True when the newcomer is ignored ([`crate::NameClashRule::Reject`]).
        rejected: bool,
    },
    /// A message arrived.
    Message {
        /// The sending peer.
        from: EndpointId,
        /// True when it was sent to everyone (multicast).
        broadcast: bool,
        /// True when it came through a reliable channel (in order, exactly once).
        reliable: bool,
        /// Where its bytes are.
        payload: Payload,
    },
    /// Every intended receiver acknowledged the reliable message sent with this token.
    Delivered {
        /// The token given to `send_reliable` / `broadcast_reliable`.
        token: u64,
    },
    /// The reliable message sent with this token was not acknowledged by every intended receiver before
    /// its deadline, or receivers went away before acknowledging it.
    Failed {
        /// The token given to `send_reliable` / `broadcast_reliable`.
        token: u64,
        /// The receivers that did not acknowledge.
        missing: Vec<EndpointId>,
    },
}

/// Where a received message's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A byte range of [`crate::Core::inbox`] (small messages, copied once out of the datagram).
    Inbox(Range<usize>),
    /// A reassembled large message, handed over whole (no further copy).
    Owned(Vec<u8>),
}

impl Payload {
    /// The payload's bytes, given the inbox it may point into.
    pub fn bytes<'a>(&'a self, inbox: &'a [u8]) -> &'a [u8] {
        match self {
            Payload::Inbox(r) => &inbox[r.clone()],
            Payload::Owned(v) => v,
        }
    }
}
