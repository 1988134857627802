//! The sending side of one reliable channel: a unicast channel to one peer, or this endpoint's
//! multicast channel to every peer. Assigns a sequence number to every fragment, keeps what is not yet
//! acknowledged by every intended receiver, repairs gaps the receivers report (by unicast, or by
//! multicast when several miss the same fragment), probes on timeout (then retransmits) with backoff, and
//! respects each receiver's window and its own send window.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{ReliableLimits, Rtt};
use crate::outbox::Outbox;
use crate::wire::{
    Ack, Heartbeat, RData, SubmessageKind, HEARTBEAT_FLAG_DIRECT, HEARTBEAT_FLAG_MULTICAST, RDATA_FLAG_FIRST,
    RDATA_FLAG_LAST, RDATA_FLAG_MULTICAST,
};
use crate::{EndpointId, Event, Stats};

/// Repairs sent in answer to one ACK, at most.
const MAX_REPAIRS_PER_ACK: usize = 256;
/// Fragments resent to one receiver when the retransmission timer fires, at most (from the
/// [`PROBE_TIMEOUTS`]-th + 1 timeout without an ACK on).
const MAX_RESENDS_PER_TIMEOUT: usize = 64;
/// Timeouts in a row (no ACK in between) that send a probe, not every missing fragment: the last fragment the
/// receiver lacks, so that its ACK shows every gap below it (repaired at once), or that the receiver was only slow
/// to answer (a busy application thread) and has everything. Resending the whole window at the first timeout
/// made every late ACK cost the window again (TCP's tail loss probe and QUIC's probe timeout do the same).
const PROBE_TIMEOUTS: u32 = 2;

/// What a channel operation may touch in the core.
pub(crate) struct ChannelCtx<'a> {
    pub now: Instant,
    pub outbox: &'a mut Outbox,
    pub events: &'a mut VecDeque<Event>,
    pub stats: &'a mut Stats,
    pub limits: &'a ReliableLimits,
}

/// The sender's view of one receiver.
#[derive(Debug)]
struct Track {
    peer: EndpointId,
    addr: SocketAddr,
    /// All sequence numbers below this are acknowledged by the receiver.
    cum: u64,
    /// Acknowledged runs beyond `cum`, `[start, end)`, ascending.
    acked: Vec<(u64, u64)>,
    /// The receiver's advertised window.
    window: u32,
    /// The highest sequence number this receiver has acknowledged so far (+1), for RTT samples.
    largest: u64,
    /// Since when this receiver's ACKs say it is ahead of what was sent (see `SendChannel::on_ack`).
    ahead_since: Option<Instant>,
    /// The `next` of this receiver's latest ACK (where its stream really is; below `cum` when it lags behind a start
    /// it was told, e.g. a channel that resumed after one side forgot the other).
    reported: u64,
    /// When a direct heartbeat last stepped this receiver forward (at most every `STEP_INTERVAL`).
    stepped_at: Option<Instant>,
    /// Fragments resent to this receiver's own address (repairs by unicast and timeouts; statistics only).
    resent: u64,
    /// When the unanswered round-trip probe (a direct heartbeat, see `SendChannel::probe`) was sent.
    probe_at: Option<Instant>,
    /// Round trips measured by probes (statistics only: never used for retransmission timers).
    probed: Rtt,
}

/// A round-trip probe not answered within this long is taken as lost (another may be sent).
const PROBE_LOST: Duration = Duration::from_secs(1);

/// A receiver that lags behind where its channel starts is stepped forward a window at a time, at most this often.
const STEP_INTERVAL: Duration = Duration::from_millis(5);

/// A receiver whose ACKs say it received, in order, more than was sent (its stream was pushed ahead by a forged
/// heartbeat or fragment) is resynchronised once this has lasted this long (a restart race settles sooner).
const AHEAD_GRACE: Duration = Duration::from_millis(200);

/// Most acknowledged ranges kept per receiver (the highest are forgotten first; they are re-reported).
const MAX_TRACKED_RANGES: usize = 128;

