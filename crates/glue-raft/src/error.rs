//! [`GroupError`]: everything a group call can fail with.

use std::io;

/// An error of a group call. Every variant has a stable meaning (the binding maps each to an error `code`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// Only the leader takes proposals and configuration changes; this member is not the leader. Forward to
    /// [`Status::leader`](crate::Status::leader) (when known) or retry after the next election.
    #[error("not the leader")]
    NotLeader,
    /// Input from the network that this group refuses: not a raft message, not addressed to this member, from a
    /// sender that is not who it claims or not a member, a message type no peer sends, or out-of-range fields.
    /// Nothing changed.
    #[error("malformed raft message: {0}")]
    Malformed(String),
    /// An argument or configuration value is out of range; the message names it. Nothing changed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Reading or writing the data directory failed. After a failure during [`ready`](crate::Group::ready) or
    /// [`compact`](crate::Group::compact) the group is poisoned (see [`GroupError::Poisoned`]).
    #[error("raft storage: {0}")]
    Io(#[from] io::Error),
    /// The raft library refused: `ProposalDropped` (a leader transfer is in progress, or a configuration change is
    /// still pending; retry later), or another of its errors.
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// The group was closed.
    #[error("the group is closed")]
    Closed,
    /// An earlier call failed half-way (a storage error during `ready`, or a panic inside the raft library that
    /// was caught), so the in-memory state may be inconsistent: every call but `status` and `close` fails with
    /// this. What is on disk is consistent; close the group and open it again from its data directory.
    #[error("the group is poisoned by an earlier failure: close it and open it again")]
    Poisoned,
}

impl GroupError {
    /// True for `Raft(ProposalDropped)`: the leader dropped a proposal or configuration change; retry later.
    pub fn is_proposal_dropped(&self) -> bool {
        matches!(self, GroupError::Raft(raft::Error::ProposalDropped))
    }
}
