//! Discovery: the announce schedule and the peer table (add on discovery, remove on expiry).
//! The policy (period, expiry multiplier, name-clash rule, accept filter) is set by the application.

mod peer_table;
mod schedule;

pub use peer_table::{lease, Observation, PeerTable, Touch, MAX_ANNOUNCE_PERIOD, PROBATION};
pub use schedule::AnnounceSchedule;
