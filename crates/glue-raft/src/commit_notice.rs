//! When followers must be told the commit index: raft's own broadcast after every commit is off
//! (`skip_bcast_commit`), so that an entry proposed right after a commit carries the new commit index in its
//! append, instead of an extra append round to every follower per commit. [`Group::announce_commit`] sends that
//! round only when some follower has not been told yet (the caller asks once its proposals of the turn are in).
//!
//! [`Group::announce_commit`]: crate::Group::announce_commit

use std::collections::HashMap;

use raft::eraftpb::{Message, MessageType};

/// The commit index each follower was last sent, and the commit index of the last explicit announcement.
#[derive(Debug, Default)]
pub(crate) struct CommitNotices {
    told: HashMap<u64, u64>,
    announced: u64,
}

impl CommitNotices {
    /// Notes what an outgoing message tells its receiver (appends and heartbeats carry a commit index).
    pub(crate) fn sent(&mut self, m: &Message) {
        if matches!(m.get_msg_type(), MessageType::MsgAppend | MessageType::MsgHeartbeat) {
            let told = self.told.entry(m.to).or_insert(0);
            *told = (*told).max(m.commit);
        }
    }

    /// True when `commit` should be announced to `followers` now: it advanced since the last announcement and some
    /// follower was not sent it yet. Counts it as announced.
    pub(crate) fn due(&mut self, commit: u64, followers: impl Iterator<Item = u64>) -> bool {
        if commit <= self.announced {
            return false;
        }
        let mut untold = false;
        for f in followers {
            if self.told.get(&f).copied().unwrap_or(0) < commit {
                untold = true;
            }
        }
        if untold {
            self.announced = commit;
        }
        untold
    }

    /// Forgets what followers were told (a new term: a new leader's followers know nothing of it).
    pub(crate) fn reset(&mut self) {
        self.told.clear();
        self.announced = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(to: u64, commit: u64) -> Message {
        let mut m = Message { to, commit, ..Default::default() };
        m.set_msg_type(MessageType::MsgAppend);
        m
    }

    #[test]
    fn due_only_when_a_follower_was_not_told_and_once_per_commit() {
        let mut n = CommitNotices::default();
        assert!(!n.due(0, [2, 3].into_iter()));
        n.sent(&append(2, 5));
        n.sent(&append(3, 5));
        assert!(!n.due(5, [2, 3].into_iter()), "both were told by appends");
        n.sent(&append(2, 6));
        assert!(n.due(6, [2, 3].into_iter()), "3 was not told 6");
        assert!(!n.due(6, [2, 3].into_iter()), "announced once");
        let mut vote = Message { to: 3, commit: 9, ..Default::default() };
        vote.set_msg_type(MessageType::MsgRequestVote);
        n.sent(&vote);
        assert!(n.due(9, [2, 3].into_iter()), "only appends and heartbeats count");
        n.reset();
        n.sent(&append(2, 9));
        assert!(n.due(9, [2, 3].into_iter()));
    }
}
