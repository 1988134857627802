//! The endpoint state machine: ties the codec, discovery and the outbox together. No I/O.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use crate::discovery::{AnnounceSchedule, Observation, PeerTable};
use crate::outbox::Outbox;
use crate::rng::Rng;
use crate::wire::{
    Announce, Data, DecodeError, Header, Reader, SubmessageIter, SubmessageKind, DATA_FLAG_BROADCAST,
};
use crate::{ConfigError, CoreConfig, DownReason, EndpointId, Event, NameClashRule, PeerInfo, Stats};

/// A datagram to send, produced by [`Core::poll_transmit`]; its bytes are in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transmit {
    /// Where to send it (a peer's unicast address or the multicast group).
    pub destination: SocketAddr,
    /// Its length in bytes.
    pub size: usize,
}

/// Why a send was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No accepted peer has this ID.
    #[error("unknown peer {0}")]
    UnknownPeer(EndpointId),
    /// The payload does not fit in one datagram.
    #[error("message of {size} bytes exceeds the largest payload of {max} bytes")]
    TooLarge {
        /// The payload's size in bytes.
        size: usize,
        /// The largest payload, bytes.
        max: usize,
    },
    /// The core was closed.
    #[error("endpoint is closed")]
    Closed,
}

/// One glue endpoint's protocol state. See the crate docs for the input/output discipline.
#[derive(Debug)]
pub struct Core {
    config: CoreConfig,
    peers: PeerTable,
    schedule: AnnounceSchedule,
    outbox: Outbox,
    events: VecDeque<Event>,
    inbox: Vec<u8>,
    stats: Stats,
    rng: Rng,
    data_seq: u32,
    closed: bool,
}

impl Core {
    /// A core that will announce itself at `now`.
    pub fn new(config: CoreConfig, now: Instant) -> Result<Core, ConfigError> {
        config.validate()?;
        let header = Header { flags: 0, network_id: config.network_id, source: config.id };
        Ok(Core {
            peers: PeerTable::new(config.max_peers, config.expiry_multiplier),
            schedule: AnnounceSchedule::new(now, config.announce_period),
            outbox: Outbox::new(header, config.max_datagram_size),
            events: VecDeque::new(),
            inbox: Vec::new(),
            stats: Stats::default(),
            rng: Rng::new(config.seed),
            data_seq: 0,
            closed: false,
            config,
        })
    }

    /// This endpoint's ID.
    pub fn id(&self) -> EndpointId {
        self.config.id
    }

    /// The configuration in force.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The accepted peers.
    pub fn peers(&self) -> impl Iterator<Item = &PeerInfo> {
        self.peers.accepted()
    }

    /// The accepted peer holding `name`, if any.
    pub fn peer_by_name(&self, name: &str) -> Option<&PeerInfo> {
        self.peers.holder_of(name).and_then(|id| self.peers.get(id))
    }

    /// Largest payload of one best-effort message, bytes.
    pub fn max_payload(&self) -> usize {
        self.outbox.max_body() - Data::OVERHEAD
    }

