//! The objects of `NativeRaftGroup` (see `crates/glue-raft`): its configuration, what `ready()` returns, its status;
//! and their conversions. IDs cross as 16 hex digits, indexes and terms as numbers (exact: below 2^53).

use glue_proto::EndpointId;
use glue_raft::{Committed, ConfChangeKind, EntryKind, GroupConfig, Output, Role, Status};
use napi::bindgen_prelude::{BigInt, Buffer, Either};
use napi_derive::napi;

use crate::config::integer;
use crate::error::{error, invalid_option, Code, Converted};

/// How a member of a consensus group is opened.
#[napi(object)]
pub struct NativeRaftConfig {
    /// This member's raft ID (non-zero u64): a bigint, or 16 hex digits.
    pub id: Either<BigInt, String>,
    /// The initial voters (16 hex digits each), this member among them; used only when the data directory holds no
    /// group yet. Empty for a member that joins a running group (the leader adds it and sends it a snapshot).
    pub voters: Vec<String>,
    /// Ticks without a leader before an election (random in electionTick..2 × electionTick). Default 10.
    pub election_tick: Option<f64>,
    /// Ticks between heartbeats, below electionTick. Default 2.
    pub heartbeat_tick: Option<f64>,
    /// Most entry bytes in one append message. Default 1 MiB.
    pub max_size_per_msg: Option<f64>,
    /// Most append messages in flight to one follower. Default 256.
    pub max_inflight_msgs: Option<f64>,
    /// Directory of the log, hard state and snapshot (created when missing); undefined: memory only.
    pub data_dir: Option<String>,
    /// fsync before anything that depends on a write leaves the group (Raft requires it). Default true.
    pub fsync: Option<bool>,
}

impl NativeRaftConfig {
    /// The group's configuration; errors name the option.
    pub fn to_group(&self) -> Converted<GroupConfig> {
        let id = match &self.id {
            Either::A(big) => match big.get_u64() {
                (false, id, true) if id != 0 => id,
                _ => return Err(invalid_option("id", &format!("{:?}", big.words), "a u64 above 0")),
            },
            Either::B(hex) => parse_id("id", hex)?,
        };
        let voters = self
            .voters
            .iter()
            .enumerate()
            .map(|(i, v)| parse_id(&format!("voters[{i}]"), v))
            .collect::<Converted<Vec<_>>>()?;
        let mut c = GroupConfig::new(id, voters);
        let opt = |field, value: Option<f64>, default: u64| {
            value.map_or(Ok(default), |v| integer(field, v, 1, 1 << 32))
        };
        c.election_tick = opt("electionTick", self.election_tick, c.election_tick as u64)? as usize;
        c.heartbeat_tick = opt("heartbeatTick", self.heartbeat_tick, c.heartbeat_tick as u64)? as usize;
        c.max_size_per_msg = opt("maxSizePerMsg", self.max_size_per_msg, c.max_size_per_msg)?;
        c.max_inflight_msgs =
            opt("maxInflightMsgs", self.max_inflight_msgs, c.max_inflight_msgs as u64)? as usize;
        c.data_dir = self.data_dir.as_ref().map(Into::into);
        c.fsync = self.fsync.unwrap_or(true);
        Ok(c)
    }
}

/// Everything a member must do now, in this order: restore `snapshot`, apply `committed`, answer `readStates`, send
/// `messages`. Already durable where Raft requires it.
#[napi(object, object_from_js = false)]
pub struct NativeRaftReady {
    /// Raft messages to send, each to its member; delivery may drop, repeat or reorder them.
    pub messages: Vec<NativeRaftMessage>,
    /// Newly committed entries, in log order, each exactly once; indexes consecutive (the first entry of a group is
    /// index 2).
    pub committed: Vec<NativeRaftEntry>,
    /// The state to restore before `committed`: received from the leader, or, first after opening a data
    /// directory, the last one given to `compact`.
    pub snapshot: Option<NativeRaftSnapshot>,
    /// Answers to `readIndex`: reads of the state are linearizable once the entry at `index` is applied.
    pub read_states: Vec<NativeRaftReadState>,
    /// The status, when role, leader, term or configuration changed since the last ready.
    pub status: Option<NativeRaftStatus>,
    /// On the leader: a member needs a snapshot newer than the last `compact` (it joined after it, or there was
    /// none yet); call `compact` with the current state soon. Absent otherwise.
    pub wants_snapshot: Option<bool>,
}

