//! Random numbers for IDs, incarnations and seeds without a dependency: std's randomly keyed SipHash.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A random 64-bit value (not for secrets): std's per-process random hash keys over a counter, the time
/// and the process ID.
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    RandomState::new().hash_one((n, nanos, std::process::id()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn differs_between_calls() {
        let a = super::random_u64();
        let b = super::random_u64();
        assert_ne!(a, b);
    }
}