    /// Processes one received datagram from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        let mut reader = Reader::new(datagram);
        let header = match Header::decode(&mut reader) {
            Ok(h) => h,
            Err(DecodeError::UnsupportedVersion(_)) => return self.stats.dropped_version += 1,
            Err(_) => return self.stats.dropped_malformed += 1,
        };
        if header.network_id != self.config.network_id {
            return self.stats.dropped_foreign_network += 1;
        }
        if header.source == self.config.id {
            return self.stats.own_datagrams_ignored += 1;
        }
        let source = header.source;
        let mut accepted = self.peers.touch(now, source);
        for sub in SubmessageIter::new(reader) {
            let Ok((sub, body)) = sub else {
                self.stats.dropped_malformed += 1;
                break;
            };
            let result = match SubmessageKind::from_u8(sub.kind) {
                Some(SubmessageKind::Announce) => Announce::decode(body).map(|a| {
                    self.on_announce(now, from, source, &a);
                    accepted = self.peers.touch(now, source);
                }),
                Some(SubmessageKind::Bye) => {
                    self.on_bye(source);
                    accepted = None;
                    Ok(())
                }
                Some(SubmessageKind::Data) => Data::decode(body).map(|d| match accepted {
                    Some(true) => self.deliver(source, sub.flags & DATA_FLAG_BROADCAST != 0, d.payload),
                    Some(false) => self.stats.dropped_rejected += 1,
                    None => self.stats.dropped_unknown_peer += 1,
                }),
                None => {
                    self.stats.dropped_unknown_kind += 1;
                    Ok(())
                }
            };
            if result.is_err() {
                self.stats.dropped_malformed += 1;
                break;
            }
        }
    }

    fn deliver(&mut self, from: EndpointId, broadcast: bool, payload: &[u8]) {
        let start = self.inbox.len();
        self.inbox.extend_from_slice(payload);
        self.stats.messages_received += 1;
        self.events.push_back(Event::Message { from, broadcast, payload: start..self.inbox.len() });
    }

    fn on_announce(&mut self, now: Instant, from: SocketAddr, source: EndpointId, a: &Announce<'_>) {
        self.stats.announcements_received += 1;
        let info = PeerInfo {
            id: source,
            name: a.name.to_owned(),
            address: SocketAddr::new(from.ip(), a.unicast_port),
            announce_period: std::time::Duration::from_millis(a.period_ms as u64),
            incarnation: a.incarnation,
        };
        match self.peers.observe(now, &info) {
            Observation::Refreshed | Observation::Rejected => {}
            Observation::Changed => self.events.push_back(Event::PeerChanged(info)),
            Observation::Restarted(old) => {
                self.events.push_back(Event::PeerDown { peer: old, reason: DownReason::Restarted });
                self.add_peer(now, info);
            }
            Observation::New => self.add_peer(now, info),
        }
    }

    fn add_peer(&mut self, now: Instant, info: PeerInfo) {
        if self.peers.is_full() {
            self.stats.dropped_peer_table_full += 1;
            return;
        }
        let existing = if info.name == self.config.name {
            Some(self.config.id)
        } else {
            self.peers.holder_of(&info.name)
        };
        let rejected = existing.is_some() && self.config.name_clash == NameClashRule::Reject;
        self.peers.insert(now, info.clone(), rejected);
        let address = info.address;
        if let Some(existing) = existing {
            self.events.push_back(Event::NameClash { newcomer: info.clone(), existing, rejected });
        }
        if !rejected {
            self.events.push_back(Event::PeerUp(info));
            // Answer a newcomer at once so that it need not wait for our next periodic announcement.
            self.queue_announce(address);
        }
    }

    fn on_bye(&mut self, source: EndpointId) {
        if let Some(peer) = self.peers.remove(source) {
            self.events.push_back(Event::PeerDown { peer, reason: DownReason::Left });
        }
    }

    fn queue_announce(&mut self, dest: SocketAddr) {
        let c = &self.config;
        let announce = Announce {
            unicast_port: c.unicast_port,
            flags: 0,
            period_ms: c.announce_period.as_millis() as u32,
            incarnation: c.incarnation,
            name: &c.name,
            extensions: &[],
        };
        let len = 12 + c.name.len();
        self.outbox.push(dest, SubmessageKind::Announce as u8, 0, len, |out| announce.encode(out));
        self.stats.announcements_sent += 1;
    }

    /// Advances timers: announces when due and expires silent peers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.schedule.is_due(now) {
            self.queue_announce(self.config.discovery_target);
            let jitter = self.rng.below(1 << 20) as f64 / (1u64 << 20) as f64;
            self.schedule.sent(now, jitter);
        }
        let events = &mut self.events;
        self.peers
            .expire(now, |peer| events.push_back(Event::PeerDown { peer, reason: DownReason::Expired }));
    }

    /// Queues a best-effort message to one accepted peer.
    pub fn send(&mut self, to: EndpointId, payload: &[u8]) -> Result<(), SendError> {
        let dest = self.peers.address_of(to).ok_or(SendError::UnknownPeer(to));
        self.queue_data(dest?, 0, payload)
    }

    /// Queues a best-effort message to every endpoint (the multicast group).
    pub fn broadcast(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.queue_data(self.config.broadcast_target, DATA_FLAG_BROADCAST, payload)
    }

    fn queue_data(&mut self, dest: SocketAddr, flags: u8, payload: &[u8]) -> Result<(), SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        let max = self.max_payload();
        if payload.len() > max {
            return Err(SendError::TooLarge { size: payload.len(), max });
        }
        let data = Data { seq: self.data_seq, payload };
        self.data_seq = self.data_seq.wrapping_add(1);
        let len = Data::OVERHEAD + payload.len();
        self.outbox.push(dest, SubmessageKind::Data as u8, flags, len, |out| data.encode(out));
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Stops treating this peer as accepted (the application's accept filter said no): its traffic is
    /// dropped and counted until it expires. No event is emitted.
    pub fn reject_peer(&mut self, id: EndpointId) {
        self.peers.reject(id);
    }

    /// Says goodbye (queued BYE to the discovery target); afterwards sends fail and timers stop.
    /// Drain [`Core::poll_transmit`] once more to send the goodbye.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.outbox.push(self.config.discovery_target, SubmessageKind::Bye as u8, 0, 0, |_| {});
        self.closed = true;
    }

    /// Whether [`Core::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The next datagram to send, written into `buf` (replacing its contents; the buffer may be swapped
    /// for one of the core's, so keep passing the same `Vec`).
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        let (destination, mut datagram) = self.outbox.pop()?;
        std::mem::swap(buf, &mut datagram);
        self.outbox.recycle(datagram);
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += buf.len() as u64;
        Some(Transmit { destination, size: buf.len() })
    }

    /// Whether datagrams are waiting for [`Core::poll_transmit`].
    pub fn has_transmit(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// When [`Core::handle_timeout`] should be called next (None after close).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let next = self.schedule.next();
        Some(self.peers.next_expiry().map_or(next, |e| e.min(next)))
    }

    /// The next event, in the order things happened.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Message payloads of the events drained so far (see [`Event::Message`]).
    pub fn inbox(&self) -> &[u8] {
        &self.inbox
    }

    /// Takes the inbox (after draining the events whose ranges point into it) and starts a new one in
    /// `replacement` (cleared). Lets the caller hand a whole batch of payloads on without copying.
    pub fn take_inbox(&mut self, mut replacement: Vec<u8>) -> Vec<u8> {
        debug_assert!(
            !self.events.iter().any(|e| matches!(e, Event::Message { .. })),
            "drain message events before taking the inbox"
        );
        replacement.clear();
        std::mem::replace(&mut self.inbox, replacement)
    }
}
