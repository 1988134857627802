//! Election timeouts drawn from a seed, for deterministic tests: raft draws a new timeout (from the thread's random
//! generator) whenever a member changes term, role or leader; after each call into raft, the group replaces that
//! draw with one from its own SplitMix64 generator.

use raft::{Raft, StateRole, Storage};

/// A seeded source of election timeouts for one member.
pub(crate) struct Timeouts {
    state: u64,
    /// Timeouts are drawn from `min..max` ticks.
    min: usize,
    max: usize,
    /// (term, role, leader) when the timeout was last drawn.
    seen: Option<(u64, StateRole, u64)>,
}

impl Timeouts {
    /// Timeouts in `min..max` ticks from `seed`.
    pub(crate) fn new(seed: u64, min: usize, max: usize) -> Self {
        Timeouts { state: seed, min, max, seen: None }
    }

    /// Draws a new timeout when term, role or leader changed since the last draw.
    pub(crate) fn after<T: Storage>(&mut self, raft: &mut Raft<T>) {
        let key = (raft.term, raft.state, raft.leader_id);
        if self.seen != Some(key) && self.max > self.min {
            self.seen = Some(key);
            let t = self.min + (self.next() % (self.max - self.min) as u64) as usize;
            raft.set_randomized_election_timeout(t);
        }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
