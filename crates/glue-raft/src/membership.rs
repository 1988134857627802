//! Configuration changes: what is proposed, what a committed one means, and the configuration as of each index
//! since the last snapshot (a snapshot taken at an index must carry the configuration of that index).

use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType, ConfState};

use crate::{Change, ConfChangeKind};

/// The configuration at every index since the last snapshot.
#[derive(Debug, Clone)]
pub(crate) struct ConfHistory {
    /// The configuration of the snapshot.
    base: ConfState,
    /// Each applied change: its index and the configuration after it, ascending.
    changes: Vec<(u64, ConfState)>,
}

impl ConfHistory {
    /// Starts from a snapshot's configuration.
    pub(crate) fn new(base: ConfState) -> Self {
        ConfHistory { base, changes: Vec::new() }
    }

    /// Records the configuration after the change at `index`.
    pub(crate) fn push(&mut self, index: u64, conf: ConfState) {
        self.changes.push((index, conf));
    }

    /// The configuration in force at `index`.
    pub(crate) fn at(&self, index: u64) -> &ConfState {
        self.changes.iter().rev().find(|(i, _)| *i <= index).map_or(&self.base, |(_, c)| c)
    }

    /// A snapshot at `index` now holds everything before: forget the changes up to it.
    pub(crate) fn compact(&mut self, index: u64) {
        self.base = self.at(index).clone();
        self.changes.retain(|(i, _)| *i > index);
    }
}

/// The raft change for a kind and member.
pub(crate) fn encode(kind: ConfChangeKind, id: u64) -> ConfChange {
    let change_type = match kind {
        ConfChangeKind::AddVoter => ConfChangeType::AddNode,
        ConfChangeKind::RemoveVoter => ConfChangeType::RemoveNode,
        ConfChangeKind::AddLearner => ConfChangeType::AddLearnerNode,
    };
    ConfChange { change_type, node_id: id, ..Default::default() }
}

/// Decodes the data of a committed or received configuration change; `None` when it is not one this group uses
/// (it must name a non-zero member).
pub(crate) fn decode(data: &[u8]) -> Option<ConfChange> {
    ConfChange::parse_from_bytes(data).ok().filter(|cc| cc.node_id != 0)
}

/// What a decoded change does.
pub(crate) fn change_of(cc: &ConfChange) -> Change {
    let kind = match cc.get_change_type() {
        ConfChangeType::AddNode => ConfChangeKind::AddVoter,
        ConfChangeType::RemoveNode => ConfChangeKind::RemoveVoter,
        ConfChangeType::AddLearnerNode => ConfChangeKind::AddLearner,
    };
    Change { kind, id: cc.node_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voters(ids: &[u64]) -> ConfState {
        ConfState { voters: ids.to_vec(), ..Default::default() }
    }

    #[test]
    fn history_answers_per_index_and_compacts() {
        let mut h = ConfHistory::new(voters(&[1, 2, 3]));
        h.push(10, voters(&[1, 2, 3, 4]));
        h.push(20, voters(&[1, 2, 4]));
        assert_eq!(h.at(9).voters, vec![1, 2, 3]);
        assert_eq!(h.at(10).voters, vec![1, 2, 3, 4]);
        assert_eq!(h.at(25).voters, vec![1, 2, 4]);
        h.compact(15);
        assert_eq!((h.at(0).voters.clone(), h.changes.len()), (vec![1, 2, 3, 4], 1));
    }

    #[test]
    fn changes_round_trip() {
        for kind in [ConfChangeKind::AddVoter, ConfChangeKind::RemoveVoter, ConfChangeKind::AddLearner] {
            let data = encode(kind, 7).write_to_bytes().unwrap();
            assert_eq!(change_of(&decode(&data).unwrap()), Change { kind, id: 7 });
        }
        assert!(decode(&encode(ConfChangeKind::AddVoter, 0).write_to_bytes().unwrap()).is_none());
        assert!(decode(&[0xff, 0xff]).is_none());
    }
}