/// A raft message to send.
#[napi(object, object_from_js = false)]
pub struct NativeRaftMessage {
    /// The receiving member, 16 hex digits.
    pub to: String,
    /// The encoded message, for its `step()`.
    pub data: Buffer,
}

/// A committed entry.
#[napi(object, object_from_js = false)]
pub struct NativeRaftEntry {
    /// Its log index.
    pub index: f64,
    /// The term of the leader that proposed it.
    pub term: f64,
    /// 'normal' (proposed with `propose`, or a new leader's empty entry) or 'conf-change'.
    #[napi(ts_type = "'normal' | 'conf-change'")]
    pub kind: String,
    /// What was proposed (empty for a new leader's entry); for a configuration change its encoding.
    pub data: Buffer,
    /// For a configuration change that took effect: what changed.
    pub change: Option<NativeRaftChange>,
}

/// A configuration change that took effect.
#[napi(object, object_from_js = false)]
pub struct NativeRaftChange {
    /// What happened to the member.
    #[napi(ts_type = "'add-voter' | 'remove-voter' | 'add-learner'")]
    pub kind: String,
    /// The member, 16 hex digits.
    pub id: String,
}

/// A snapshot of the application's state.
#[napi(object, object_from_js = false)]
pub struct NativeRaftSnapshot {
    /// The last index it includes.
    pub index: f64,
    /// That entry's term.
    pub term: f64,
    /// The state, as given to `compact`.
    pub data: Buffer,
}

/// The answer to a `readIndex`.
#[napi(object, object_from_js = false)]
pub struct NativeRaftReadState {
    /// The read index.
    pub index: f64,
    /// The context given to `readIndex`.
    pub ctx: Buffer,
}

/// The state of a member.
#[napi(object, object_from_js = false)]
pub struct NativeRaftStatus {
    /// Its raft role.
    #[napi(ts_type = "'leader' | 'follower' | 'candidate' | 'pre-candidate'")]
    pub role: String,
    /// The current term.
    pub term: f64,
    /// The leader as far as this member knows, 16 hex digits; '' when none.
    pub leader: String,
    /// The commit index.
    pub commit: f64,
    /// What the application said it applied (`setApplied` / `compact`); after opening, the snapshot's index.
    pub applied: f64,
    /// The voters, 16 hex digits each, ascending.
    pub voters: Vec<String>,
    /// The learners, ascending.
    pub learners: Vec<String>,
}

impl From<Output> for NativeRaftReady {
    fn from(o: Output) -> Self {
        NativeRaftReady {
            messages: o
                .messages
                .into_iter()
                .map(|(to, data)| NativeRaftMessage { to: hex(to), data: data.into() })
                .collect(),
            committed: o.committed.into_iter().map(Into::into).collect(),
            snapshot: o.snapshot.map(|(index, term, data)| NativeRaftSnapshot {
                index: index as f64,
                term: term as f64,
                data: data.into(),
            }),
            read_states: o
                .read_states
                .into_iter()
                .map(|(index, ctx)| NativeRaftReadState { index: index as f64, ctx: ctx.into() })
                .collect(),
            status: o.soft_state.map(Into::into),
            wants_snapshot: o.wants_snapshot.then_some(true),
        }
    }
}

impl From<Committed> for NativeRaftEntry {
    fn from(c: Committed) -> Self {
        let kind = match c.kind {
            EntryKind::Normal => "normal",
            EntryKind::ConfChange => "conf-change",
        };
        let change =
            c.change.map(|ch| NativeRaftChange { kind: change_kind_name(ch.kind).into(), id: hex(ch.id) });
        NativeRaftEntry {
            index: c.index as f64,
            term: c.term as f64,
            kind: kind.into(),
            data: c.data.into(),
            change,
        }
    }
}

impl From<Status> for NativeRaftStatus {
    fn from(s: Status) -> Self {
        let role = match s.role {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::PreCandidate => "pre-candidate",
        };
        NativeRaftStatus {
            role: role.into(),
            term: s.term as f64,
            leader: if s.leader == 0 { String::new() } else { hex(s.leader) },
            commit: s.commit as f64,
            applied: s.applied as f64,
            voters: s.voters.into_iter().map(hex).collect(),
            learners: s.learners.into_iter().map(hex).collect(),
        }
    }
}

