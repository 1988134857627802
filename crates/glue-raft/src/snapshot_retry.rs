//! Retrying snapshots that never arrived. raft-rs keeps a follower it sent a snapshot to in "snapshot" state,
//! sending it nothing else, until the follower answers or the application reports the snapshot's fate; a snapshot
//! message lost on the way would leave the follower behind for good. The group times such snapshots out instead:
//! after [`RETRY_ELECTIONS`] election timeouts without an answer it reports a failure, and raft sends a new one at
//! the next heartbeat answer.

/// Election timeouts (of `election_tick` ticks) a snapshot may take to be answered before it is sent again.
pub(crate) const RETRY_ELECTIONS: usize = 5;

/// The snapshots sent and not answered yet: the follower and the ticks since.
#[derive(Debug, Default)]
pub(crate) struct SnapshotsInFlight {
    sent: Vec<(u64, usize)>,
}

impl SnapshotsInFlight {
    /// A snapshot went out to `to`.
    pub(crate) fn sent(&mut self, to: u64) {
        self.sent.retain(|(id, _)| *id != to);
        self.sent.push((to, 0));
    }

    /// One tick: forgets snapshots no longer waited for (`waiting(to)` false) and returns the followers whose
    /// snapshot waited `limit` ticks.
    pub(crate) fn tick(&mut self, limit: usize, waiting: impl Fn(u64) -> bool) -> Vec<u64> {
        self.sent.retain(|(id, _)| waiting(*id));
        let mut expired = Vec::new();
        self.sent.retain_mut(|(id, ticks)| {
            *ticks += 1;
            let keep = *ticks < limit;
            if !keep {
                expired.push(*id);
            }
            keep
        });
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_the_limit_unless_answered() {
        let mut s = SnapshotsInFlight::default();
        s.sent(2);
        s.sent(3);
        assert!(s.tick(2, |_| true).is_empty());
        assert_eq!(s.tick(2, |id| id != 3), vec![2]);
        assert!(s.tick(2, |_| true).is_empty());
    }
}
