//! The endpoint state machine: ties the codec, discovery, the reliable layer and the outbox together.
//! No I/O: see the crate docs for the input/output discipline.

mod best_effort;
mod gossip;
mod inbound;
mod peer_stats;
mod peers;
mod reliable;
mod secure;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use crate::discovery::{AnnounceSchedule, PeerTable};
use crate::outbox::Outbox;
use crate::reliable::{RecvStream, SendChannel};
use crate::rng::Rng;
use crate::seal::{Opener, Sealer, TAG_LEN};
use crate::wire::{Ack, Header};
use crate::{ConfigError, CoreConfig, EndpointId, Event, PeerInfo, Stats};

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
    /// The payload is larger than allowed (one datagram for best-effort, `max_message_size` for reliable).
    #[error("message of {size} bytes exceeds the largest payload of {max} bytes")]
    TooLarge {
        /// The payload's size in bytes.
        size: usize,
        /// The largest payload, bytes.
        max: usize,
    },
    /// The channel's send queue is full (`send_queue_bytes`); try again when messages are acknowledged.
    #[error("send queue full: {queued} bytes queued, limit {limit}")]
    QueueFull {
        /// Bytes already queued on the channel.
        queued: usize,
        /// The limit, bytes.
        limit: usize,
    },
    /// The core was closed.
    #[error("endpoint is closed")]
    Closed,
}

/// A reliable message the core did not take ([`Core::try_send_reliable`], [`Core::try_broadcast_reliable`]):
/// why, and its payload, handed back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why it was refused.
    pub error: SendError,
    /// The payload as it was passed in.
    pub data: Vec<u8>,
}

/// A receive stream is identified by its sender and whether it is the sender's multicast channel.
type StreamKey = (EndpointId, bool);

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
    multicast: SendChannel,
    unicast: HashMap<EndpointId, SendChannel>,
    streams: HashMap<StreamKey, RecvStream>,
    ack_queue: Vec<StreamKey>,
    /// ACKs held back for a moment to ride on data to the same peer (see `core/reliable.rs`), with the time
    /// they go on their own.
    held_acks: Vec<(StreamKey, Instant)>,
    /// When this endpoint last sent reliable data to each peer: replies are likely, so ACKs wait for them.
    last_sent_to: HashMap<EndpointId, Instant>,
    /// The next sequence number of unicast channels to forgotten peers (see `forget_peer`).
    resume_seq: HashMap<EndpointId, u64>,
    ack_scratch: Ack,
    /// Bytes held by receive streams (see `ReliableLimits::max_receive_memory`).
    recv_memory: usize,
    /// The extension area sent in every announcement (see [`Core::set_announce_extension`]).
    announce_extensions: Vec<u8>,
    /// Unsolicited unicast answers (to newcomers' announcements, challenges, to be challenged): spoofed sources must
    /// not turn this endpoint into a reflector. 256 at once, 1000 a second.
    replies: Budget,
    /// Sealing, when the core has network keys.
    seal: Option<Seal>,
    /// A copy of a sealed datagram handed over read-only, to be opened in place (reused).
    scratch: Vec<u8>,
    /// Unicast peers, gossip, probes and the unicast fan-out of `multicast: false`.
    gossip: gossip::Gossip,
}

/// Both sides of sealing.
#[derive(Debug)]
struct Seal {
    sealer: Sealer,
    opener: Opener,
}

/// A token bucket: at most `burst` at once, `rate` a second on average.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    tokens: f64,
    burst: f64,
    rate: f64,
    at: Option<Instant>,
}

impl Budget {
    pub(crate) fn new(burst: f64, rate: f64) -> Self {
        Budget { tokens: burst, burst, rate, at: None }
    }

    /// Takes a token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        if let Some(at) = self.at {
            self.tokens =
                (self.tokens + now.saturating_duration_since(at).as_secs_f64() * self.rate).min(self.burst);
        }
        self.at = Some(now);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

