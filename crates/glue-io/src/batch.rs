//! [`InboundBatch`]: what one loop iteration hands to the application, and the [`Sink`] it goes to.

use std::collections::HashMap;

use glue_proto::{Core, EndpointId, Event, Payload, Refusal, SendError};

/// What an [`Entry`] describes; the numeric values are part of the N-API contract (`NativeBatch.entries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum EntryKind {
    /// A message sent to this endpoint only.
    Unicast = 1,
    /// A message sent to every endpoint (multicast).
    Broadcast = 2,
    /// A peer event: [`Entry::a`] indexes [`InboundBatch::events`].
    PeerEvent = 3,
    /// Every receiver acknowledged the reliable message sent with token [`Entry::a`].
    Delivered = 4,
    /// The reliable message with token [`Entry::a`] failed; [`Entry::b`] indexes
    /// [`InboundBatch::failures`] (the receivers that did not acknowledge).
    Failed = 5,
    /// A reliable message sent to this endpoint only (payload as for [`EntryKind::Unicast`]).
    ReliableUnicast = 6,
    /// A reliable message sent to every endpoint (payload as for [`EntryKind::Unicast`]).
    ReliableBroadcast = 7,
    /// The I/O thread could not take the reliable message with token [`Entry::a`]; [`Entry::b`] is a
    /// [`RefuseReason`]. For [`RefuseReason::QueueFull`], [`Entry::c`] is 1 + the index in
    /// [`InboundBatch::buffers`] of the message's payload, handed back so that it can be offered again
    /// (the sender may have reused its own buffer); 0 for the other reasons.
    Refused = 8,
    /// A large (reassembled) message handed over whole: [`Entry::a`] indexes the sender,
    /// [`Entry::b`] indexes [`InboundBatch::buffers`], [`Entry::c`] has bit 0 = broadcast, bit 1 = reliable.
    Owned = 9,
}

/// Why a reliable send was refused ([`EntryKind::Refused`]); the values are part of the N-API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum RefuseReason {
    /// The peer is not (any more) an accepted peer.
    UnknownPeer = 1,
    /// The channel's send queue is full.
    QueueFull = 2,
    /// Larger than the maximum message size.
    TooLarge = 3,
    /// The endpoint is closing.
    Closed = 4,
}

impl RefuseReason {
    fn of(e: &SendError) -> RefuseReason {
        match e {
            SendError::UnknownPeer(_) => RefuseReason::UnknownPeer,
            SendError::QueueFull { .. } => RefuseReason::QueueFull,
            SendError::TooLarge { .. } => RefuseReason::TooLarge,
            _ => RefuseReason::Closed,
        }
    }
}

/// One thing that happened, as four u32 exactly as `NativeBatch.entries` lays them out:
/// `[kind, a, b, c]`. For messages `a` indexes [`InboundBatch::peer_ids`] (the sender), `b` is the byte
/// offset of the payload in [`InboundBatch::data`] and `c` its length; for peer events `a` indexes
/// [`InboundBatch::events`] and `b` = `c` = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Entry {
    /// An [`EntryKind`] value.
    pub kind: u32,
    /// Peer index (messages) or event index (peer events).
    pub a: u32,
    /// Payload offset in bytes (messages), else 0.
    pub b: u32,
    /// Payload length in bytes (messages), else 0.
    pub c: u32,
}

/// The events of one loop iteration, in the order they happened.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct InboundBatch {
    /// The payloads of all messages, back to back (taken out of the core without copying).
    pub data: Vec<u8>,
    /// One entry per message or peer event, in order.
    pub entries: Vec<Entry>,
    /// The distinct senders of the batch's messages; entries refer to them by index.
    pub peer_ids: Vec<EndpointId>,
    /// The peer events (never [`Event::Message`]): peer up, changed, down and name clashes.
    pub events: Vec<Event>,
    /// For [`EntryKind::Failed`]: the receivers that did not acknowledge.
    pub failures: Vec<Vec<EndpointId>>,
    /// For [`EntryKind::Owned`]: large messages, each handed over whole; for [`EntryKind::Refused`] with
    /// [`RefuseReason::QueueFull`]: the refused payloads, handed back.
    pub buffers: Vec<Vec<u8>>,
    /// The number of this batch among its endpoint's batches, from 1, in the order they were made (whichever
    /// thread made it): a consumer can check that it gets each once and in order.
    pub seq: u64,
}

