//! [`Group`]: one member of a consensus group, tikv's `RawNode` driven sans-IO.

use std::panic::{self, AssertUnwindSafe};

use protobuf::Message as _;
use raft::eraftpb::Message;
use raft::{ProgressState, RawNode, SnapshotStatus, StateRole};

use crate::commit_notice::CommitNotices;
use crate::membership::{self, ConfHistory};
use crate::snapshot_retry::{SnapshotsInFlight, RETRY_ELECTIONS};
use crate::storage::{DurableStorage, INITIAL_INDEX, MAX_ENTRY_BYTES, MAX_SNAPSHOT_BYTES};
use crate::timeout::Timeouts;
use crate::{guard, ConfChangeKind, GroupConfig, GroupError, Role, Status};

/// One member of a consensus group: raft's state machine and its storage, without I/O or clocks. Inputs are
/// [`tick`](Self::tick) (one logical tick; the caller's timer), [`step`](Self::step) (a message that arrived) and
/// the commands; everything to do comes out of [`ready`](Self::ready), which the caller drains after any input
/// (once per event-loop turn is enough).
///
/// Applied entries: the group hands out every committed entry once, in order, and takes what it handed out as
/// applied by the time of the next call (raft needs that for configuration changes, which the group applies
/// itself). Across a restart with a data directory nothing of the application's state is assumed to survive but
/// the last snapshot given to [`compact`](Self::compact): the first output after opening restores that snapshot
/// and every committed entry after it comes again. [`set_applied`](Self::set_applied) changes nothing of that.
pub struct Group {
    pub(crate) raw: RawNode<DurableStorage>,
    pub(crate) id: u64,
    /// The last index handed out (in `committed`, or as a snapshot).
    pub(crate) returned: u64,
    /// The last index the application said it applied.
    pub(crate) applied: u64,
    pub(crate) conf: ConfHistory,
    /// The snapshot restored from disk, handed out by the first `ready`.
    pub(crate) restored: Option<(u64, u64, Vec<u8>)>,
    /// The status last handed out as `soft_state`.
    pub(crate) reported: Option<Status>,
    timeouts: Option<Timeouts>,
    /// Snapshots sent and not answered yet (see [`crate::snapshot_retry`]).
    pub(crate) snapshots: SnapshotsInFlight,
    /// Ticks a snapshot may go unanswered.
    snapshot_retry_ticks: usize,
    /// What followers were told of the commit index (see [`announce_commit`](Self::announce_commit)).
    pub(crate) notices: CommitNotices,
    /// The term `notices` is about.
    pub(crate) notices_term: u64,
    pub(crate) life: Life,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    Open,
    Poisoned,
    Closed,
}

impl Group {
    /// Opens a member: restores it from `data_dir` when that holds a group, otherwise starts a new one with
    /// `voters` (or, with none, a member waiting to be added). Fails with `InvalidArgument` for a bad
    /// configuration and `Io` when the data directory cannot be read or is damaged (a torn last record is not
    /// damage: it is dropped).
    pub fn open(cfg: GroupConfig) -> Result<Group, GroupError> {
        cfg.validate()?;
        let (mut storage, _torn) = DurableStorage::open(cfg.data_dir.as_deref(), cfg.fsync)?;
        if storage.is_empty() && !cfg.voters.is_empty() {
            storage.initialize(&cfg.voters)?;
        }
        let snapshot = storage.last_snapshot();
        let meta = snapshot.get_metadata();
        let (index, term) = (meta.index, meta.term);
        let restored = (index > INITIAL_INDEX).then(|| (index, term, snapshot.data.to_vec()));
        let conf = ConfHistory::new(meta.get_conf_state().clone());
        let raft_config = cfg.raft_config(index);
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = panic::catch_unwind(AssertUnwindSafe(|| RawNode::new(&raft_config, storage, &logger)))
            .map_err(|p| {
            let what = format!("raft refused the stored state: {}", panic_message(&p));
            std::io::Error::new(std::io::ErrorKind::InvalidData, what)
        })??;
        let timeouts = cfg.seed.map(|seed| {
            let mixed = seed ^ cfg.id.wrapping_mul(0xA076_1D64_78BD_642F);
            Timeouts::new(mixed, raft_config.min_election_tick(), raft_config.max_election_tick())
        });
        let mut group = Group {
            raw,
            id: cfg.id,
            returned: index,
            applied: index,
            conf,
            restored,
            reported: None,
            timeouts,
            snapshots: SnapshotsInFlight::default(),
            snapshot_retry_ticks: RETRY_ELECTIONS * cfg.election_tick,
            notices: CommitNotices::default(),
            notices_term: 0,
            life: Life::Open,
        };
        group.after_raft();
        Ok(group)
    }