/// The kind of a configuration change from its JavaScript name.
pub fn change_kind(name: &str) -> Converted<ConfChangeKind> {
    match name {
        "add-voter" => Ok(ConfChangeKind::AddVoter),
        "remove-voter" => Ok(ConfChangeKind::RemoveVoter),
        "add-learner" => Ok(ConfChangeKind::AddLearner),
        other => {
            Err(invalid_option("kind", &format!("{other:?}"), "'add-voter', 'remove-voter' or 'add-learner'"))
        }
    }
}

fn change_kind_name(kind: ConfChangeKind) -> &'static str {
    match kind {
        ConfChangeKind::AddVoter => "add-voter",
        ConfChangeKind::RemoveVoter => "remove-voter",
        ConfChangeKind::AddLearner => "add-learner",
    }
}

/// A member ID from 16 hex digits (ERR_GLUE_UNKNOWN_PEER otherwise, as for endpoint IDs).
pub fn member(id: &str) -> Converted<u64> {
    match id.parse::<EndpointId>() {
        Ok(EndpointId(id)) if id != 0 => Ok(id),
        _ => Err(error(
            Code::UnknownPeer,
            format!("no member {id:?}: a member ID is 1 to 16 hex digits, not 0"),
        )),
    }
}

fn parse_id(field: &str, id: &str) -> Converted<u64> {
    member(id).map_err(|_| invalid_option(field, &format!("{id:?}"), "16 hex digits, not 0"))
}

/// An index from JavaScript.
pub fn index(field: &str, value: f64) -> Converted<u64> {
    integer(field, value, 0, (1 << 53) - 1)
}

/// 16 lowercase hex digits.
pub fn hex(id: u64) -> String {
    EndpointId(id).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> NativeRaftConfig {
        NativeRaftConfig {
            id: Either::B("00000000000000a1".into()),
            voters: vec!["a1".into(), "00000000000000a2".into()],
            election_tick: Some(20.0),
            heartbeat_tick: None,
            max_size_per_msg: None,
            max_inflight_msgs: Some(8.0),
            data_dir: Some("/tmp/x".into()),
            fsync: Some(false),
        }
    }

    #[test]
    fn converts_the_configuration_and_names_bad_options() {
        let c = config().to_group().unwrap();
        assert_eq!(
            (c.id, c.voters.clone(), c.election_tick, c.heartbeat_tick),
            (0xa1, vec![0xa1, 0xa2], 20, 2)
        );
        assert_eq!((c.max_inflight_msgs, c.fsync, c.data_dir.unwrap().to_str()), (8, false, Some("/tmp/x")));
        let big = NativeRaftConfig { id: Either::A(BigInt::from(7u64)), ..config() };
        assert_eq!(big.to_group().unwrap().id, 7);
        let m = |c: NativeRaftConfig| c.to_group().unwrap_err();
        let e = m(NativeRaftConfig { id: Either::A(BigInt::from(0u64)), ..config() });
        assert!(e.code == Code::InvalidOption && e.message.contains("id"), "{}", e.message);
        let e = m(NativeRaftConfig { voters: vec!["a1".into(), "xyz".into()], ..config() });
        assert!(e.message.contains("voters[1]"), "{}", e.message);
        let e = m(NativeRaftConfig { election_tick: Some(1.5), ..config() });
        assert!(e.message.contains("electionTick"), "{}", e.message);
    }

    #[test]
    fn ids_cross_as_hex_and_kinds_by_name() {
        assert_eq!(hex(0xab), "00000000000000ab");
        assert_eq!(member("ab").unwrap(), 0xab);
        assert_eq!(member("0").unwrap_err().code, Code::UnknownPeer);
        assert_eq!(change_kind("add-learner").unwrap(), ConfChangeKind::AddLearner);
        assert_eq!(change_kind_name(ConfChangeKind::RemoveVoter), "remove-voter");
        assert!(change_kind("add").is_err());
        assert!(index("applied", -1.0).is_err() && index("applied", 1e16).is_err());
    }
}
