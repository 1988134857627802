//! The reliable layer in the core: channels per peer and the multicast channel (sending), streams per
//! sender (receiving), and the glue between them and the peer table.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Core, Refusal, SendError, StreamKey};
use crate::reliable::{ChannelCtx, Delivery, RecvStream, SendChannel};
use crate::wire::{
    Ack, DecodeError, Heartbeat, RData, SubmessageKind, ACK_FLAG_MULTICAST, ACK_FLAG_SYNC,
    HEARTBEAT_FLAG_DIRECT, HEARTBEAT_FLAG_MULTICAST, RDATA_FLAG_MULTICAST,
};
use crate::{EndpointId, PeerInfo};

/// ACKs to a peer are held (`ReliableLimits::ack_hold`) only if this endpoint sent it reliable data this
/// recently (it is replying). The ACK's delay field tells the sender, so its RTT estimate excludes the hold.
pub const REPLY_WINDOW: Duration = Duration::from_millis(10);

/// Builds a [`ChannelCtx`] from disjoint fields of the core.
macro_rules! ctx {
    ($core:expr, $now:expr) => {
        ChannelCtx {
            now: $now,
            outbox: &mut $core.outbox,
            events: &mut $core.events,
            stats: &mut $core.stats,
            limits: &$core.config.reliable,
        }
    };
}

/// Builds a [`Delivery`] from disjoint fields of the core.
macro_rules! delivery {
    ($core:expr, $now:expr, $from:expr, $broadcast:expr) => {
        Delivery {
            now: $now,
            from: $from,
            broadcast: $broadcast,
            inbox: &mut $core.inbox,
            events: &mut $core.events,
            stats: &mut $core.stats,
            limits: &$core.config.reliable,
            memory: &mut $core.recv_memory,
        }
    };
}

impl Core {
    /// Queues a reliable message to one accepted peer, fragmented as needed. It arrives exactly once and
    /// in order with this endpoint's other reliable messages to that peer; `token` (if any) is reported
    /// as [`crate::Event::Delivered`] when acknowledged, or [`crate::Event::Failed`] when not by
    /// `deadline` (default `ReliableLimits::default_deadline`).
    pub fn send_reliable(
        &mut self,
        now: Instant,
        to: EndpointId,
        data: Vec<u8>,
        token: Option<u64>,
        deadline: Option<Duration>,
    ) -> Result<(), SendError> {
        self.try_send_reliable(now, to, data, token, deadline).map_err(|refusal| refusal.error)
    }

    /// [`Core::send_reliable`], handing the payload back when the message is refused, so that a caller
    /// whose own copy is gone (e.g. a runtime that copied it out of a buffer its application may reuse)
    /// can offer it again after a [`SendError::QueueFull`].
    pub fn try_send_reliable(
        &mut self,
        now: Instant,
        to: EndpointId,
        data: Vec<u8>,
        token: Option<u64>,
        deadline: Option<Duration>,
    ) -> Result<(), Refusal> {
        if let Err(error) = self.check_reliable(data.len()) {
            return Err(Refusal { error, data });
        }
        let Some(addr) = self.peers.address_of(to) else {
            return Err(Refusal { error: SendError::UnknownPeer(to), data });
        };
        if !self.config.reliable.ack_hold.is_zero() {
            self.last_sent_to.insert(to, now);
        }
        let limit = self.config.reliable.send_queue_bytes;
        let max_body = self.outbox.max_body();
        let mut ctx = ctx!(self, now);
        let resume = &mut self.resume_seq;
        let channel = self.unicast.entry(to).or_insert_with(|| {
            let start = resume.remove(&to).unwrap_or(0);
            let mut c = SendChannel::new(false, addr, max_body).starting_at(start);
            c.add_receiver(&mut ctx, to, addr);
            c
        });
        let queued = channel.queued_bytes();
        if queued > 0 && queued + data.len() > limit {
            return Err(Refusal { error: SendError::QueueFull { queued, limit }, data });
        }
        let deadline = now + deadline.unwrap_or(ctx.limits.default_deadline);
        channel.enqueue(&mut ctx, data, token, deadline);
        Ok(())
    }

    /// Queues a reliable message to every accepted peer, sent once to the multicast group and repaired
    /// per receiver. Reported like [`Core::send_reliable`]; with no peers it is delivered at once.
    pub fn broadcast_reliable(
        &mut self,
        now: Instant,
        data: Vec<u8>,
        token: Option<u64>,
        deadline: Option<Duration>,
    ) -> Result<(), SendError> {
        self.try_broadcast_reliable(now, data, token, deadline).map_err(|refusal| refusal.error)
    }