    /// This member's ID.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Advances the logical clock by one tick (elections and heartbeats are counted in ticks; so is the time a
    /// snapshot sent to a follower may take to be answered before it is sent again: 5 election timeouts). Does
    /// nothing on a closed or poisoned group.
    pub fn tick(&mut self) {
        if self.life != Life::Open {
            return;
        }
        let _ = self.catch(|g| g.raw.tick());
        let r = &self.raw.raft;
        let leader = r.state == StateRole::Leader;
        let waiting = |id| leader && r.prs().get(id).is_some_and(|p| p.state == ProgressState::Snapshot);
        for to in self.snapshots.tick(self.snapshot_retry_ticks, waiting) {
            let _ = self.catch(|g| g.raw.report_snapshot(to, SnapshotStatus::Failure));
        }
    }

    /// Takes a message that arrived from member `from` (the encoded raft message of another member's
    /// [`Output::messages`](crate::Output::messages)). Fails with `Malformed` (nothing changed) for bytes that are
    /// not a raft message, are not addressed to this member, claim another sender or break the rules listed in
    /// the crate documentation ("Input from the network"); never panics. If raft panics anyway the panic is
    /// caught, the call fails with `Malformed` and the group is poisoned.
    pub fn step(&mut self, from: u64, msg: &[u8]) -> Result<(), GroupError> {
        self.usable()?;
        let mut m = Message::parse_from_bytes(msg)
            .map_err(|e| GroupError::Malformed(format!("not a raft message: {e}")))?;
        guard::check(&self.raw.raft, from, &mut m).map_err(GroupError::Malformed)?;
        let t = m.get_msg_type();
        match self.catch(|g| g.raw.step(m)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e @ (raft::Error::StepLocalMsg | raft::Error::StepPeerNotFound))) => {
                Err(GroupError::Malformed(format!("{t:?}: {e}")))
            }
            Ok(Err(e)) => Err(GroupError::Raft(e)),
            Err(what) => {
                Err(GroupError::Malformed(format!("{t:?} made raft panic ({what}); the group is poisoned")))
            }
        }
    }

    /// Proposes an entry (at most 256 MiB). On the leader only (`NotLeader` elsewhere); it is committed when it
    /// comes out of [`ready`](Self::ready) in `committed`, which may never happen if leadership changes first.
    /// `Raft(ProposalDropped)` while a leader transfer is in progress.
    pub fn propose(&mut self, data: &[u8]) -> Result<(), GroupError> {
        self.usable()?;
        if data.len() > MAX_ENTRY_BYTES {
            return Err(GroupError::InvalidArgument(format!(
                "entry of {} bytes (at most 256 MiB)",
                data.len()
            )));
        }
        self.leader()?;
        self.catch(|g| g.raw.propose(Vec::new(), data.to_vec())).map_err(|_| GroupError::Poisoned)??;
        Ok(())
    }

    /// Proposes a configuration change of one member. On the leader only (`NotLeader` elsewhere);
    /// `Raft(ProposalDropped)` while an earlier change is not applied yet; `InvalidArgument` for ID 0 or a change
    /// that would leave no voter. Applied by every member when committed (it comes out in `committed` with
    /// `change` set). A leader that removes itself hands leadership to the most up-to-date voter.
    pub fn propose_conf_change(&mut self, kind: ConfChangeKind, id: u64) -> Result<(), GroupError> {
        self.usable()?;
        let voters = self.status().voters;
        if id == 0 || (kind != ConfChangeKind::AddVoter && voters.iter().all(|v| *v == id)) {
            return Err(GroupError::InvalidArgument(format!(
                "{kind:?} of {id:016x}: no voter would be left"
            )));
        }
        self.leader()?;
        if self.raw.raft.has_pending_conf() {
            return Err(GroupError::Raft(raft::Error::ProposalDropped));
        }
        let cc = membership::encode(kind, id);
        self.catch(|g| g.raw.propose_conf_change(Vec::new(), cc)).map_err(|_| GroupError::Poisoned)??;
        Ok(())
    }

    /// Asks for a read index (ReadIndex: the leader confirms with a heartbeat round that it still leads). The
    /// answer comes out of [`ready`](Self::ready) in `read_states` with `ctx` (on this member; a follower asks the
    /// leader). Dropped silently when there is no leader, or the leader has not committed an entry of its term yet:
    /// retry after a while. Does nothing on a closed or poisoned group.
    pub fn read_index(&mut self, ctx: &[u8]) {
        if self.life == Life::Open {
            let _ = self.catch(|g| g.raw.read_index(ctx.to_vec()));
        }
    }

    /// On the leader: sends the followers that were not told the current commit index an append that tells them
    /// (the next `ready` hands it out). Raft does not send one after every commit, so that an entry proposed soon
    /// after carries it instead: call this once the proposals of the moment are in (glue: in the event-loop turn
    /// after a commit). Followers that are never told learn it from the next heartbeat. Does nothing elsewhere,
    /// or when every follower was told already.
    pub fn announce_commit(&mut self) {
        if self.life != Life::Open || self.raw.raft.state != StateRole::Leader {
            return;
        }
        let r = &self.raw.raft;
        if self.notices_term != r.term {
            self.notices.reset();
            self.notices_term = r.term;
        }
        let me = self.id;
        let followers = r.prs().iter().map(|(id, _)| *id).filter(|id| *id != me);
        if self.notices.due(r.raft_log.committed, followers) {
            let _ = self.catch(|g| g.raw.raft.bcast_append());
        }
    }

    /// Starts an election now (with pre-vote: it only raises the term if a majority would vote for it).
    pub fn campaign(&mut self) -> Result<(), GroupError> {
        self.usable()?;
        self.catch(|g| g.raw.campaign()).map_err(|_| GroupError::Poisoned)??;
        Ok(())
    }

    /// On the leader: hands leadership to voter `to` (once its log is up to date, within an election timeout).
    /// Does nothing on other members.
    pub fn transfer_leader(&mut self, to: u64) {
        if self.life == Life::Open && self.raw.raft.state == StateRole::Leader {
            let _ = self.catch(|g| g.raw.transfer_leader(to));
        }
    }

    /// Compaction: `state` is the application's state after applying everything up to `applied` (an index handed
    /// out by `ready`). It becomes the snapshot (written atomically before this returns, with a data directory)
    /// that lagging or new members receive and that a restart restores; the log up to `applied` is dropped.
    /// Nothing happens when `applied` is not past the last snapshot. `InvalidArgument` when `applied` was not
    /// handed out yet or `state` exceeds 1 GiB; a storage failure poisons the group.
    pub fn compact(&mut self, applied: u64, state: &[u8]) -> Result<(), GroupError> {
        self.usable()?;
        if applied > self.returned || state.len() > MAX_SNAPSHOT_BYTES {
            let (r, n) = (self.returned, state.len());
            let what = format!("compact at {applied} with {n} bytes (handed out up to {r}; at most 1 GiB)");
            return Err(GroupError::InvalidArgument(what));
        }
        self.applied = self.applied.max(applied);
        if applied <= self.raw.store().snapshot_id().0 {
            return Ok(());
        }
        let term = raft::Storage::term(self.raw.store(), applied)?;
        let mut snapshot = raft::eraftpb::Snapshot { data: state.to_vec().into(), ..Default::default() };
        let meta = snapshot.mut_metadata();
        meta.index = applied;
        meta.term = term;
        meta.set_conf_state(self.conf.at(applied).clone());
        if let Err(e) = self.raw.mut_store().compact(snapshot) {
            self.life = Life::Poisoned;
            return Err(e.into());
        }
        self.conf.compact(applied);
        Ok(())
    }

    /// Tells how far the application has applied (at most what `ready` handed out): reported as
    /// [`Status::applied`]. Not persisted; it changes nothing of what a restart hands out again.
    pub fn set_applied(&mut self, applied: u64) -> Result<(), GroupError> {
        self.usable()?;
        if applied > self.returned {
            let what = format!("applied {applied}, but only up to {} was handed out", self.returned);
            return Err(GroupError::InvalidArgument(what));
        }
        self.applied = self.applied.max(applied);
        Ok(())
    }

    /// Role, term, leader, commit index, applied index and configuration (also on a closed or poisoned group).
    pub fn status(&self) -> Status {
        let r = &self.raw.raft;
        let conf = r.prs().conf();
        let mut voters: Vec<u64> = conf.voters().ids().iter().collect();
        voters.sort_unstable();
        let mut learners: Vec<u64> = conf.learners().iter().copied().collect();
        learners.sort_unstable();
        let role = match r.state {
            StateRole::Leader => Role::Leader,
            StateRole::Follower => Role::Follower,
            StateRole::Candidate => Role::Candidate,
            StateRole::PreCandidate => Role::PreCandidate,
        };
        Status {
            role,
            term: r.term,
            leader: r.leader_id,
            commit: r.raft_log.committed,
            applied: self.applied,
            voters,
            learners,
        }
    }

    /// True once the group is poisoned (see [`GroupError::Poisoned`]).
    pub fn is_poisoned(&self) -> bool {
        self.life == Life::Poisoned
    }

    /// Writes what is queued and closes the group: every later call fails with `Closed`. Idempotent.
    pub fn close(&mut self) -> Result<(), GroupError> {
        let was = std::mem::replace(&mut self.life, Life::Closed);
        if was == Life::Open {
            self.raw.mut_store().flush(true)?;
        }
        Ok(())
    }

    /// Fails unless the group is open.
    pub(crate) fn usable(&self) -> Result<(), GroupError> {
        match self.life {
            Life::Open => Ok(()),
            Life::Poisoned => Err(GroupError::Poisoned),
            Life::Closed => Err(GroupError::Closed),
        }
    }

    fn leader(&self) -> Result<(), GroupError> {
        if self.raw.raft.state == StateRole::Leader {
            Ok(())
        } else {
            Err(GroupError::NotLeader)
        }
    }

    /// Runs `f`, catching a panic (inside raft): the group is then poisoned and the panic's message returned.
    pub(crate) fn catch<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> Result<R, String> {
        match panic::catch_unwind(AssertUnwindSafe(|| f(&mut *self))) {
            Ok(r) => {
                self.after_raft();
                Ok(r)
            }
            Err(p) => {
                self.life = Life::Poisoned;
                Err(panic_message(&p))
            }
        }
    }

    fn after_raft(&mut self) {
        if let Some(t) = &mut self.timeouts {
            t.after(&mut self.raw.raft);
        }
    }
}

