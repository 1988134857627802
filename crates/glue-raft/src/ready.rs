//! [`Group::ready`]: raft's `Ready` handled in full (persist, then hand out), and committed entries applied.

use protobuf::Message as _;
use raft::eraftpb::{ConfChangeV2, Entry, EntryType, Message, MessageType};
use raft::StateRole;

use crate::commit_notice::CommitNotices;
use crate::group::{Group, Life};
use crate::membership;
use crate::storage::INITIAL_INDEX;
use crate::{Change, Committed, EntryKind, GroupError, Output};

/// Ready rounds in one call at most (a round can make the next one: a leader commits once its own write is done).
const MAX_ROUNDS: usize = 8;

impl Group {
    /// Everything to do now, or `None`. Before it returns, what raft must have on disk before the messages go out
    /// is written (entries, hard state, a received snapshot; fsynced when configured), raft is advanced, and
    /// committed configuration changes are applied. A storage failure (`Io`) or a panic in raft poisons the group.
    pub fn ready(&mut self) -> Result<Option<Output>, GroupError> {
        self.usable()?;
        let mut out = Output { snapshot: self.restored.take(), ..Output::default() };
        for _ in 0..MAX_ROUNDS {
            if !self.raw.has_ready() || (!out.committed.is_empty() && self.raw.snap().is_some()) {
                // Nothing more, or a snapshot that must come before entries: the next call.
                break;
            }
            match self.catch(|g| g.round(&mut out)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.life = Life::Poisoned;
                    return Err(e);
                }
                Err(_) => return Err(GroupError::Poisoned),
            }
        }
        out.wants_snapshot =
            self.raw.store().take_snapshot_refused() && self.raw.raft.state == StateRole::Leader;
        let status = self.status();
        let changed = |r: &crate::Status| {
            (r.role, r.term, r.leader, &r.voters, &r.learners)
                != (status.role, status.term, status.leader, &status.voters, &status.learners)
        };
        if !matches!(&self.reported, Some(r) if !changed(r)) {
            self.reported = Some(status.clone());
            out.soft_state = Some(status);
        }
        if let Err(e) = self.raw.mut_store().flush(false) {
            self.life = Life::Poisoned;
            return Err(e.into());
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// One `Ready`: persist, collect, advance.
    fn round(&mut self, out: &mut Output) -> Result<(), GroupError> {
        let mut rd = self.raw.ready();
        let early = rd.take_messages();
        for to in snapshot_receivers(&early).collect::<Vec<_>>() {
            self.snapshots.sent(to);
        }
        if !rd.snapshot().is_empty() {
            let snapshot = rd.snapshot().clone();
            let meta = snapshot.get_metadata();
            let (index, term) = (meta.index, meta.term);
            self.conf = membership::ConfHistory::new(meta.get_conf_state().clone());
            self.raw.mut_store().install(snapshot.clone())?;
            self.returned = index;
            self.applied = index;
            out.snapshot = (index > INITIAL_INDEX || !snapshot.data.is_empty())
                .then(|| (index, term, snapshot.data.to_vec()));
        }
        self.raw.mut_store().append(rd.entries())?;
        if let Some(hs) = rd.hs() {
            self.raw.mut_store().set_hard_state(hs);
        }
        self.raw.mut_store().flush(rd.must_sync())?;
        encode(early, out, &mut self.notices)?;
        encode(rd.take_persisted_messages(), out, &mut self.notices)?;
        self.apply(rd.take_committed_entries(), out)?;
        out.read_states.extend(rd.take_read_states().into_iter().map(|rs| (rs.index, rs.request_ctx)));
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit);
        }
        let late = light.take_messages();
        for to in snapshot_receivers(&late).collect::<Vec<_>>() {
            self.snapshots.sent(to);
        }
        encode(late, out, &mut self.notices)?;
        self.apply(light.take_committed_entries(), out)?;
        self.raw.advance_apply();
        Ok(())
    }

    /// Hands committed entries out, applying configuration changes.
    fn apply(&mut self, entries: Vec<Entry>, out: &mut Output) -> Result<(), GroupError> {
        for e in entries {
            if e.index <= self.returned {
                continue;
            }
            let (kind, change) = match e.get_entry_type() {
                EntryType::EntryNormal => (EntryKind::Normal, None),
                EntryType::EntryConfChange => (EntryKind::ConfChange, self.apply_change(&e, out)?),
                EntryType::EntryConfChangeV2 => {
                    // Never proposed by glue; applied all the same so that every member stays in step.
                    if let Ok(cc) = ConfChangeV2::parse_from_bytes(&e.data) {
                        if let Ok(cs) = self.raw.apply_conf_change(&cc) {
                            self.conf.push(e.index, cs);
                            self.step_down_if_removed(out)?;
                        }
                    }
                    (EntryKind::ConfChange, None)
                }
            };
            self.returned = e.index;
            out.committed.push(Committed {
                index: e.index,
                term: e.term,
                kind,
                data: e.data.to_vec(),
                change,
            });
        }
        Ok(())
    }

    /// Applies a committed simple configuration change; what changed, or `None` when raft refused it (the same
    /// on every member).
    fn apply_change(&mut self, e: &Entry, out: &mut Output) -> Result<Option<Change>, GroupError> {
        let Some(cc) = membership::decode(&e.data) else { return Ok(None) };
        let Ok(cs) = self.raw.apply_conf_change(&cc) else { return Ok(None) };
        self.conf.push(e.index, cs);
        self.step_down_if_removed(out)?;
        Ok(Some(membership::change_of(&cc)))
    }

    /// A leader that is no longer a voter (it removed or demoted itself) steps down at once and tells the most
    /// up-to-date voter to campaign (a timeout-now message, as in a leader transfer). raft-rs would keep it leading a
    /// group it is not part of, and panic at its next commit (it looks up its own progress).
    fn step_down_if_removed(&mut self, out: &mut Output) -> Result<(), GroupError> {
        let r = &self.raw.raft;
        let voters = r.prs().conf().voters();
        if r.state != StateRole::Leader || voters.contains(self.id) {
            return Ok(());
        }
        let best =
            r.prs().iter().filter(|(id, _)| voters.contains(**id)).max_by_key(|(id, p)| (p.matched, **id));
        let to = best.map(|(id, _)| *id);
        let term = r.term;
        // Not through raft's outbox: a follower must not have messages of its own when it is advanced.
        self.raw.raft.become_follower(term, raft::INVALID_ID);
        if let Some(to) = to {
            let mut m = Message { to, from: self.id, term, ..Default::default() };
            m.set_msg_type(MessageType::MsgTimeoutNow);
            encode(vec![m], out, &mut self.notices)?;
        }
        Ok(())
    }
}

/// Encodes messages for the wire.
fn encode(messages: Vec<Message>, out: &mut Output, notices: &mut CommitNotices) -> Result<(), GroupError> {
    for m in messages {
        notices.sent(&m);
        let bytes = m.write_to_bytes().map_err(raft::Error::from)?;
        out.messages.push((m.to, bytes));
    }
    Ok(())
}

/// The followers a snapshot goes to in these messages.
fn snapshot_receivers(messages: &[Message]) -> impl Iterator<Item = u64> + '_ {
    messages.iter().filter(|m| m.get_msg_type() == MessageType::MsgSnapshot).map(|m| m.to)
}