/// `into` := (`into` ∪ `add`) ∩ [floor, ∞), as sorted, disjoint, non-adjacent ranges.
fn merge_ranges(into: &mut Vec<(u64, u64)>, add: &[(u64, u64)], floor: u64) {
    into.extend_from_slice(add);
    into.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(into.len());
    for &(s, e) in into.iter() {
        let (s, e) = (s.max(floor), e);
        if s >= e {
            continue;
        }
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged.truncate(MAX_TRACKED_RANGES);
    *into = merged;
}

/// Reports a message Delivered (every receiver acknowledged) or Failed (some went away) once nobody is
/// pending any more; does nothing otherwise or when already reported.
fn report(ctx: &mut ChannelCtx<'_>, m: &mut OutMessage) {
    if m.reported || !m.pending.is_empty() {
        return;
    }
    m.reported = true;
    if m.missing.is_empty() {
        ctx.stats.reliable_messages_acked += 1;
        if let Some(token) = m.token {
            ctx.events.push_back(Event::Delivered { token });
        }
    } else {
        ctx.stats.reliable_messages_failed += 1;
        if let Some(token) = m.token {
            ctx.events.push_back(Event::Failed { token, missing: std::mem::take(&mut m.missing) });
        }
    }
}

impl Track {
    fn has(&self, seq: u64) -> bool {
        seq < self.cum || self.acked.iter().any(|&(s, e)| s <= seq && seq < e)
    }

    /// The furthest a heartbeat may tell this receiver to skip to: one window past where it reported to be (it refuses
    /// further skips, see `RecvStream::on_heartbeat`; a longer run is skipped window by window, one per round trip).
    fn skip_limit(&self) -> u64 {
        self.cum.min(self.reported).saturating_add(self.window.max(1) as u64)
    }
}

#[derive(Debug)]
struct OutMessage {
    token: Option<u64>,
    first: u64,
    end: u64,
    data: Vec<u8>,
    /// Receivers that have not acknowledged the whole message yet.
    pending: Vec<EndpointId>,
    /// Receivers that went away before acknowledging.
    missing: Vec<EndpointId>,
    /// Past its deadline: not resent any more; receivers are told to skip it.
    abandoned: bool,
    /// Delivered or Failed was reported (or nobody asked).
    reported: bool,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    last_sent: Instant,
    sends: u32,
    len: u32,
}

/// One reliable channel's sending state.
#[derive(Debug)]
pub(crate) struct SendChannel {
    multicast: bool,
    dest: SocketAddr,
    frag: usize,
    tracks: Vec<Track>,
    messages: VecDeque<OutMessage>,
    /// Lowest sequence number still kept (the first of the oldest unfinished message).
    base: u64,
    /// Next sequence number to transmit for the first time.
    next_send: u64,
    /// Next sequence number to assign.
    next_assign: u64,
    /// Send state of `base..next_send`.
    slots: VecDeque<Slot>,
    bytes_in_flight: usize,
    /// Every receiver has acknowledged all fragments below this (≥ `base`): the windows count from here,
    /// so they slide within a message larger than the window, not only from message to message.
    floor: u64,
    /// Bytes of the kept fragments in `base..floor` (part of `bytes_in_flight`, but no longer in flight).
    bytes_below_floor: usize,
    queued_bytes: usize,
    rtt: Rtt,
    backoff: u32,
    rto_at: Option<Instant>,
    /// Deadlines of queued messages, earliest first: (deadline, first sequence number). Entries of
    /// messages already finished are discarded when they come up.
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Messages queued on this channel since it was created (statistics only).
    messages_queued: u64,
    /// Payload bytes of those messages (statistics only).
    bytes_queued: u64,
}

/// One receiver's share of a channel, read on demand for statistics (see [`crate::PeerStats`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReceiverView {
    /// Fragments resent to the receiver's own address.
    pub resent: u64,
    /// Fragments sent and not yet acknowledged by the receiver.
    pub unacked: u64,
}

