//! [`GroupConfig`]: how a group is opened, and its translation into raft's configuration.

use std::path::PathBuf;

use crate::GroupError;

/// The configuration of one member of a group.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// This member's raft ID; non-zero, unique in the group.
    pub id: u64,
    /// The initial voters, this member among them; used only when the storage is empty (a new group). Empty for a
    /// member that joins a running group: it waits, not voting, until the leader adds it
    /// ([`Group::propose_conf_change`](crate::Group::propose_conf_change)) and sends it a snapshot. Every initial
    /// member must be given the same voters.
    pub voters: Vec<u64>,
    /// Ticks without hearing from a leader before a follower starts an election (it waits a random number of ticks
    /// in `election_tick..2 * election_tick`); also how often a leader checks that a majority still answers, stepping
    /// down when not. Default 10.
    pub election_tick: usize,
    /// Ticks between a leader's heartbeats; less than `election_tick`. Default 2.
    pub heartbeat_tick: usize,
    /// Most entry bytes in one append message, bytes. Default 1 MiB.
    pub max_size_per_msg: u64,
    /// Most append messages in flight to one follower. Default 256.
    pub max_inflight_msgs: usize,
    /// Where the log, hard state and snapshots live; `None`: in memory only, and a restart loses everything (a
    /// member must then come back under a new ID: a voter that forgot its vote or its log breaks Raft's safety).
    pub data_dir: Option<PathBuf>,
    /// Wait for the disk (fsync) before a message that depends on a write leaves the group, as Raft requires. Only
    /// for tests and throw-away groups should this be false: a crash may then lose votes and entries. Default true.
    pub fsync: bool,
    /// Draw election timeouts from this seed (deterministic tests); `None` (the default): from the operating system.
    pub seed: Option<u64>,
}

impl GroupConfig {
    /// The defaults for member `id` of a new group of `voters`.
    pub fn new(id: u64, voters: Vec<u64>) -> Self {
        GroupConfig {
            id,
            voters,
            election_tick: 10,
            heartbeat_tick: 2,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            data_dir: None,
            fsync: true,
            seed: None,
        }
    }

    /// Checks the values; the error names the field.
    pub fn validate(&self) -> Result<(), GroupError> {
        let bad = |what: String| Err(GroupError::InvalidArgument(what));
        if self.id == 0 {
            return bad("id: 0 is not a raft ID".into());
        }
        let mut voters = self.voters.clone();
        voters.sort_unstable();
        voters.dedup();
        if voters.len() != self.voters.len() || voters.contains(&0) {
            return bad(format!("voters: {:?} (non-zero, each once)", self.voters));
        }
        if self.heartbeat_tick == 0 || self.election_tick <= self.heartbeat_tick {
            let (e, h) = (self.election_tick, self.heartbeat_tick);
            return bad(format!(
                "election_tick {e}, heartbeat_tick {h} (0 < heartbeat_tick < election_tick)"
            ));
        }
        if self.max_inflight_msgs == 0 || self.max_size_per_msg == 0 {
            let (n, s) = (self.max_inflight_msgs, self.max_size_per_msg);
            return bad(format!("max_inflight_msgs {n}, max_size_per_msg {s} (both > 0)"));
        }
        Ok(())
    }

    /// raft's configuration: pre-vote and check-quorum on, ReadIndex reads confirmed by a heartbeat round (not by a
    /// lease), `applied` where re-delivery starts, no append round after every commit (see `commit_notice`). raft's `batch_append` stays off: it merges new entries into an
    /// earlier append to the same follower even when that one's index no longer precedes them (after a rejection
    /// moved the follower's next index), producing appends whose entries do not follow their index.
    pub(crate) fn raft_config(&self, applied: u64) -> raft::Config {
        raft::Config {
            id: self.id,
            election_tick: self.election_tick,
            heartbeat_tick: self.heartbeat_tick,
            max_size_per_msg: self.max_size_per_msg,
            max_inflight_msgs: self.max_inflight_msgs,
            applied,
            check_quorum: true,
            pre_vote: true,
            batch_append: false,
            read_only_option: raft::ReadOnlyOption::Safe,
            skip_bcast_commit: true,
            ..raft::Config::default()
        }
    }
}

impl Default for GroupConfig {
    /// The defaults, with no ID and no voters (set both).
    fn default() -> Self {
        GroupConfig::new(0, Vec::new())
    }
}