impl InboundBatch {
    /// The entries as a flat `Vec<u32>` (4 per entry) without copying: the `Uint32Array` of the binding.
    pub fn entries_into_u32s(entries: Vec<Entry>) -> Vec<u32> {
        let mut entries = std::mem::ManuallyDrop::new(entries);
        let (ptr, len, cap) = (entries.as_mut_ptr(), entries.len(), entries.capacity());
        // SAFETY: Entry is repr(C) of four u32 (size 16, align 4, no padding), so an allocation of `cap`
        // entries is exactly an allocation of `4 * cap` u32 with the same alignment, and the first
        // `4 * len` of them are initialised. The original Vec is not dropped.
        unsafe { Vec::from_raw_parts(ptr.cast::<u32>(), len * 4, cap * 4) }
    }

    /// The messages of the batch: (sender, broadcast, payload), in order. Convenient for Rust users and
    /// tests; the binding hands the raw parts to JavaScript instead.
    pub fn messages(&self) -> impl Iterator<Item = (EndpointId, bool, &[u8])> + '_ {
        const UNICAST: u32 = EntryKind::Unicast as u32;
        const BROADCAST: u32 = EntryKind::Broadcast as u32;
        const R_UNICAST: u32 = EntryKind::ReliableUnicast as u32;
        const R_BROADCAST: u32 = EntryKind::ReliableBroadcast as u32;
        const OWNED: u32 = EntryKind::Owned as u32;
        self.entries.iter().filter_map(|e| {
            let from = *self.peer_ids.get(e.a as usize)?;
            match e.kind {
                UNICAST | BROADCAST | R_UNICAST | R_BROADCAST => {
                    let payload = self.data.get(e.b as usize..(e.b as usize + e.c as usize))?;
                    Some((from, e.kind == BROADCAST || e.kind == R_BROADCAST, payload))
                }
                OWNED => Some((from, e.c & 1 != 0, self.buffers.get(e.b as usize)?.as_slice())),
                _ => None,
            }
        })
    }
}

/// Where the I/O thread hands its batches; called on the I/O thread, at most once per loop iteration.
pub trait Sink: Send + 'static {
    /// Whether the consumer can take a batch now without blocking. While it cannot, the I/O thread stops
    /// reading the sockets (the kernel buffers, then the senders' windows, hold the traffic back) but keeps
    /// announcing, sending and running timers, so that a busy consumer does not look dead to its peers.
    /// Default: always ready.
    fn ready(&mut self) -> bool {
        true
    }

    /// Takes one batch. May block (backpressure: the I/O thread waits). Returns false when the consumer
    /// is gone: the endpoint keeps running (announcing, sending) but delivers nothing more, counting each
    /// batch it would have delivered in `dropped_batches`.
    fn deliver(&mut self, batch: InboundBatch) -> bool;
}

impl<F: FnMut(InboundBatch) -> bool + Send + 'static> Sink for F {
    fn deliver(&mut self, batch: InboundBatch) -> bool {
        self(batch)
    }
}

/// Drains a core's events into the batch being built, across several receive rounds of one iteration.
#[derive(Debug, Default)]
pub(crate) struct BatchBuilder {
    batch: InboundBatch,
    index: HashMap<EndpointId, u32>,
    /// Bytes of the batch's whole (owned) messages.
    owned_bytes: usize,
    /// Batches finished so far.
    finished: u64,
}