impl SendChannel {
    /// A channel sending to `dest`; `max_body` is the largest submessage body (fragments are sized to it).
    pub(crate) fn new(multicast: bool, dest: SocketAddr, max_body: usize) -> Self {
        SendChannel {
            multicast,
            dest,
            frag: max_body - RData::overhead(RDATA_FLAG_FIRST),
            tracks: Vec::new(),
            messages: VecDeque::new(),
            base: 0,
            next_send: 0,
            next_assign: 0,
            slots: VecDeque::new(),
            bytes_in_flight: 0,
            floor: 0,
            bytes_below_floor: 0,
            queued_bytes: 0,
            rtt: Rtt::default(),
            backoff: 0,
            rto_at: None,
            deadlines: BinaryHeap::new(),
            messages_queued: 0,
            bytes_queued: 0,
        }
    }

    /// A unicast channel whose sequence numbers start at `seq` (see `Core::forget_peer`: a channel to a
    /// peer that comes back continues the numbering of the one before, so that a receiver that never lost
    /// sight of this endpoint does not take the new messages for duplicates).
    pub(crate) fn starting_at(mut self, seq: u64) -> Self {
        debug_assert!(self.messages.is_empty() && self.tracks.is_empty());
        (self.base, self.next_send, self.next_assign, self.floor) = (seq, seq, seq, seq);
        self
    }

    /// The next sequence number this channel would assign.
    pub(crate) fn next_sequence(&self) -> u64 {
        self.next_assign
    }

    /// Bytes of messages not yet finished.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// The address of a receiver.
    pub(crate) fn receiver_address(&self, peer: EndpointId) -> Option<SocketAddr> {
        self.tracks.iter().find(|t| t.peer == peer).map(|t| t.addr)
    }

    /// The smoothed round-trip time of this channel.
    pub(crate) fn srtt(&self) -> Duration {
        self.rtt.srtt()
    }

    /// The smoothed RTT and its variation, once measured.
    pub(crate) fn measured_rtt(&self) -> Option<(Duration, Duration)> {
        self.rtt.measured()
    }

    /// Messages queued since the channel was created, and their payload bytes.
    pub(crate) fn queued_totals(&self) -> (u64, u64) {
        (self.messages_queued, self.bytes_queued)
    }

    /// Messages not finished yet (sent and unacknowledged, or waiting for the window).
    pub(crate) fn unfinished_messages(&self) -> usize {
        self.messages.len()
    }

    /// Fragments assigned but not sent yet (waiting for a window).
    pub(crate) fn unsent_fragments(&self) -> u64 {
        self.next_assign - self.next_send
    }

    /// Measures the round trip to `peer` without data: sends it a direct heartbeat (as on `add_receiver`; it says
    /// nothing new, the receiver answers it with an ACK) and times the next ACK from it. At most one probe is
    /// outstanding per receiver; a new one replaces a probe unanswered for a second (lost). False when `peer` is not a
    /// receiver or a probe is still waiting.
    pub(crate) fn probe(&mut self, ctx: &mut ChannelCtx<'_>, peer: EndpointId) -> bool {
        let Some(t) = self.tracks.iter().position(|t| t.peer == peer) else { return false };
        let waiting = self.tracks[t].probe_at.is_some_and(|at| ctx.now.saturating_duration_since(at) < PROBE_LOST);
        if waiting {
            return false;
        }
        self.direct_heartbeat(ctx, t);
        self.tracks[t].probe_at = Some(ctx.now);
        true
    }

    /// The smoothed round trip and its variation measured by probes to `peer`, if any.
    pub(crate) fn probed_rtt(&self, peer: EndpointId) -> Option<(Duration, Duration)> {
        self.tracks.iter().find(|t| t.peer == peer).and_then(|t| t.probed.measured())
    }

    /// What `peer` holds of this channel (None when it is not a receiver). O(acknowledged runs).
    pub(crate) fn receiver_view(&self, peer: EndpointId) -> Option<ReceiverView> {
        let t = self.tracks.iter().find(|t| t.peer == peer)?;
        let sent = self.next_send;
        let from = t.cum.max(self.base).min(sent);
        let acked: u64 = t.acked.iter().map(|&(s, e)| e.min(sent).saturating_sub(s.max(from))).sum();
        Some(ReceiverView { resent: t.resent, unacked: (sent - from).saturating_sub(acked) })
    }

