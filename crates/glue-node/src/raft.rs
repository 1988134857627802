//! `NativeRaftGroup`: the JavaScript class over [`glue_raft::Group`], one member of a consensus group. Synchronous
//! and sans-IO like the group: the TypeScript layer (`src/consensus/`) ticks it, steps in what arrived, sends what
//! `ready()` returns and applies the committed entries.

use glue_raft::Group;
use napi::bindgen_prelude::BufferSlice;
use napi_derive::napi;

use crate::error::{from_raft, JsError};
use crate::raft_types::{change_kind, index, member, NativeRaftConfig, NativeRaftReady, NativeRaftStatus};

/// One member of a consensus group (tikv's Raft, pre-vote and check-quorum on). Errors carry a `code`:
/// ERR_GLUE_INVALID_OPTION (bad arguments), ERR_GLUE_UNKNOWN_PEER (an ID that is not 16 hex digits),
/// ERR_GLUE_RAFT_MALFORMED (a refused message), ERR_GLUE_NOT_LEADER, ERR_GLUE_RAFT_DROPPED (retry later),
/// ERR_GLUE_PERSIST (the data directory), ERR_GLUE_RAFT_POISONED (an earlier failure: close and open again),
/// ERR_GLUE_RAFT, ERR_GLUE_CLOSED.
#[napi]
pub struct NativeRaftGroup {
    inner: Group,
}

#[napi]
impl NativeRaftGroup {
    /// Opens a member: from `dataDir` when it holds a group, else a new group of `voters` (or, with none, a member
    /// waiting to be added). Throws ERR_GLUE_INVALID_OPTION or ERR_GLUE_PERSIST.
    #[napi(factory)]
    pub fn open(config: NativeRaftConfig) -> Result<NativeRaftGroup, JsError> {
        let inner = Group::open(config.to_group()?).map_err(from_raft)?;
        Ok(NativeRaftGroup { inner })
    }

    /// One logical tick (elections and heartbeats are counted in ticks).
    #[napi]
    pub fn tick(&mut self) {
        self.inner.tick();
    }

    /// Takes a message that arrived from member `from`. Throws ERR_GLUE_RAFT_MALFORMED when it is refused (nothing
    /// changed); never crashes the process.
    #[napi]
    pub fn step(&mut self, from: String, msg: BufferSlice) -> Result<(), JsError> {
        Ok(self.inner.step(member(&from)?, &msg).map_err(from_raft)?)
    }

    /// Proposes an entry (at most 256 MiB) on the leader; throws ERR_GLUE_NOT_LEADER elsewhere. Committed once it
    /// comes out of `ready()`.
    #[napi]
    pub fn propose(&mut self, data: BufferSlice) -> Result<(), JsError> {
        Ok(self.inner.propose(&data).map_err(from_raft)?)
    }

    /// Proposes a configuration change of one member on the leader (ERR_GLUE_NOT_LEADER elsewhere;
    /// ERR_GLUE_RAFT_DROPPED while an earlier change is pending).
    #[napi]
    pub fn propose_conf_change(
        &mut self,
        #[napi(ts_arg_type = "'add-voter' | 'remove-voter' | 'add-learner'")] kind: String,
        id: String,
    ) -> Result<(), JsError> {
        Ok(self.inner.propose_conf_change(change_kind(&kind)?, member(&id)?).map_err(from_raft)?)
    }

    /// Asks for a read index; the answer comes in `ready().readStates` with `ctx`. Dropped silently without a
    /// leader, or before the leader committed an entry of its term: retry after a while.
    #[napi]
    pub fn read_index(&mut self, ctx: BufferSlice) {
        self.inner.read_index(&ctx);
    }

    /// On the leader: tells the followers that were not told the commit index yet (an append round; raft does not
    /// send one after every commit, so that the next proposal carries it). Call it in the turn after a commit.
    #[napi]
    pub fn announce_commit(&mut self) {
        self.inner.announce_commit();
    }

    /// Starts an election now (pre-vote first).
    #[napi]
    pub fn campaign(&mut self) -> Result<(), JsError> {
        Ok(self.inner.campaign().map_err(from_raft)?)
    }

    /// On the leader: hands leadership to member `to`; does nothing elsewhere.
    #[napi]
    pub fn transfer_leader(&mut self, to: String) -> Result<(), JsError> {
        self.inner.transfer_leader(member(&to)?);
        Ok(())
    }

    /// Everything to do now, or null (call it after any input; once per event-loop turn is enough).
    #[napi]
    pub fn ready(&mut self) -> Result<Option<NativeRaftReady>, JsError> {
        Ok(self.inner.ready().map_err(from_raft)?.map(Into::into))
    }

    /// Compaction: `state` is the application's state with everything up to `applied` applied; it becomes the
    /// snapshot and the log up to it is dropped (on disk before this returns).
    #[napi]
    pub fn compact(&mut self, applied: f64, state: BufferSlice) -> Result<(), JsError> {
        Ok(self.inner.compact(index("applied", applied)?, &state).map_err(from_raft)?)
    }

    /// Tells how far the application has applied (shown in `status().applied`; not persisted).
    #[napi]
    pub fn set_applied(&mut self, applied: f64) -> Result<(), JsError> {
        Ok(self.inner.set_applied(index("applied", applied)?).map_err(from_raft)?)
    }

    /// Role, term, leader, commit and applied index, voters, learners.
    #[napi]
    pub fn status(&self) -> NativeRaftStatus {
        self.inner.status().into()
    }

    /// Writes what is queued and closes the member; later calls throw ERR_GLUE_CLOSED. Idempotent.
    #[napi]
    pub fn close(&mut self) -> Result<(), JsError> {
        Ok(self.inner.close().map_err(from_raft)?)
    }
}