impl BatchBuilder {
    /// Moves all pending events of `core` into the batch (their payloads stay in the core's inbox).
    pub(crate) fn collect(&mut self, core: &mut Core) {
        let batch = &mut self.batch;
        while let Some(event) = core.poll_event() {
            match event {
                Event::Message { from, broadcast, reliable, payload } => {
                    let next = batch.peer_ids.len() as u32;
                    let peer = *self.index.entry(from).or_insert(next);
                    if peer == next {
                        batch.peer_ids.push(from);
                    }
                    let entry = match payload {
                        Payload::Inbox(range) => {
                            let kind = match (reliable, broadcast) {
                                (false, false) => EntryKind::Unicast,
                                (false, true) => EntryKind::Broadcast,
                                (true, false) => EntryKind::ReliableUnicast,
                                (true, true) => EntryKind::ReliableBroadcast,
                            };
                            Entry { kind: kind as u32, a: peer, b: range.start as u32, c: range.len() as u32 }
                        }
                        Payload::Owned(bytes) => {
                            self.owned_bytes += bytes.len();
                            batch.buffers.push(bytes);
                            let flags = u32::from(broadcast) | u32::from(reliable) << 1;
                            let b = batch.buffers.len() as u32 - 1;
                            Entry { kind: EntryKind::Owned as u32, a: peer, b, c: flags }
                        }
                    };
                    batch.entries.push(entry);
                }
                Event::Delivered { token } => {
                    batch.entries.push(Entry {
                        kind: EntryKind::Delivered as u32,
                        a: token as u32,
                        b: 0,
                        c: 0,
                    });
                }
                Event::Failed { token, missing } => {
                    let b = batch.failures.len() as u32;
                    batch.failures.push(missing);
                    batch.entries.push(Entry { kind: EntryKind::Failed as u32, a: token as u32, b, c: 0 });
                }
                Event::PeerUp(_)
                | Event::PeerChanged(_)
                | Event::PeerDown { .. }
                | Event::NameClash { .. } => {
                    let a = batch.events.len() as u32;
                    batch.entries.push(Entry { kind: EntryKind::PeerEvent as u32, a, b: 0, c: 0 });
                    batch.events.push(event);
                }
                // A kind this runtime does not know yet: nothing to hand on.
                _ => {}
            }
        }
    }

    /// Entries collected so far.
    pub(crate) fn entries(&self) -> usize {
        self.batch.entries.len()
    }

    /// Payload bytes collected so far that are not in the core's inbox.
    pub(crate) fn owned_bytes(&self) -> usize {
        self.owned_bytes
    }

    /// Records that the reliable send with `token` was refused; a payload refused for a full send queue is
    /// handed back with the entry (the sender offers it again later), any other is dropped here.
    pub(crate) fn refuse(&mut self, token: u32, refusal: Refusal) {
        let reason = RefuseReason::of(&refusal.error);
        let c = if reason == RefuseReason::QueueFull {
            self.owned_bytes += refusal.data.len();
            self.batch.buffers.push(refusal.data);
            self.batch.buffers.len() as u32
        } else {
            0
        };
        self.batch.entries.push(Entry { kind: EntryKind::Refused as u32, a: token, b: reason as u32, c });
    }

    /// The batch with the core's inbox holding its payloads (call [`BatchBuilder::collect`] first), or
    /// None when nothing happened.
    pub(crate) fn finish(&mut self, core: &mut Core) -> Option<InboundBatch> {
        if self.batch.entries.is_empty() {
            return None;
        }
        self.index.clear();
        let mut batch = std::mem::take(&mut self.batch);
        batch.data = core.take_inbox(Vec::new());
        self.finished += 1;
        batch.seq = self.finished;
        self.owned_bytes = 0;
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_flatten_in_place() {
        let entries = vec![Entry { kind: 1, a: 2, b: 3, c: 4 }, Entry { kind: 3, a: 0, b: 0, c: 0 }];
        assert_eq!(InboundBatch::entries_into_u32s(entries), [1, 2, 3, 4, 3, 0, 0, 0]);
        assert!(InboundBatch::entries_into_u32s(Vec::new()).is_empty());
    }

    #[test]
    fn messages_skip_events_and_bad_ranges() {
        let batch = InboundBatch {
            data: b"hiyo".to_vec(),
            entries: vec![
                Entry { kind: 1, a: 0, b: 0, c: 2 },
                Entry { kind: 3, a: 0, b: 0, c: 0 },
                Entry { kind: 2, a: 0, b: 2, c: 2 },
                Entry { kind: 2, a: 0, b: 3, c: 9 },
            ],
            peer_ids: vec![EndpointId(7)],
            events: vec![],
            failures: vec![],
            buffers: vec![],
            seq: 1,
        };
        let got: Vec<_> = batch.messages().collect();
        assert_eq!(got, [(EndpointId(7), false, &b"hi"[..]), (EndpointId(7), true, &b"yo"[..])]);
    }
}