    fn hb_flags(&self, direct: bool) -> u8 {
        (if self.multicast { HEARTBEAT_FLAG_MULTICAST } else { 0 })
            | if direct { HEARTBEAT_FLAG_DIRECT } else { 0 }
    }

    fn push_heartbeat(&self, ctx: &mut ChannelCtx<'_>, dest: SocketAddr, direct: bool, first: u64) {
        let hb = Heartbeat { first, next: self.next_send.max(first) };
        ctx.outbox.push(dest, SubmessageKind::Heartbeat as u8, self.hb_flags(direct), Heartbeat::LEN, |o| {
            hb.encode(o)
        });
        ctx.stats.heartbeats_sent += 1;
    }

    fn direct_heartbeat(&self, ctx: &mut ChannelCtx<'_>, t: usize) {
        let t = &self.tracks[t];
        self.push_heartbeat(ctx, t.addr, true, t.cum.max(self.base).min(t.skip_limit()));
    }

    /// `first` of a heartbeat to the group: the base, but no receiver is told to skip beyond its window.
    fn group_first(&self) -> u64 {
        self.tracks.iter().map(Track::skip_limit).fold(self.base, u64::min)
    }

    /// Adds a receiver whose stream starts at the next message; tells it so with a direct heartbeat.
    pub(crate) fn add_receiver(&mut self, ctx: &mut ChannelCtx<'_>, peer: EndpointId, addr: SocketAddr) {
        if self.tracks.iter().any(|t| t.peer == peer) {
            return;
        }
        let window = ctx.limits.recv_window;
        let cum = self.next_assign;
        let acked = Vec::new();
        let t = Track {
            peer,
            addr,
            cum,
            acked,
            window,
            largest: 0,
            ahead_since: None,
            reported: cum,
            stepped_at: None,
            resent: 0,
            probe_at: None,
            probed: Rtt::default(),
        };
        self.tracks.push(t);
        self.direct_heartbeat(ctx, self.tracks.len() - 1);
    }

    /// Removes a receiver: messages waiting for it complete without it (reported as failed for it).
    pub(crate) fn remove_receiver(&mut self, ctx: &mut ChannelCtx<'_>, peer: EndpointId) {
        self.tracks.retain(|t| t.peer != peer);
        for m in self.messages.iter_mut() {
            if let Some(i) = m.pending.iter().position(|p| *p == peer) {
                m.pending.swap_remove(i);
                m.missing.push(peer);
            }
        }
        self.finish_messages(ctx, 0..self.messages.len());
    }

    /// Queues a message for every current receiver. With no receivers it is delivered at once.
    pub(crate) fn enqueue(
        &mut self,
        ctx: &mut ChannelCtx<'_>,
        data: Vec<u8>,
        token: Option<u64>,
        deadline: Instant,
    ) {
        let n = data.len().div_ceil(self.frag).max(1) as u64;
        let first = self.next_assign;
        self.next_assign += n;
        self.queued_bytes += data.len();
        self.messages_queued += 1;
        self.bytes_queued += data.len() as u64;
        let pending = self.tracks.iter().map(|t| t.peer).collect();
        ctx.stats.reliable_messages_sent += 1;
        let m = OutMessage {
            token,
            first,
            end: first + n,
            data,
            pending,
            missing: vec![],
            abandoned: false,
            reported: false,
        };
        self.messages.push_back(m);
        self.deadlines.push(Reverse((deadline, first)));
        if self.deadlines.len() > 2 * self.messages.len() + 1024 {
            // Deadlines of finished messages wait in the heap until they come up: drop them now and then, so that
            // the heap holds about as many as there are messages (not every message of the last 30 s).
            let messages = &self.messages;
            let live = |first: u64| {
                let i = messages.partition_point(|m| m.first < first);
                messages.get(i).is_some_and(|m| m.first == first && !m.reported)
            };
            self.deadlines.retain(|Reverse((_, first))| live(*first));
        }
        self.finish_messages(ctx, self.messages.len() - 1..self.messages.len());
    }

