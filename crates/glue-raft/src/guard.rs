//! The checks every message from the network passes before raft sees it. raft-rs trusts its peers: some malformed
//! messages make it panic (a commit index beyond the log, entries that are not consecutive, a snapshot with an
//! impossible configuration, a read index request without its entry, a term-0 message taken for a local one...) or
//! corrupt it quietly. What a correct peer never sends is refused here; `Group::step` then catches any panic that
//! still happens as a last line of defence.
//!
//! Rules (anything else is [`GroupError::Malformed`](crate::GroupError::Malformed)):
//! - addressed to this member, from the sender it claims (not this member, not 0), except a read index request that
//!   a follower relays to its leader: that one names the member that asked (a voter or learner, not this member);
//! - a type peers send each other: append, heartbeat, snapshot, (pre-)vote, their responses, timeout-now and read
//!   index (request and response); no proposals, no leader transfers (both stay on the member they are made on),
//!   no local types;
//! - from a voter or learner of the current configuration; a member with no configuration yet (one that joins)
//!   takes appends, heartbeats and snapshots from anyone;
//! - every index and term below 2^53; term 0 on read index requests only (raft forwards them as local messages);
//!   no snapshot requests (this group never makes them);
//! - appends with log term 0 after an index other than 0, or another log term after index 0 (raft takes term 0
//!   for indexes beyond its log);
//! - entries only on appends (consecutive after the message's index, terms ascending from its log term up to its
//!   term, normal entries or simple configuration changes that decode, each at most 256 MiB) and read index
//!   messages (exactly one);
//! - a snapshot only on snapshot messages: index and term ≥ 1, term at most the message's, at most 1 GiB, and a
//!   configuration of distinct non-zero voters (at least one) and learners, not joint;
//! - timeout-now and read index answers of the current term only from its leader; append answers to a leader
//!   within its log.
//!
//! One value is corrected rather than refused: a heartbeat's commit index beyond this member's log (the leader
//! believes this member holds entries it lost, e.g. restarted without its data directory under the same ID) is
//! lowered to this member's commit index, where raft would panic.

use raft::eraftpb::{EntryType, Message, MessageType};
use raft::{Raft, StateRole};

use crate::membership;
use crate::storage::{DurableStorage, MAX_ENTRY_BYTES, MAX_SNAPSHOT_BYTES};

/// Indexes and terms cross the binding as JavaScript numbers: exact below 2^53.
pub(crate) const MAX_NUMBER: u64 = (1 << 53) - 1;

type Checked = Result<(), String>;

/// Checks (and where noted corrects) a message that arrived from `from`.
pub(crate) fn check(raft: &Raft<DurableStorage>, from: u64, m: &mut Message) -> Checked {
    use MessageType::*;
    let t = m.get_msg_type();
    if m.to != raft.id {
        return Err(format!("{t:?} addressed to {:016x}, not to this member", m.to));
    }
    // A follower that gets a read index request (from a member that took it for the leader) relays it to its leader
    // as raft-rs does, keeping the requester as `from` so that the answer goes to the requester.
    let relayed = t == MsgReadIndex && m.from != 0 && m.from != raft.id && raft.prs().get(m.from).is_some();
    if (m.from != from && !relayed) || from == 0 || from == raft.id {
        return Err(format!("{t:?} claims to be from {:016x} but came from {from:016x}", m.from));
    }
    let leader_message = matches!(t, MsgAppend | MsgHeartbeat | MsgSnapshot);
    let peer_message = leader_message
        || matches!(
            t,
            MsgAppendResponse
                | MsgRequestVote
                | MsgRequestVoteResponse
                | MsgRequestPreVote
                | MsgRequestPreVoteResponse
                | MsgHeartbeatResponse
                | MsgTimeoutNow
                | MsgReadIndex
                | MsgReadIndexResp
        );
    if !peer_message {
        return Err(format!("{t:?} is not a message members send each other"));
    }
    let unconfigured = raft.prs().iter().len() == 0;
    if raft.prs().get(from).is_none() && !(unconfigured && leader_message) {
        return Err(format!("{t:?} from {from:016x}, which is not a member"));
    }
    numbers(m)?;
    match t {
        MsgAppend => entries(m)?,
        MsgReadIndex | MsgReadIndexResp if m.entries.len() != 1 => {
            return Err(format!("{t:?} with {} entries (one expected)", m.entries.len()));
        }
        MsgReadIndex | MsgReadIndexResp => {}
        _ if !m.entries.is_empty() => return Err(format!("{t:?} with entries")),
        _ => {}
    }
    if m.has_snapshot() != (t == MsgSnapshot) {
        return Err(format!("{t:?} with{} a snapshot", if m.has_snapshot() { "" } else { "out" }));
    }
    if t == MsgSnapshot {
        snapshot(m)?;
    }
    match t {
        MsgHeartbeat if m.commit > raft.raft_log.last_index() => m.commit = raft.raft_log.committed,
        MsgTimeoutNow | MsgReadIndexResp if m.term == raft.term && from != raft.leader_id => {
            return Err(format!("{t:?} of term {} from {from:016x}, which is not its leader", m.term));
        }
        MsgAppendResponse if raft.state == StateRole::Leader && m.term == raft.term => {
            let last = raft.raft_log.last_index();
            if m.index > last || (m.reject && m.reject_hint > m.index) {
                let (i, h) = (m.index, m.reject_hint);
                return Err(format!("append response for index {i} (hint {h}) beyond the log (last {last})"));
            }
        }
        _ => {}
    }
    Ok(())
}

