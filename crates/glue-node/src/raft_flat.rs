//! `NativeRaftGroup.readyBytes()`: what `ready()` returns, as one Buffer that JavaScript decodes
//! (`src/consensus/ready-decode.ts`), because building the objects through N-API (a property at a time, a Buffer
//! per message and entry) costs more than the Raft work of a small ready. Little-endian; IDs as 8 bytes big-endian
//! (so that their hex is the 16 hex digits `ready()` gives); indexes and terms as f64 (exact below 2^53).
//!
//! ```text
//! flags     u8     bit 0: wantsSnapshot, bit 1: a snapshot follows the entries, bit 2: the status changed (call
//!                  `status()`)
//! messages  u32 count, then each: to [8], length u32, bytes
//! committed u32 count, then each: index f64, term f64, kind u8 (0 normal, 1 conf-change),
//!                  change u8 (0 none, 1 add-voter, 2 remove-voter, 3 add-learner), [id [8] when change > 0],
//!                  length u32, bytes
//! snapshot  (bit 1) index f64, term f64, length u32, bytes
//! reads     u32 count, then each: index f64, length u32, ctx bytes
//! ```

use glue_raft::{ConfChangeKind, EntryKind, Output};

/// Bit 0 of the flags: the leader needs a snapshot (see `NativeRaftReady.wantsSnapshot`).
pub const WANTS_SNAPSHOT: u8 = 1;
/// Bit 1: a snapshot follows the committed entries.
pub const HAS_SNAPSHOT: u8 = 2;
/// Bit 2: the status changed since the last ready.
pub const STATUS_CHANGED: u8 = 4;

/// The flat form of `o` (see the module doc).
pub fn encode_ready(o: &Output) -> Vec<u8> {
    let payload: usize = o.messages.iter().map(|(_, d)| 12 + d.len()).sum::<usize>()
        + o.committed.iter().map(|c| 30 + c.data.len()).sum::<usize>()
        + o.read_states.iter().map(|(_, c)| 12 + c.len()).sum::<usize>()
        + o.snapshot.as_ref().map_or(0, |(_, _, d)| 20 + d.len());
    let mut out = Vec::with_capacity(13 + payload);
    let mut flags = 0;
    if o.wants_snapshot {
        flags |= WANTS_SNAPSHOT;
    }
    if o.snapshot.is_some() {
        flags |= HAS_SNAPSHOT;
    }
    if o.soft_state.is_some() {
        flags |= STATUS_CHANGED;
    }
    out.push(flags);
    out.extend_from_slice(&(o.messages.len() as u32).to_le_bytes());
    for (to, data) in &o.messages {
        out.extend_from_slice(&to.to_be_bytes());
        bytes(&mut out, data);
    }
    out.extend_from_slice(&(o.committed.len() as u32).to_le_bytes());
    for c in &o.committed {
        out.extend_from_slice(&(c.index as f64).to_le_bytes());
        out.extend_from_slice(&(c.term as f64).to_le_bytes());
        out.push(match c.kind {
            EntryKind::Normal => 0,
            EntryKind::ConfChange => 1,
        });
        match c.change {
            None => out.push(0),
            Some(ch) => {
                out.push(match ch.kind {
                    ConfChangeKind::AddVoter => 1,
                    ConfChangeKind::RemoveVoter => 2,
                    ConfChangeKind::AddLearner => 3,
                });
                out.extend_from_slice(&ch.id.to_be_bytes());
            }
        }
        bytes(&mut out, &c.data);
    }
    if let Some((index, term, data)) = &o.snapshot {
        out.extend_from_slice(&(*index as f64).to_le_bytes());
        out.extend_from_slice(&(*term as f64).to_le_bytes());
        bytes(&mut out, data);
    }
    out.extend_from_slice(&(o.read_states.len() as u32).to_le_bytes());
    for (index, ctx) in &o.read_states {
        out.extend_from_slice(&(*index as f64).to_le_bytes());
        bytes(&mut out, ctx);
    }
    out
}

/// A length (u32) and the bytes.
fn bytes(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use glue_raft::{Change, Committed};

    #[test]
    fn lays_out_every_part() {
        let o = Output {
            messages: vec![(0xa2, vec![1, 2])],
            committed: vec![
                Committed { index: 5, term: 2, kind: EntryKind::Normal, data: vec![9], change: None },
                Committed {
                    index: 6,
                    term: 2,
                    kind: EntryKind::ConfChange,
                    data: vec![],
                    change: Some(Change { kind: ConfChangeKind::RemoveVoter, id: 0xa3 }),
                },
            ],
            snapshot: Some((4, 1, vec![7, 7])),
            read_states: vec![(6, vec![3])],
            soft_state: None,
            wants_snapshot: true,
        };
        let b = encode_ready(&o);
        let mut want =
            vec![WANTS_SNAPSHOT | HAS_SNAPSHOT, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa2, 2, 0, 0, 0, 1, 2];
        want.extend_from_slice(&[2, 0, 0, 0]);
        want.extend_from_slice(&5f64.to_le_bytes());
        want.extend_from_slice(&2f64.to_le_bytes());
        want.extend_from_slice(&[0, 0, 1, 0, 0, 0, 9]);
        want.extend_from_slice(&6f64.to_le_bytes());
        want.extend_from_slice(&2f64.to_le_bytes());
        want.extend_from_slice(&[1, 2, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0, 0, 0, 0]);
        want.extend_from_slice(&4f64.to_le_bytes());
        want.extend_from_slice(&1f64.to_le_bytes());
        want.extend_from_slice(&[2, 0, 0, 0, 7, 7, 1, 0, 0, 0]);
        want.extend_from_slice(&6f64.to_le_bytes());
        want.extend_from_slice(&[1, 0, 0, 0, 3]);
        assert_eq!(b, want);
        assert_eq!(encode_ready(&Output::default()), vec![0; 13]);
    }
}