    fn message_of(&self, seq: u64) -> usize {
        self.messages.partition_point(|m| m.end <= seq)
    }

    /// Writes fragment `seq` into the outbox for `dest`; returns its payload length.
    fn write_fragment(&self, ctx: &mut ChannelCtx<'_>, seq: u64, dest: SocketAddr) -> usize {
        let m = &self.messages[self.message_of(seq)];
        let k = (seq - m.first) as usize;
        let start = k * self.frag;
        let end = (start + self.frag).min(m.data.len());
        let mut flags = if self.multicast { RDATA_FLAG_MULTICAST } else { 0 };
        if seq == m.first {
            flags |= RDATA_FLAG_FIRST;
        }
        if seq + 1 == m.end {
            flags |= RDATA_FLAG_LAST;
        }
        let carries_len = flags & (RDATA_FLAG_FIRST | RDATA_FLAG_LAST) == RDATA_FLAG_FIRST;
        let rdata = RData {
            seq,
            message_len: carries_len.then_some(m.data.len() as u64),
            payload: &m.data[start..end],
        };
        let len = RData::overhead(flags) + (end - start);
        ctx.outbox.push(dest, SubmessageKind::RData as u8, flags, len, |o| rdata.encode(o));
        end - start
    }

    /// Whether the windows allow sending `next_send` for the first time.
    fn window_open(&self, limits: &ReliableLimits) -> bool {
        let in_flight = self.next_send - self.floor.max(self.base);
        in_flight < limits.send_window as u64
            && self.bytes_in_flight - self.bytes_below_floor < limits.send_window_bytes
            && self.tracks.iter().all(|t| self.next_send < t.cum.max(self.base) + t.window.max(1) as u64)
    }

    /// Sends new fragments as far as the windows allow, then a heartbeat asking for acknowledgements.
    pub(crate) fn pump(&mut self, ctx: &mut ChannelCtx<'_>) {
        let start = self.next_send;
        while self.next_send < self.next_assign && self.window_open(ctx.limits) {
            let seq = self.next_send;
            let len = if self.messages[self.message_of(seq)].abandoned {
                0
            } else {
                ctx.stats.fragments_sent += 1;
                self.write_fragment(ctx, seq, self.dest)
            };
            self.slots.push_back(Slot { last_sent: ctx.now, sends: 1, len: len as u32 });
            self.bytes_in_flight += len;
            self.next_send += 1;
        }
        if self.next_send < self.next_assign {
            ctx.stats.window_stalls += 1;
        }
        if self.next_send > start {
            if self.multicast {
                self.push_heartbeat(ctx, self.dest, false, self.group_first());
            } else if !self.tracks.is_empty() {
                self.direct_heartbeat(ctx, 0);
            }
            self.rto_at.get_or_insert(ctx.now + self.rtt.rto(self.backoff));
        }
    }

    fn resend(&mut self, ctx: &mut ChannelCtx<'_>, seq: u64, dest: SocketAddr) {
        self.write_fragment(ctx, seq, dest);
        let slot = &mut self.slots[(seq - self.base) as usize];
        slot.last_sent = ctx.now;
        slot.sends += 1;
        ctx.stats.fragments_resent += 1;
        if let Some(t) = self.tracks.iter_mut().find(|t| t.addr == dest) {
            t.resent += 1;
        }
    }

    /// Where to repair `seq`: the group when several receivers miss it, else the one receiver.
    fn repair_dest(&self, seq: u64, asker: SocketAddr) -> SocketAddr {
        if self.multicast && self.tracks.iter().filter(|t| !t.has(seq)).count() >= 2 {
            self.dest
        } else {
            asker
        }
    }

    fn resendable(&self, seq: u64) -> bool {
        seq >= self.base && seq < self.next_send && !self.messages[self.message_of(seq)].abandoned
    }

