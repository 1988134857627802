//! What a group hands out: [`Output`] from [`Group::ready`](crate::Group::ready) and [`Status`].

/// Everything the caller must do now, in this order: restore `snapshot` (when set), apply `committed` in order,
/// answer `read_states`, send `messages`. Everything in it is already durable where Raft requires it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    /// Encoded raft messages (protobuf `eraftpb.Message`), each with its receiver's ID; several to one receiver in
    /// the order raft produced them. Delivery may drop, repeat or reorder them: Raft copes.
    pub messages: Vec<(u64, Vec<u8>)>,
    /// The application's state to restore before applying `committed`: a snapshot received from the leader (this
    /// member was too far behind), or, in the first output after opening a data directory, the last snapshot given
    /// to [`Group::compact`](crate::Group::compact). As (index, term, state).
    pub snapshot: Option<(u64, u64, Vec<u8>)>,
    /// Newly committed entries in log order, each exactly once: indexes are consecutive and continue the last
    /// output's (or the snapshot's). The first entry of a group is index 2 (index 1 is its initial configuration).
    pub committed: Vec<Committed>,
    /// Answers to [`Group::read_index`](crate::Group::read_index) as (read index, the request's context): once the
    /// application has applied the entry at the read index, a read of its state is linearizable.
    pub read_states: Vec<(u64, Vec<u8>)>,
    /// The status, when the role, leader, term or configuration changed since the last output.
    pub soft_state: Option<Status>,
    /// A member needs a snapshot that the last one cannot give (it was made before that member joined, or none was
    /// made yet): call [`Group::compact`](crate::Group::compact) with the current state soon. Only on the leader.
    pub wants_snapshot: bool,
}

impl Output {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        *self == Output::default()
    }
}

/// One committed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Its log index.
    pub index: u64,
    /// The term of the leader that proposed it.
    pub term: u64,
    /// Whether the application proposed it or it changes the configuration.
    pub kind: EntryKind,
    /// What was proposed; empty for the entry a new leader appends (and for a configuration change that the
    /// leader refused because another was pending). For a configuration change: the encoded `eraftpb.ConfChange`.
    pub data: Vec<u8>,
    /// For a configuration change that the group applied: what changed. `None` for normal entries and for changes
    /// that had no effect (refused by raft, e.g. removing the last voter).
    pub change: Option<Change>,
}

/// The kind of a committed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Proposed with [`Group::propose`](crate::Group::propose) (or the empty entry of a new leader).
    Normal,
    /// Proposed with [`Group::propose_conf_change`](crate::Group::propose_conf_change); already applied by the group.
    ConfChange,
}

/// A configuration change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// What happens to the member.
    pub kind: ConfChangeKind,
    /// The member's raft ID.
    pub id: u64,
}

/// The kinds of configuration change (one member at a time, so no joint consensus is needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfChangeKind {
    /// Add a voter (or promote a learner).
    AddVoter,
    /// Remove a voter or a learner.
    RemoveVoter,
    /// Add a learner: it receives the log but does not vote (or demote a voter).
    AddLearner,
}

/// The raft role of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Takes proposals and replicates the log.
    Leader,
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for votes in a new term.
    Candidate,
    /// Asks whether it could win an election before raising the term (pre-vote), so that a member cut off from
    /// the others does not disturb them when it comes back.
    PreCandidate,
}

/// The state of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Its role.
    pub role: Role,
    /// The current term.
    pub term: u64,
    /// The leader's ID as far as this member knows; 0: none.
    pub leader: u64,
    /// The commit index: every entry up to it is committed.
    pub commit: u64,
    /// The last index the application said it applied ([`Group::set_applied`](crate::Group::set_applied) or
    /// [`Group::compact`](crate::Group::compact)); after opening, the snapshot's index.
    pub applied: u64,
    /// The voters, ascending.
    pub voters: Vec<u64>,
    /// The learners, ascending.
    pub learners: Vec<u64>,
}
