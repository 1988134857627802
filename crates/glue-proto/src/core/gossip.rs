//! Unicast peers and gossip: announcements by unicast to configured and known peers, PEERS answers to unicast
//! announcements, bounded probes of gossiped addresses, and `multicast: false` (group datagrams as unicast copies).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Budget, Core};
use crate::config::{check_peers, unicast_address_problem};
use crate::wire::{PeerEntry, Peers, SubmessageKind, ANNOUNCE_FLAG_UNICAST, MAX_PEERS_ENTRIES};
use crate::{ConfigError, EndpointId};

/// Probes at most this many gossiped addresses per PEERS received.
pub const PROBES_PER_PEERS: usize = 8;
/// Probes at most this many gossiped addresses per announce period (a burst of as many).
pub const PROBES_PER_PERIOD: f64 = 32.0;
/// A gossiped address is probed again no sooner than this many announce periods later.
const REPROBE_PERIODS: u32 = 2;
/// Addresses remembered as probed recently, at most.
const RECENT_PROBES: usize = 256;
/// A peer gets a PEERS answer again at the latest after this many announce periods, even with nothing new.
const GOSSIP_REFRESH_PERIODS: u32 = 10;

/// The unicast side of discovery of one core.
#[derive(Debug)]
pub(super) struct Gossip {
    /// The configured peer addresses.
    configured: Vec<SocketAddr>,
    /// Probes allowed ([`PROBES_PER_PERIOD`] per announce period).
    probes: Budget,
    /// Addresses probed lately, oldest first.
    recent: VecDeque<(SocketAddr, Instant)>,
    /// A group datagram being sent as unicast copies: the addresses still to send it to (`multicast: false`).
    fanout: Vec<SocketAddr>,
    /// The sealed (or plain) bytes of that datagram.
    fanout_bytes: Vec<u8>,
    /// Reused for building PEERS bodies and destination lists.
    entries: Vec<PeerEntry>,
    body: Vec<u8>,
}