fn numbers(m: &Message) -> Checked {
    let t = m.get_msg_type();
    let fields = [
        ("term", m.term),
        ("log_term", m.log_term),
        ("index", m.index),
        ("commit", m.commit),
        ("commit_term", m.commit_term),
        ("reject_hint", m.reject_hint),
    ];
    if let Some((name, v)) = fields.iter().find(|(_, v)| *v > MAX_NUMBER) {
        return Err(format!("{t:?} with {name} {v} (at most 2^53 - 1)"));
    }
    if (t == MessageType::MsgReadIndex) != (m.term == 0) {
        return Err(format!("{t:?} with term {}", m.term));
    }
    if m.request_snapshot != 0 {
        return Err(format!("{t:?} requests a snapshot (not used by glue)"));
    }
    Ok(())
}

fn entries(m: &Message) -> Checked {
    if m.log_term > m.term {
        return Err(format!("append of term {} after log term {}", m.term, m.log_term));
    }
    // raft takes term 0 for any index beyond its log: such an append would "match" there and commit past the end.
    if (m.index == 0) != (m.log_term == 0) {
        return Err(format!("append after index {} of log term {}", m.index, m.log_term));
    }
    let count = m.entries.len() as u64;
    if !matches!(m.index.checked_add(count), Some(last) if last <= MAX_NUMBER) {
        return Err(format!("append of {count} entries after index {} (beyond 2^53)", m.index));
    }
    let mut term = m.log_term.max(1);
    for (i, e) in m.entries.iter().enumerate() {
        let at = m.index + 1 + i as u64;
        if e.index != at {
            return Err(format!("append entry {i} has index {} (expected {at})", e.index));
        }
        if e.term < term || e.term > m.term {
            return Err(format!("append entry {at} of term {} (expected {term}..={})", e.term, m.term));
        }
        term = e.term;
        if e.data.len() > MAX_ENTRY_BYTES {
            return Err(format!("append entry {at} of {} bytes (at most {MAX_ENTRY_BYTES})", e.data.len()));
        }
        match e.get_entry_type() {
            EntryType::EntryNormal => {}
            EntryType::EntryConfChange if membership::decode(&e.data).is_some() => {}
            EntryType::EntryConfChange => return Err(format!("append entry {at}: bad configuration change")),
            EntryType::EntryConfChangeV2 => {
                return Err(format!("append entry {at}: joint configuration changes are not used"));
            }
        }
    }
    Ok(())
}

fn snapshot(m: &Message) -> Checked {
    let s = m.get_snapshot();
    let meta = s.get_metadata();
    if meta.index == 0 || meta.term == 0 || meta.index > MAX_NUMBER || meta.term > m.term {
        let (i, t) = (meta.index, meta.term);
        return Err(format!("snapshot at index {i}, term {t} in a message of term {}", m.term));
    }
    if s.data.len() > MAX_SNAPSHOT_BYTES {
        return Err(format!("snapshot of {} bytes (at most {MAX_SNAPSHOT_BYTES})", s.data.len()));
    }
    let cs = meta.get_conf_state();
    let mut ids: Vec<u64> = cs.voters.iter().chain(&cs.learners).copied().collect();
    ids.sort_unstable();
    let distinct = ids.windows(2).all(|w| w[0] != w[1]) && ids.first() != Some(&0);
    let simple = cs.voters_outgoing.is_empty() && cs.learners_next.is_empty() && !cs.auto_leave;
    if cs.voters.is_empty() || !distinct || !simple {
        return Err(format!("snapshot with configuration {cs:?}"));
    }
    Ok(())
}