    /// Processes an ACK from `peer`. Returns false (and changes nothing) for an ACK that is not
    /// plausible: from a peer that is not a receiver, or acknowledging what was never sent.
    pub(crate) fn on_ack(
        &mut self,
        ctx: &mut ChannelCtx<'_>,
        peer: EndpointId,
        ack: &Ack,
        sync: bool,
    ) -> bool {
        let Some(ti) = self.tracks.iter().position(|t| t.peer == peer) else { return false };
        let highest = ack.ranges.last().map_or(ack.next, |r| r.1);
        if ack.next > self.next_send {
            // The receiver says it took, in order, what was never sent: forged, or its stream was pushed ahead.
            let t = &mut self.tracks[ti];
            if ack.next - self.next_send > t.window.max(1) as u64 {
                return false; // beyond anything one skip could explain: refused
            }
            let since = *t.ahead_since.get_or_insert(ctx.now);
            if ctx.now.saturating_duration_since(since) < AHEAD_GRACE {
                return false;
            }
            self.resync_ahead(ctx, ti, ack.next);
            return true;
        }
        let limit = self.next_send;
        let clamped = ack.top > limit;
        if clamped {
            // Holds fragments never sent (forged): what lies beyond is ignored, the rest applies.
            ctx.stats.dropped_invalid_ack += 1;
        }
        ctx.stats.acks_received += 1;
        let t = &mut self.tracks[ti];
        if let Some(at) = t.probe_at.take() {
            // The ACK's delay field counts from the receiver's last fragment, not from the probe: not subtracted.
            t.probed.sample(ctx.now.saturating_duration_since(at));
        }
        t.window = ack.window;
        t.ahead_since = None;
        // A SYNC ACK's `next` (0) says nothing about where the receiver is: it does not know where its stream starts,
        // and takes whatever start the direct heartbeat below tells it. Taken as its position, it would send the
        // receiver back to one window and step it forward a window per round trip.
        if !sync {
            t.reported = ack.next;
        }
        let progress = ack.next > t.cum;
        // Behind where it should be (a stale ACK, or a stream that refused a skip of more than a window): step it on.
        let step = ack.next < t.cum.max(self.base)
            && t.stepped_at.is_none_or(|at| ctx.now.saturating_duration_since(at) >= STEP_INTERVAL);
        if step {
            t.stepped_at = Some(ctx.now);
        }
        // RTT sample: only when the receiver's top is new and was sent once (QUIC's rule: a cumulative
        // ACK after a repair would otherwise measure the repair, not the path).
        if !clamped && ack.top > t.largest {
            t.largest = ack.top;
            let s = ack.top - 1;
            if s >= self.base {
                let slot = self.slots[(s - self.base) as usize];
                let delay = Duration::from_micros(ack.delay_us as u64);
                if slot.sends == 1 {
                    self.rtt.sample(ctx.now.saturating_duration_since(slot.last_sent).saturating_sub(delay));
                }
            }
        }
        if progress {
            t.cum = ack.next;
        }
        // Receivers never drop what they acknowledged, so selective acknowledgements only add up: merging
        // them keeps a late, reordered ACK from making repaired fragments look missing again.
        merge_ranges(&mut t.acked, &ack.ranges, t.cum);
        if clamped {
            t.acked.retain(|r| r.0 < limit);
            if let Some(last) = t.acked.last_mut() {
                last.1 = last.1.min(limit);
            }
        }
        if sync || step {
            self.direct_heartbeat(ctx, ti);
        }
        // Any ACK shows the receiver is alive: losses are random, not congestion, so keep the timer short.
        self.backoff = 0;
        if progress {
            let cum = self.tracks[ti].cum;
            let mut touched = 0;
            for m in self.messages.iter_mut().take_while(|m| m.first < cum) {
                if m.end <= cum {
                    m.pending.retain(|p| *p != peer);
                }
                touched += 1;
            }
            self.finish_messages(ctx, 0..touched);
            self.advance_floor();
            let lagging = self.lagging().next().is_some();
            self.rto_at = lagging.then(|| ctx.now + self.rtt.rto(0));
        }
        self.repair(ctx, peer, highest.min(limit));
        true
    }

