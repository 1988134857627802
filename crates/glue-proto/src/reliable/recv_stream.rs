//! The receiving side of one sender's reliable channel: duplicate suppression, a bounded reorder
//! buffer, in-order delivery, reassembly of fragmented messages within memory bounds, and the ACK
//! (cumulative + selective, with the window) that reports gaps to the sender.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::ReliableLimits;
use crate::event::Payload;
use crate::wire::{Ack, Heartbeat, RData, MAX_ACK_RANGES, RDATA_FLAG_FIRST, RDATA_FLAG_LAST};
use crate::{EndpointId, Event, Stats};

/// Acknowledge after this many in-order fragments even without a heartbeat.
const ACK_EVERY: u32 = 32;
/// Fragments buffered before the stream knows where it starts, at most (bytes are bounded as usual).
const MAX_UNSYNCED: usize = 8192;

/// Where delivered messages and counters go.
pub(crate) struct Delivery<'a> {
    pub now: Instant,
    pub from: EndpointId,
    pub broadcast: bool,
    pub inbox: &'a mut Vec<u8>,
    pub events: &'a mut VecDeque<Event>,
    pub stats: &'a mut Stats,
    pub limits: &'a ReliableLimits,
    /// Bytes held by all receive streams (reassembly and reorder buffers); kept within the limit.
    pub memory: &'a mut usize,
}

#[derive(Debug)]
struct Fragment {
    flags: u8,
    message_len: Option<u64>,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    total: usize,
    progress_at: Instant,
}

/// What became of a fragment.
enum Consumed {
    /// Taken (delivered, appended or deliberately discarded).
    Yes,
    /// Not taken for lack of memory: not acknowledged, the sender will resend it.
    Stalled,
}

/// One reliable stream from one sender.
#[derive(Debug, Default)]
pub(crate) struct RecvStream {
    synced: bool,
    next: u64,
    buffer: BTreeMap<u64, Fragment>,
    buffered_bytes: usize,
    partial: Option<Partial>,
    /// Dropping the rest of a message (too large, malformed or timed out) until its LAST fragment.
    discarding: bool,
    ack_due: bool,
    since_ack: u32,
    /// One past the highest sequence number received (a new gap opens when a fragment lands beyond it).
    top: u64,
    /// When the highest sequence number was received: the ACK delay is measured from it, so that the
    /// sender's RTT sample (taken on the largest acknowledged) excludes the time the ACK waited.
    top_at: Option<Instant>,
    /// Something was taken in order since the stream was (last) synchronised: from then on a direct heartbeat
    /// cannot move the start any more (see `on_heartbeat`).
    consumed: bool,
    /// Messages delivered from this stream, and their payload bytes (statistics only).
    delivered: (u64, u64),
}

impl RecvStream {
    fn raise_top(&mut self, top: u64, now: Instant) {
        if top > self.top {
            self.top = top;
            self.top_at = Some(now);
        }
    }

    fn want_ack(&mut self) {
        self.ack_due = true;
    }

    /// Whether an ACK should be sent.
    pub(crate) fn ack_due(&self) -> bool {
        self.ack_due
    }

    /// Whether everything received so far is in order (no gap waiting for a repair).
    pub(crate) fn in_order(&self) -> bool {
        self.synced && self.buffer.is_empty()
    }

    /// Messages delivered from this stream and their payload bytes.
    pub(crate) fn delivered(&self) -> (u64, u64) {
        self.delivered
    }

    /// Out-of-order fragments buffered (waiting for a gap to be repaired), and their bytes.
    pub(crate) fn buffered(&self) -> (usize, usize) {
        (self.buffer.len(), self.buffered_bytes)
    }

    /// Bytes this stream holds.
    pub(crate) fn memory(&self) -> usize {
        self.buffered_bytes + self.partial.as_ref().map_or(0, |p| p.total)
    }

    /// Handles one RDATA fragment.
    pub(crate) fn on_data(&mut self, d: &mut Delivery<'_>, flags: u8, rdata: &RData<'_>) {
        let seq = rdata.seq;
        if self.synced && seq < self.next || self.buffer.contains_key(&seq) {
            d.stats.duplicates_dropped += 1;
            return self.want_ack();
        }
        if !self.synced {
            if self.buffer.len() < MAX_UNSYNCED {
                self.buffer_fragment(d, flags, rdata);
            }
            return self.want_ack();
        }
        if seq >= self.next + d.limits.recv_window as u64 {
            d.stats.dropped_beyond_window += 1;
            return self.want_ack();
        }
        if seq > self.next {
            self.buffer_fragment(d, flags, rdata);
            // Report a gap when it opens, not on every fragment that arrives out of order.
            if seq > self.top {
                self.want_ack();
            }
            self.raise_top(seq + 1, d.now);
            return;
        }
        let frag = Fragment { flags, message_len: rdata.message_len, data: Vec::new() };
        if let Consumed::Stalled = self.consume(d, &frag, rdata.payload) {
            return;
        }
        self.consumed = true;
        self.next += 1;
        self.raise_top(self.next, d.now);
        self.since_ack += 1;
        let had_gap = !self.buffer.is_empty();
        self.drain(d);
        // Acknowledge repairs at once (the sender would otherwise repair again), and every ACK_EVERY
        // fragments. The I/O layer sends ACKs once per batch of datagrams, which coalesces them.
        if had_gap || self.since_ack >= ACK_EVERY {
            self.want_ack();
        }
    }