    /// [`Core::broadcast_reliable`], handing the payload back when the message is refused (see
    /// [`Core::try_send_reliable`]).
    pub fn try_broadcast_reliable(
        &mut self,
        now: Instant,
        data: Vec<u8>,
        token: Option<u64>,
        deadline: Option<Duration>,
    ) -> Result<(), Refusal> {
        if let Err(error) = self.check_reliable(data.len()) {
            return Err(Refusal { error, data });
        }
        let (queued, limit) = (self.multicast.queued_bytes(), self.config.reliable.send_queue_bytes);
        if queued > 0 && queued + data.len() > limit {
            return Err(Refusal { error: SendError::QueueFull { queued, limit }, data });
        }
        let mut ctx = ctx!(self, now);
        let deadline = now + deadline.unwrap_or(ctx.limits.default_deadline);
        self.multicast.enqueue(&mut ctx, data, token, deadline);
        Ok(())
    }

    fn check_reliable(&self, len: usize) -> Result<(), SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        let max = self.config.reliable.max_message_size;
        if len > max {
            return Err(SendError::TooLarge { size: len, max });
        }
        Ok(())
    }

    pub(super) fn add_multicast_receiver(&mut self, now: Instant, peer: EndpointId, addr: SocketAddr) {
        let mut ctx = ctx!(self, now);
        self.multicast.add_receiver(&mut ctx, peer, addr);
    }

    /// Drops everything reliable about a peer that is gone: nothing waits for it any more (its pending
    /// messages fail for it), and its receive streams are released.
    pub(super) fn forget_peer(&mut self, now: Instant, peer: EndpointId) {
        let mut ctx = ctx!(self, now);
        self.multicast.remove_receiver(&mut ctx, peer);
        if let Some(mut channel) = self.unicast.remove(&peer) {
            channel.remove_receiver(&mut ctx, peer);
            // The peer may not have forgotten us (a one-sided expiry): a later channel to it continues
            // this one's numbering. Bounded: forgotten when the table of such peers grows past max_peers.
            if self.resume_seq.len() >= self.config.max_peers {
                self.resume_seq.clear();
            }
            self.resume_seq.insert(peer, channel.next_sequence());
        }
        for key in [(peer, false), (peer, true)] {
            if let Some(mut s) = self.streams.remove(&key) {
                s.release(&mut self.recv_memory);
            }
        }
        self.ack_queue.retain(|k| k.0 != peer);
        self.held_acks.retain(|(k, _)| k.0 != peer);
        self.last_sent_to.remove(&peer);
    }

    /// A peer's address changed: its channels follow.
    /// Reliable state is tied to the old address: forget it (pending messages to the peer fail) and
    /// start again at the new one.
    pub(super) fn readdress(&mut self, now: Instant, info: &PeerInfo) {
        if self.multicast_receiver_address(info.id).is_some_and(|a| a == info.address) {
            return;
        }
        self.forget_peer(now, info.id);
        self.add_multicast_receiver(now, info.id, info.address);
    }

    fn multicast_receiver_address(&self, peer: EndpointId) -> Option<SocketAddr> {
        self.multicast.receiver_address(peer)
    }

    /// Runs `f` on the receive stream `key` (created when new) with a [`Delivery`] into this core.
    fn with_stream(
        &mut self,
        now: Instant,
        key: StreamKey,
        f: impl FnOnce(&mut RecvStream, &mut Delivery<'_>),
    ) {
        let mut stream = self.streams.remove(&key).unwrap_or_default();
        let mut d = delivery!(self, now, key.0, key.1);
        f(&mut stream, &mut d);
        self.streams.insert(key, stream);
    }

    /// Queues the ACK of stream `key` if one is due: at once, or held for up to `ack_hold` when this
    /// endpoint sent reliable data to the peer within [`REPLY_WINDOW`] (request/response traffic: the ACK
    /// will most likely ride on the reply, saving a datagram and a wake-up on both sides). A stream with a
    /// gap (or not yet synchronised) is acknowledged at once, so that repairs are never delayed.
    fn note_ack(&mut self, now: Instant, key: StreamKey) {
        let Some(stream) = self.streams.get(&key) else { return };
        if !stream.ack_due() || self.ack_queue.contains(&key) {
            return;
        }
        let hold = self.config.reliable.ack_hold;
        let replying = || {
            self.last_sent_to.get(&key.0).is_some_and(|t| now.saturating_duration_since(*t) < REPLY_WINDOW)
        };
        if !hold.is_zero() && stream.in_order() && replying() {
            if !self.held_acks.iter().any(|(k, _)| *k == key) {
                self.held_acks.push((key, now + hold));
            }
            return;
        }
        self.held_acks.retain(|(k, _)| *k != key);
        self.ack_queue.push(key);
    }

    pub(super) fn on_rdata(&mut self, now: Instant, from: EndpointId, flags: u8, rdata: &RData<'_>) {
        let key = (from, flags & RDATA_FLAG_MULTICAST != 0);
        self.with_stream(now, key, |stream, d| stream.on_data(d, flags, rdata));
        self.note_ack(now, key);
    }

    pub(super) fn on_heartbeat(&mut self, now: Instant, from: EndpointId, flags: u8, hb: &Heartbeat) {
        let key = (from, flags & HEARTBEAT_FLAG_MULTICAST != 0);
        let direct = flags & HEARTBEAT_FLAG_DIRECT != 0;
        self.with_stream(now, key, |stream, d| stream.on_heartbeat(d, hb, direct));
        self.note_ack(now, key);
    }

    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        from: EndpointId,
        flags: u8,
        body: &[u8],
    ) -> Result<(), DecodeError> {
        let mut ack = std::mem::take(&mut self.ack_scratch);
        let result = ack.decode_into(body);
        if result.is_ok() {
            let mut ctx = ctx!(self, now);
            let channel = if flags & ACK_FLAG_MULTICAST != 0 {
                Some(&mut self.multicast)
            } else {
                self.unicast.get_mut(&from)
            };
            let applied = channel.is_some_and(|c| c.on_ack(&mut ctx, from, &ack, flags & ACK_FLAG_SYNC != 0));
            if !applied {
                self.stats.dropped_invalid_ack += 1;
            }
        }
        self.ack_scratch = ack;
        result
    }

    /// Packs the ACKs that are due, and held ones whose time is up or whose peer has data queued.
    pub(super) fn flush_acks(&mut self, now: Instant) {
        let mut i = 0;
        while let Some(&(key, at)) = self.held_acks.get(i) {
            let rides = || self.peers.address_of(key.0).is_some_and(|a| self.outbox.has_datagram_for(a));
            if at <= now || rides() {
                self.held_acks.swap_remove(i);
                if !self.ack_queue.contains(&key) {
                    self.ack_queue.push(key);
                }
            } else {
                i += 1;
            }
        }
        let window = self.config.reliable.recv_window;
        let mut ack = std::mem::take(&mut self.ack_scratch);
        for key in std::mem::take(&mut self.ack_queue) {
            let Some(addr) = self.peers.address_of(key.0) else { continue };
            let Some(stream) = self.streams.get_mut(&key) else { continue };
            let Some(sync) = stream.take_ack(now, window, &mut ack) else { continue };
            let flags = if key.1 { ACK_FLAG_MULTICAST } else { 0 } | if sync { ACK_FLAG_SYNC } else { 0 };
            let len = Ack::encoded_len(ack.ranges.len());
            self.outbox.push(addr, SubmessageKind::Ack as u8, flags, len, |o| ack.encode(o));
            self.stats.acks_sent += 1;
        }
        self.ack_scratch = ack;
    }

    /// Sends new reliable fragments as far as the windows allow.
    pub(super) fn pump(&mut self, now: Instant) {
        let mut ctx = ctx!(self, now);
        if self.multicast.has_unsent() {
            self.multicast.pump(&mut ctx);
        }
        for channel in self.unicast.values_mut().filter(|c| c.has_unsent()) {
            channel.pump(&mut ctx);
        }
    }

    pub(super) fn reliable_timeouts(&mut self, now: Instant) {
        let mut ctx = ctx!(self, now);
        for channel in self.unicast.values_mut().chain([&mut self.multicast]) {
            if channel.next_timeout().is_some_and(|t| t <= now) {
                channel.on_timeout(&mut ctx);
            }
        }
        let limits = self.config.reliable;
        let due: Vec<StreamKey> = self
            .streams
            .iter()
            .filter(|(_, s)| s.next_timeout(&limits).is_some_and(|t| t <= now))
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            self.with_stream(now, key, |stream, d| stream.on_timeout(d));
        }
    }

    /// The smoothed round-trip time to a peer (its unicast channel), if one was measured.
    pub fn rtt(&self, peer: EndpointId) -> Option<Duration> {
        self.unicast.get(&peer).map(SendChannel::srtt)
    }
}

impl Core {
    /// A summary of the reliable state (channels and streams), for test failure messages.
    pub fn debug_reliable(&self) -> String {
        let mut out = format!("multicast: {}\n", self.multicast.debug_state());
        for (peer, c) in &self.unicast {
            out += &format!("unicast to {peer}: {}\n", c.debug_state());
        }
        for (key, s) in &self.streams {
            out += &format!("stream from {key:?}: {}\n", s.debug_state());
        }
        out
    }
}