    /// A receiver is ahead of this channel (it acknowledged `next` > what was sent, for a while): what it skipped
    /// fails for it (its senders are told, as for a receiver that left), numbering continues at `next` (an empty,
    /// abandoned filler takes up the numbers between; other receivers skip it), and it is in step again.
    fn resync_ahead(&mut self, ctx: &mut ChannelCtx<'_>, ti: usize, next: u64) {
        ctx.stats.channel_resyncs += 1;
        let (peer, cum) = (self.tracks[ti].peer, self.tracks[ti].cum);
        for m in self.messages.iter_mut().filter(|m| m.end > cum && m.first < next) {
            if let Some(i) = m.pending.iter().position(|p| *p == peer) {
                m.pending.swap_remove(i);
                m.missing.push(peer);
            }
        }
        if next > self.next_assign {
            let filler = OutMessage {
                token: None,
                first: self.next_assign,
                end: next,
                data: Vec::new(),
                pending: Vec::new(),
                missing: Vec::new(),
                abandoned: true,
                reported: true,
            };
            self.messages.push_back(filler);
            self.next_assign = next;
        }
        let t = &mut self.tracks[ti];
        (t.cum, t.ahead_since, t.reported) = (next, None, next);
        t.acked.clear();
        self.finish_messages(ctx, 0..self.messages.len());
    }

    /// Resends the holes below `highest` that `peer` reported, unless they were sent very recently.
    fn repair(&mut self, ctx: &mut ChannelCtx<'_>, peer: EndpointId, highest: u64) {
        let Some(t) = self.tracks.iter().find(|t| t.peer == peer) else { return };
        let guard = self.rtt.loss_delay();
        let addr = t.addr;
        let holes: Vec<u64> = (t.cum.max(self.base)..highest.min(self.next_send))
            .filter(|&s| !t.has(s))
            .filter(|&s| self.resendable(s))
            .filter(|&s| {
                ctx.now.saturating_duration_since(self.slots[(s - self.base) as usize].last_sent) >= guard
            })
            .take(MAX_REPAIRS_PER_ACK)
            .collect();
        if holes.is_empty() {
            return;
        }
        let mut multicast_used = false;
        for s in holes {
            let dest = self.repair_dest(s, addr);
            multicast_used |= dest == self.dest && self.multicast;
            self.resend(ctx, s, dest);
        }
        let ti = self.tracks.iter().position(|t| t.peer == peer).expect("present");
        self.direct_heartbeat(ctx, ti);
        if multicast_used {
            self.push_heartbeat(ctx, self.dest, false, self.group_first());
        }
    }