    fn buffer_fragment(&mut self, d: &mut Delivery<'_>, flags: u8, rdata: &RData<'_>) {
        let len = rdata.payload.len();
        if self.buffered_bytes + len > d.limits.recv_buffer_bytes
            || *d.memory + len > d.limits.max_receive_memory
        {
            d.stats.dropped_no_memory += 1;
            return;
        }
        self.buffered_bytes += len;
        *d.memory += len;
        let data = rdata.payload.to_vec();
        self.buffer.insert(rdata.seq, Fragment { flags, message_len: rdata.message_len, data });
    }

    /// Delivers buffered fragments that are now in order.
    fn drain(&mut self, d: &mut Delivery<'_>) {
        while let Some(entry) = self.buffer.first_entry() {
            if *entry.key() != self.next {
                break;
            }
            let frag = entry.remove();
            self.buffered_bytes -= frag.data.len();
            *d.memory -= frag.data.len();
            if let Consumed::Stalled = self.consume(d, &frag, &frag.data) {
                // Keep it for later; it is still not acknowledged.
                self.buffered_bytes += frag.data.len();
                *d.memory += frag.data.len();
                self.buffer.insert(self.next, frag);
                return;
            }
            self.consumed = true;
            self.next += 1;
            self.since_ack += 1;
        }
    }

    fn drop_partial(&mut self, d: &mut Delivery<'_>) {
        if let Some(p) = self.partial.take() {
            *d.memory -= p.total;
        }
    }

    /// Takes the in-order fragment `frag` (its bytes in `payload`).
    fn consume(&mut self, d: &mut Delivery<'_>, frag: &Fragment, payload: &[u8]) -> Consumed {
        let first = frag.flags & RDATA_FLAG_FIRST != 0;
        let last = frag.flags & RDATA_FLAG_LAST != 0;
        if first {
            if self.partial.is_some() || self.discarding {
                d.stats.dropped_incomplete += 1;
                self.drop_partial(d);
                self.discarding = false;
            }
            if last {
                let start = d.inbox.len();
                d.inbox.extend_from_slice(payload);
                self.deliver(d, Payload::Inbox(start..d.inbox.len()));
                return Consumed::Yes;
            }
            let total = frag.message_len.unwrap_or(0);
            if total > d.limits.max_message_size as u64 || (total as usize) < payload.len() {
                d.stats.dropped_too_large += 1;
                self.discarding = true;
                return Consumed::Yes;
            }
            let total = total as usize;
            if *d.memory + total > d.limits.max_receive_memory {
                d.stats.reassembly_stalls += 1;
                return Consumed::Stalled;
            }
            *d.memory += total;
            let mut data = Vec::with_capacity(total);
            data.extend_from_slice(payload);
            self.partial = Some(Partial { data, total, progress_at: d.now });
            return Consumed::Yes;
        }
        if self.discarding {
            self.discarding = !last;
            return Consumed::Yes;
        }
        let Some(p) = self.partial.as_mut() else {
            // A continuation without its start (the stream began mid-message): drop that message.
            d.stats.dropped_incomplete += 1;
            self.discarding = !last;
            return Consumed::Yes;
        };
        if p.data.len() + payload.len() > p.total || (last && p.data.len() + payload.len() != p.total) {
            d.stats.dropped_malformed_message += 1;
            self.drop_partial(d);
            self.discarding = !last;
            return Consumed::Yes;
        }
        p.data.extend_from_slice(payload);
        p.progress_at = d.now;
        if last {
            let p = self.partial.take().expect("partial");
            *d.memory -= p.total;
            self.deliver(d, Payload::Owned(p.data));
        }
        Consumed::Yes
    }

    fn deliver(&mut self, d: &mut Delivery<'_>, payload: Payload) {
        d.stats.messages_received += 1;
        d.stats.reliable_messages_received += 1;
        let len = match &payload {
            Payload::Inbox(r) => r.len(),
            Payload::Owned(v) => v.len(),
        };
        self.delivered = (self.delivered.0 + 1, self.delivered.1 + len as u64);
        d.events.push_back(Event::Message { from: d.from, broadcast: d.broadcast, reliable: true, payload });
    }

