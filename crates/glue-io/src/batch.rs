//! [`InboundBatch`]: what one loop iteration hands to the application, and the [`Sink`] it goes to.

use std::collections::HashMap;

use glue_proto::{Core, EndpointId, Event, Payload};

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
        self.entries.iter().filter(|e| e.kind != EntryKind::PeerEvent as u32).filter_map(|e| {
            let from = *self.peer_ids.get(e.a as usize)?;
            let payload = self.data.get(e.b as usize..(e.b as usize + e.c as usize))?;
            Some((from, e.kind == EntryKind::Broadcast as u32, payload))
        })
    }
}

/// Where the I/O thread hands its batches; called on the I/O thread, at most once per loop iteration.
pub trait Sink: Send + 'static {
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
    /// Payloads the core handed over whole (reassembled messages), appended after the inbox.
    owned: Vec<u8>,
    /// Entries whose offsets point into `owned`.
    owned_entries: Vec<usize>,
}

impl BatchBuilder {
    /// Moves all pending events of `core` into the batch (their payloads stay in the core's inbox).
    pub(crate) fn collect(&mut self, core: &mut Core) {
        let batch = &mut self.batch;
        while let Some(event) = core.poll_event() {
            match event {
                Event::Message { from, broadcast, payload, .. } => {
                    let next = batch.peer_ids.len() as u32;
                    let peer = *self.index.entry(from).or_insert(next);
                    if peer == next {
                        batch.peer_ids.push(from);
                    }
                    let (offset, len) = match payload {
                        Payload::Inbox(range) => (range.start, range.len()),
                        Payload::Owned(bytes) => {
                            // Placed after the inbox in `finish`; remember to shift the offset then.
                            self.owned_entries.push(batch.entries.len());
                            self.owned.extend_from_slice(&bytes);
                            (self.owned.len() - bytes.len(), bytes.len())
                        }
                    };
                    let kind = if broadcast { EntryKind::Broadcast } else { EntryKind::Unicast };
                    batch.entries.push(Entry { kind: kind as u32, a: peer, b: offset as u32, c: len as u32 });
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
        self.owned.len()
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
        if !self.owned.is_empty() {
            let shift = batch.data.len() as u32;
            for &i in &self.owned_entries {
                batch.entries[i].b += shift;
            }
            batch.data.extend_from_slice(&self.owned);
            self.owned.clear();
            self.owned_entries.clear();
        }
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
        };
        let got: Vec<_> = batch.messages().collect();
        assert_eq!(got, [(EndpointId(7), false, &b"hi"[..]), (EndpointId(7), true, &b"yo"[..])]);
    }
}