impl Core {
    /// A core that will announce itself at `now`.
    pub fn new(config: CoreConfig, now: Instant) -> Result<Core, ConfigError> {
        config.validate()?;
        let seal = config.seal.as_ref().map(|c| Seal {
            sealer: Sealer::new(c, config.network_id, config.id),
            // Senders verified at most: every peer and a margin (a forgotten one is challenged again).
            opener: Opener::new(config.network_id, c.keys.clone(), config.max_peers + 64),
        });
        let outbox = match &seal {
            Some(s) => Outbox::new(s.sealer.header_template(), TAG_LEN, config.max_datagram_size),
            None => {
                let mut prefix = Vec::new();
                Header { flags: 0, network_id: config.network_id, source: config.id }.encode(&mut prefix);
                Outbox::new(prefix, 0, config.max_datagram_size)
            }
        };
        Ok(Core {
            peers: PeerTable::new(config.max_peers, config.expiry_multiplier),
            schedule: AnnounceSchedule::new(now, config.announce_period),
            multicast: SendChannel::new(true, config.broadcast_target, outbox.max_body()),
            outbox,
            events: VecDeque::new(),
            inbox: Vec::new(),
            stats: Stats::default(),
            rng: Rng::new(config.seed),
            data_seq: 0,
            closed: false,
            unicast: HashMap::new(),
            streams: HashMap::new(),
            ack_queue: Vec::new(),
            held_acks: Vec::new(),
            last_sent_to: HashMap::new(),
            resume_seq: HashMap::new(),
            ack_scratch: Ack::default(),
            recv_memory: 0,
            announce_extensions: Vec::new(),
            replies: Budget::new(256.0, 1000.0),
            seal,
            scratch: Vec::new(),
            gossip: gossip::Gossip::new(config.peers.clone(), config.announce_period),
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

    /// Bytes held for reliable traffic: queued to send plus receive buffers. Zero when traffic has
    /// stopped and everything was acknowledged (tests check that memory returns to zero).
    pub fn reliable_memory(&self) -> usize {
        self.recv_memory
            + self.multicast.queued_bytes()
            + self.unicast.values().map(SendChannel::queued_bytes).sum::<usize>()
    }

    /// Says goodbye (queued BYE to the discovery target and the unicast peers); afterwards sends fail and timers stop.
    /// Drain [`Core::poll_transmit`] once more to send the goodbye.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.queue_byes();
        self.closed = true;
    }

    /// Whether [`Core::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The next datagram to send, written into `buf` (replacing its contents; the buffer may be swapped
    /// for one of the core's, so keep passing the same `Vec`). New reliable fragments (as far as the
    /// windows allow) and pending acknowledgements are packed when the queue runs empty; a held ACK goes
    /// along when data for its peer is queued, else on its own once its hold time is up.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        if let Some(destination) = self.next_fanout(buf) {
            return Some(self.sent(destination, buf));
        }
        loop {
            if self.outbox.is_empty() {
                self.pump(now);
                self.flush_acks(now);
            }
            let (destination, mut datagram) = self.outbox.pop()?;
            std::mem::swap(buf, &mut datagram);
            self.outbox.recycle(datagram);
            let group = self.is_group(destination);
            if let Some(seal) = &mut self.seal {
                seal.sealer.seal(buf, group);
            }
            if !group || self.config.multicast {
                return Some(self.sent(destination, buf));
            }
            // `multicast: false`: unicast copies to every accepted peer (none: dropped).
            if let Some(first) = self.start_fanout(buf) {
                return Some(self.sent(first, buf));
            }
        }
    }

    /// Counts a datagram handed out; a unicast copy of a group datagram is counted as one too.
    fn sent(&mut self, destination: SocketAddr, buf: &[u8]) -> Transmit {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += buf.len() as u64;
        Transmit { destination, size: buf.len() }
    }

    /// When [`Core::handle_timeout`] should be called next (None after close).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let limits = &self.config.reliable;
        let next = self.schedule.next();
        let expiry = self.peers.next_expiry();
        let channels =
            self.unicast.values().chain([&self.multicast]).filter_map(SendChannel::next_timeout).min();
        let streams = self.streams.values().filter_map(|s| s.next_timeout(limits)).min();
        let held = self.held_acks.iter().map(|(_, at)| *at).min();
        [Some(next), expiry, channels, streams, held].into_iter().flatten().min()
    }

    /// Advances timers: announces when due, expires silent peers, retransmits, enforces deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.schedule.is_due(now) {
            self.announce_round();
            let jitter = self.rng.below(1 << 20) as f64 / (1u64 << 20) as f64;
            self.schedule.sent(now, jitter);
        }
        let mut expired = Vec::new();
        self.peers.expire(now, |peer| expired.push(peer));
        for peer in expired {
            self.forget_peer(now, peer.id);
            self.events.push_back(Event::PeerDown { peer, reason: crate::DownReason::Expired });
        }
        self.reliable_timeouts(now);
    }

    /// Restarts every peer's lease at `now`: for a runtime that stopped reading for a while (its consumer was
    /// busy), so that the peers' announcements it has not read yet do not count as silence.
    pub fn extend_leases(&mut self, now: Instant) {
        self.peers.extend_all(now);
    }

    /// Whether [`Core::poll_event`] has something.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next event, in the order things happened.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Message payloads of the events drained so far (see [`crate::Payload::Inbox`]).
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