    /// Handles a HEARTBEAT. `direct`: addressed to this receiver (says where its stream starts).
    ///
    /// Numbers from the wire are checked before they move anything, so that one forged or corrupt heartbeat cannot
    /// kill the stream: a skip beyond the receive window is refused (a sender never skips further: it moves `first`
    /// at most a window past where the receiver reported to be, and steps a lagging receiver on a window at a time); a direct heartbeat re-synchronises a stream that has
    /// taken nothing since it was synchronised (a forged start is corrected by the sender's next direct heartbeat).
    /// A stream pushed ahead of its sender (a forged skip within the window) is healed by the sender, which sees
    /// the receiver's ACKs acknowledge more than it sent (see `SendChannel::on_ack`).
    pub(crate) fn on_heartbeat(&mut self, d: &mut Delivery<'_>, hb: &Heartbeat, direct: bool) {
        self.want_ack();
        if direct && self.synced && !self.consumed && hb.first != self.next {
            d.stats.stream_resyncs += 1;
            self.synced = false;
            self.drop_partial(d);
            self.discarding = false;
        }
        if !self.synced {
            if !direct {
                return;
            }
            self.synced = true;
            self.consumed = false;
            self.next = hb.first;
            self.top = hb.first;
        } else if hb.first > self.next {
            if hb.first - self.next > d.limits.recv_window as u64 {
                d.stats.dropped_invalid_heartbeat += 1;
                return;
            }
            d.stats.skipped_fragments += hb.first - self.next;
            if self.partial.is_some() || self.discarding {
                d.stats.dropped_incomplete += 1;
            }
            self.drop_partial(d);
            self.discarding = false;
            self.next = hb.first;
            self.top = self.top.max(hb.first);
        } else {
            return;
        }
        let stale: Vec<u64> = self.buffer.range(..self.next).map(|(k, _)| *k).collect();
        for k in stale {
            let f = self.buffer.remove(&k).expect("present");
            self.buffered_bytes -= f.data.len();
            *d.memory -= f.data.len();
        }
        if let Some((last, _)) = self.buffer.last_key_value() {
            self.top = self.top.max(last + 1);
        }
        self.drain(d);
    }

    /// The ACK to send now, if one is due. `sync` is set when the stream does not know its start.
    pub(crate) fn take_ack(&mut self, now: Instant, window: u32, ack: &mut Ack) -> Option<bool> {
        if !self.ack_due {
            return None;
        }
        self.ack_due = false;
        self.since_ack = 0;
        let delay = self.top_at.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        ack.next = self.next;
        let buffered_top = self.buffer.last_key_value().map_or(0, |(k, _)| k + 1);
        ack.top = if self.synced { self.top.max(self.next).max(buffered_top) } else { self.next };
        ack.window = window;
        ack.delay_us = delay.as_micros().min(u32::MAX as u128) as u32;
        ack.ranges.clear();
        if self.synced {
            for &seq in self.buffer.keys() {
                if let Some(r) = ack.ranges.last_mut().filter(|r| r.1 == seq) {
                    r.1 += 1;
                } else if ack.ranges.len() == MAX_ACK_RANGES {
                    break;
                } else {
                    ack.ranges.push((seq, seq + 1));
                }
            }
        }
        Some(!self.synced)
    }

    /// Drops an incomplete message that made no progress for the reassembly timeout.
    pub(crate) fn on_timeout(&mut self, d: &mut Delivery<'_>) {
        if self.partial.as_ref().is_some_and(|p| d.now >= p.progress_at + d.limits.reassembly_timeout) {
            d.stats.reassembly_timeouts += 1;
            self.drop_partial(d);
            self.discarding = true;
        }
    }

    /// When [`RecvStream::on_timeout`] is next needed.
    pub(crate) fn next_timeout(&self, limits: &ReliableLimits) -> Option<Instant> {
        self.partial.as_ref().map(|p| p.progress_at + limits.reassembly_timeout)
    }

    /// Releases this stream's memory from the shared count (the stream is being dropped).
    pub(crate) fn release(&mut self, memory: &mut usize) {
        *memory -= self.memory();
        self.buffer.clear();
        self.buffered_bytes = 0;
        self.partial = None;
    }
}

impl RecvStream {
    /// A one-line summary, for test failure messages.
    pub(crate) fn debug_state(&self) -> String {
        format!(
            "synced={} next={} buffered={:?} partial={:?} discarding={} ack_due={}",
            self.synced,
            self.next,
            self.buffer.keys().take(8).collect::<Vec<_>>(),
            self.partial.as_ref().map(|p| (p.data.len(), p.total)),
            self.discarding,
            self.ack_due
        )
    }
}