    fn lagging(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.tracks.len()).filter(|&i| self.tracks[i].cum.max(self.base) < self.next_send)
    }

    /// Reports the messages at `indices` that every receiver acknowledged (or that lost their last
    /// pending receiver), then drops finished messages from the front.
    fn finish_messages(&mut self, ctx: &mut ChannelCtx<'_>, indices: std::ops::Range<usize>) {
        for m in self.messages.range_mut(indices) {
            report(ctx, m);
        }
        while self.messages.front().is_some_and(|m| m.pending.is_empty() || m.abandoned) {
            let mut m = self.messages.pop_front().expect("front");
            report(ctx, &mut m);
            self.queued_bytes -= m.data.len();
            let new_base = m.end;
            while self.base < new_base && !self.slots.is_empty() {
                let slot = self.slots.pop_front().expect("slot");
                self.bytes_in_flight -= slot.len as usize;
                if self.base < self.floor {
                    self.bytes_below_floor -= slot.len as usize;
                }
                self.base += 1;
            }
            self.base = new_base;
            self.next_send = self.next_send.max(new_base);
        }
        self.advance_floor();
    }

    /// Moves `floor` up to the lowest point every receiver has acknowledged.
    fn advance_floor(&mut self) {
        if self.floor < self.base {
            self.floor = self.base;
        }
        let acked = self.tracks.iter().map(|t| t.cum.max(self.base)).min().unwrap_or(self.next_send);
        let target = acked.min(self.next_send);
        while self.floor < target {
            self.bytes_below_floor += self.slots[(self.floor - self.base) as usize].len as usize;
            self.floor += 1;
        }
    }

    /// Deadlines and retransmission timeouts.
    pub(crate) fn on_timeout(&mut self, ctx: &mut ChannelCtx<'_>) {
        let now = ctx.now;
        while let Some(&Reverse((deadline, first))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let i = self.messages.partition_point(|m| m.first < first);
            let Some(m) = self.messages.get_mut(i).filter(|m| m.first == first && !m.reported) else {
                continue;
            };
            m.abandoned = true;
            m.reported = true;
            ctx.stats.reliable_messages_failed += 1;
            if let Some(token) = m.token {
                let mut missing = std::mem::take(&mut m.missing);
                missing.extend(m.pending.iter().copied());
                ctx.events.push_back(Event::Failed { token, missing });
            }
        }
        self.finish_messages(ctx, 0..0);
        if self.rto_at.is_none_or(|at| now < at) {
            return;
        }
        self.backoff += 1;
        ctx.stats.retransmit_timeouts += 1;
        let probe = self.backoff <= PROBE_TIMEOUTS;
        let lagging: Vec<usize> = self.lagging().collect();
        let mut multicast_resent = Vec::new();
        for ti in lagging.iter().copied() {
            let t = &self.tracks[ti];
            let range = t.cum.max(self.base)..self.next_send;
            let missing: Vec<u64> = if probe {
                range.rev().find(|&s| !t.has(s) && self.resendable(s)).into_iter().collect()
            } else {
                range.filter(|&s| !t.has(s) && self.resendable(s)).take(MAX_RESENDS_PER_TIMEOUT).collect()
            };
            let addr = t.addr;
            for s in missing {
                let dest = self.repair_dest(s, addr);
                if dest == self.dest && self.multicast {
                    if multicast_resent.contains(&s) {
                        continue;
                    }
                    multicast_resent.push(s);
                }
                self.resend(ctx, s, dest);
            }
            self.direct_heartbeat(ctx, ti);
        }
        self.rto_at = (!lagging.is_empty()).then(|| now + self.rtt.rto(self.backoff));
    }

    /// When [`SendChannel::on_timeout`] is next needed.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        // May be a message already finished: the wake-up then only discards it.
        let deadline = self.deadlines.peek().map(|Reverse((d, _))| *d);
        [deadline, self.rto_at].into_iter().flatten().min()
    }

    /// Whether fragments wait for the window or the pump.
    pub(crate) fn has_unsent(&self) -> bool {
        self.next_send < self.next_assign
    }
}

impl SendChannel {
    /// A one-line summary of the channel's state, for test failure messages.
    pub(crate) fn debug_state(&self) -> String {
        let tracks: Vec<String> = self
            .tracks
            .iter()
            .map(|t| format!("{}:cum={} acked={:?} win={}", t.peer, t.cum, t.acked, t.window))
            .collect();
        let front = self.messages.front().map(|m| (m.first, m.end, m.pending.clone(), m.abandoned));
        format!(
            "base={} next_send={} next_assign={} msgs={} front={:?} rto_at={:?} backoff={} tracks={:?}",
            self.base,
            self.next_send,
            self.next_assign,
            self.messages.len(),
            front,
            self.rto_at,
            self.backoff,
            tracks
        )
    }
}

#[cfg(test)]
mod tests {
    use super::merge_ranges;

    #[test]
    fn ranges_merge_and_clip() {
        let mut r = vec![(5, 8), (10, 12)];
        merge_ranges(&mut r, &[(7, 10), (20, 21)], 6);
        assert_eq!(r, vec![(6, 12), (20, 21)]);
        merge_ranges(&mut r, &[], 15);
        assert_eq!(r, vec![(20, 21)]);
    }
}