impl Drop for Group {
    /// Writes what is queued (nothing is lost that raft already relies on: that was written by `ready`).
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_raft_is_caught_and_poisons_the_group() {
        let mut g = Group::open(GroupConfig::new(1, vec![1])).unwrap();
        let caught = g.catch(|_| -> () { panic!("boom") });
        assert_eq!(caught.unwrap_err(), "boom");
        assert!(g.is_poisoned());
        assert!(matches!(g.step(2, &[]), Err(GroupError::Poisoned)));
        assert!(matches!(g.ready(), Err(GroupError::Poisoned)));
        assert!(matches!(g.propose(b"x"), Err(GroupError::Poisoned)));
        g.tick();
        assert_eq!(g.status().voters, vec![1]);
        g.close().unwrap();
        assert!(matches!(g.propose(b"x"), Err(GroupError::Closed)));
    }

    #[test]
    fn bad_configurations_are_named() {
        let bad = |c: GroupConfig| match Group::open(c) {
            Err(GroupError::InvalidArgument(why)) => why,
            other => panic!("{:?}", other.map(|g| g.id())),
        };
        assert!(bad(GroupConfig::new(0, vec![1])).starts_with("id"));
        assert!(bad(GroupConfig::new(1, vec![1, 1])).starts_with("voters"));
        assert!(bad(GroupConfig::new(1, vec![0, 1])).starts_with("voters"));
        let ticks = GroupConfig { election_tick: 2, heartbeat_tick: 2, ..GroupConfig::new(1, vec![1]) };
        assert!(bad(ticks).starts_with("election_tick"));
    }
}