impl Gossip {
    pub(super) fn new(configured: Vec<SocketAddr>, period: Duration) -> Self {
        let rate = PROBES_PER_PERIOD / period.as_secs_f64().max(1e-3);
        Gossip {
            configured,
            probes: Budget::new(PROBES_PER_PERIOD, rate),
            recent: VecDeque::new(),
            fanout: Vec::new(),
            fanout_bytes: Vec::new(),
            entries: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Whether `address` is a configured peer or was probed lately (an announcement to it says "by unicast").
    fn knows(&self, address: SocketAddr) -> bool {
        self.configured.contains(&address) || self.recent.iter().any(|(a, _)| *a == address)
    }
}

impl Core {
    /// Replaces the configured unicast peer addresses (for instance after a host name resolved to new addresses):
    /// addresses new to the list get an announcement at once, the rest at the next announce period. Fails (changing
    /// nothing) for more than [`crate::MAX_CONFIGURED_PEERS`] addresses or one that is not a unicast address with a
    /// port.
    pub fn set_peers(&mut self, peers: Vec<SocketAddr>) -> Result<(), ConfigError> {
        check_peers(&peers)?;
        let added: Vec<SocketAddr> =
            peers.iter().filter(|p| !self.gossip.configured.contains(p)).copied().collect();
        self.gossip.configured = peers;
        if !self.closed {
            for p in added {
                self.queue_announce(p, ANNOUNCE_FLAG_UNICAST);
            }
        }
        Ok(())
    }

    /// The configured unicast peer addresses.
    pub fn configured_peers(&self) -> &[SocketAddr] {
        &self.gossip.configured
    }

    /// Where this endpoint's announcements (and its goodbye) go by unicast: the configured peers, the accepted peers
    /// that announce by unicast, and with `multicast: false` every accepted peer; without repeats.
    fn unicast_destinations(&self) -> Vec<SocketAddr> {
        let mut dests: Vec<SocketAddr> = self.gossip.configured.clone();
        dests.extend(self.peers.unicast_addresses(!self.config.multicast));
        dests.sort_unstable();
        dests.dedup();
        dests
    }

    /// The periodic announcement: to the group (unless `multicast: false`) and by unicast to every unicast
    /// destination.
    pub(super) fn announce_round(&mut self) {
        if self.config.multicast {
            self.queue_announce(self.config.discovery_target, 0);
        }
        for dest in self.unicast_destinations() {
            self.queue_announce(dest, ANNOUNCE_FLAG_UNICAST);
        }
    }

    /// The goodbye: to the group (unless `multicast: false`) and to every unicast destination.
    pub(super) fn queue_byes(&mut self) {
        let bye = SubmessageKind::Bye as u8;
        if self.config.multicast {
            self.outbox.push(self.config.discovery_target, bye, 0, 0, |_| {});
        }
        for dest in self.unicast_destinations() {
            self.outbox.push(dest, bye, 0, 0, |_| {});
        }
    }

    /// The announcement flags for a unicast answer to `to`: "by unicast" when multicast is off, `to` is a configured
    /// or probed address, or a peer there announces by unicast.
    pub(super) fn unicast_flags_for(&self, to: SocketAddr) -> u8 {
        if !self.config.multicast || self.gossip.knows(to) || self.peers.is_unicast_address(to) {
            ANNOUNCE_FLAG_UNICAST
        } else {
            0
        }
    }

    /// An announcement by unicast arrived from `source` (flag `ANNOUNCE_FLAG_UNICAST`): ours go to it by unicast
    /// from now on, and an accepted sender gets the peers this endpoint knows (at most every half announce period
    /// when something changed, every ten periods otherwise, within the budget of unsolicited answers).
    pub(super) fn on_unicast_announce(&mut self, now: Instant, source: EndpointId) {
        self.peers.mark_unicast(source);
        let period = self.config.announce_period;
        if !self.peers.gossip_due(source, now, period / 2, period * GOSSIP_REFRESH_PERIODS) {
            return;
        }
        let Some(to) = self.peers.address_of(source) else { return };
        if !self.replies.take(now) {
            return;
        }
        self.peers.gossiped(source, now);
        self.queue_peers(to, source);
    }

    /// Queues a PEERS to `to` (peer `recipient`) listing the accepted peers but the recipient: as many as fit into
    /// one submessage, at most [`MAX_PEERS_ENTRIES`], from a random place in the table when there are more.
    fn queue_peers(&mut self, to: SocketAddr, recipient: EndpointId) {
        let mut entries = std::mem::take(&mut self.gossip.entries);
        entries.clear();
        entries.extend(
            self.peers
                .accepted()
                .filter(|p| p.id != recipient)
                .map(|p| PeerEntry { id: p.id, address: p.address }),
        );
        if entries.is_empty() {
            self.gossip.entries = entries;
            return;
        }
        let max_body = self.outbox.max_body();
        let start = self.rng.below(entries.len() as u64) as usize;
        entries.rotate_left(start);
        let mut len = 0;
        let mut count = 0;
        for e in entries.iter().take(MAX_PEERS_ENTRIES) {
            if len + e.encoded_len() > max_body {
                break;
            }
            len += e.encoded_len();
            count += 1;
        }
        let mut body = std::mem::take(&mut self.gossip.body);
        body.clear();
        Peers::encode(&entries[..count], &mut body);
        self.outbox.push(to, SubmessageKind::Peers as u8, 0, body.len(), |o| o.extend_from_slice(&body));
        self.stats.gossip_sent += 1;
        self.gossip.entries = entries;
        self.gossip.body = body;
    }

    /// A PEERS from an accepted peer: every entry that is neither this endpoint nor in the peer table is probed
    /// with an announcement by unicast (not added: it is added when it answers), within the probe bounds.
    pub(super) fn on_peers(&mut self, now: Instant, peers: &Peers<'_>) {
        self.stats.gossip_received += 1;
        let reprobe = self.config.announce_period * REPROBE_PERIODS;
        while self.gossip.recent.front().is_some_and(|(_, at)| now.saturating_duration_since(*at) >= reprobe)
        {
            self.gossip.recent.pop_front();
        }
        let mut probed = 0;
        for (i, entry) in peers.entries().enumerate() {
            let Ok(entry) = entry else { break };
            if i >= MAX_PEERS_ENTRIES {
                self.stats.probes_suppressed += 1;
                continue;
            }
            let address = entry.address;
            if entry.id == self.config.id
                || self.peers.contains(entry.id)
                || unicast_address_problem(&address).is_some()
                || self.gossip.recent.iter().any(|(a, _)| *a == address)
            {
                continue;
            }
            if probed >= PROBES_PER_PEERS || !self.gossip.probes.take(now) {
                self.stats.probes_suppressed += 1;
                continue;
            }
            probed += 1;
            if self.gossip.recent.len() >= RECENT_PROBES {
                self.gossip.recent.pop_front();
            }
            self.gossip.recent.push_back((address, now));
            self.queue_announce(address, ANNOUNCE_FLAG_UNICAST);
            self.stats.probes_sent += 1;
        }
    }

    /// With `multicast: false`, a datagram for the group becomes unicast copies to every accepted peer: the bytes are
    /// kept and the first copy's destination returned (None when there is no peer: it is dropped).
    pub(super) fn start_fanout(&mut self, datagram: &[u8]) -> Option<SocketAddr> {
        let mut dests = std::mem::take(&mut self.gossip.fanout);
        dests.clear();
        dests.extend(self.peers.unicast_addresses(true));
        dests.sort_unstable();
        dests.dedup();
        let first = dests.pop();
        if first.is_some() {
            self.stats.unicast_fanout_copies += 1;
            self.gossip.fanout_bytes.clear();
            self.gossip.fanout_bytes.extend_from_slice(datagram);
        }
        self.gossip.fanout = dests;
        first
    }

    /// The next unicast copy of the group datagram being fanned out, written into `buf`.
    pub(super) fn next_fanout(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        let dest = self.gossip.fanout.pop()?;
        self.stats.unicast_fanout_copies += 1;
        buf.clear();
        buf.extend_from_slice(&self.gossip.fanout_bytes);
        Some(dest)
    }

    /// Whether `destination` is the group (discovery or broadcast target).
    pub(super) fn is_group(&self, destination: SocketAddr) -> bool {
        destination == self.config.broadcast_target || destination == self.config.discovery_target
    }
}
