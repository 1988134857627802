//! [`EndpointStats`]: the core's counters plus the runtime's, published under the engine lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use glue_proto::Stats;

/// Counters of one endpoint; all only ever increase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The protocol core's counters. Truncated datagrams and those from an unknown address family are
    /// included in `dropped_malformed`.
    pub core: Stats,
    /// Datagrams the socket refused to send (other than "try again later"); each is dropped.
    pub send_errors: u64,
    /// Receive calls that failed (other than "nothing to read").
    pub recv_errors: u64,
    /// Sends and broadcasts refused because the command queue was full.
    pub dropped_send_queue_full: u64,
    /// Sends to an ID that is not an accepted peer (checked on the I/O thread, so counted, not thrown).
    pub dropped_send_unknown_peer: u64,
    /// Batches not delivered because the consumer was gone.
    pub dropped_batches: u64,
    /// Times reading moved from the caller to the I/O thread because traffic was heavy
    /// ([`crate::ReceiveMode::Caller`]).
    pub reading_to_io_thread: u64,
    /// Times reading moved back to the caller once traffic was light again.
    pub reading_to_caller: u64,
}

/// The latest snapshot, written under the engine lock after every loop iteration (and every caller round),
/// plus the counters that are bumped without the lock.
#[derive(Debug, Default)]
pub(crate) struct StatsCell {
    snapshot: Mutex<EndpointStats>,
    /// The last snapshot a reader got, taken by readers only: when the I/O thread holds `snapshot` (it may have been
    /// preempted in its short critical section on a loaded host), a reader gets this one instead of waiting.
    last_read: Mutex<EndpointStats>,
    dropped_send_queue_full: AtomicU64,
    /// Bumped by the I/O thread after it dropped the engine lock (the sink is called without it).
    dropped_batches: AtomicU64,
}

impl StatsCell {
    /// Replaces the snapshot (under the engine lock).
    pub(crate) fn publish(&self, stats: EndpointStats) {
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = stats;
    }

    /// Counts a send refused because the queue was full (any thread).
    pub(crate) fn count_queue_full(&self) {
        self.count_queue_full_n(1);
    }

    /// Counts `n` messages dropped for a full command queue.
    pub(crate) fn count_queue_full_n(&self, n: u64) {
        self.dropped_send_queue_full.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a batch not delivered because the consumer was gone (I/O thread).
    pub(crate) fn count_dropped_batch(&self) {
        self.dropped_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// The latest snapshot with the live counters; never waits for the I/O thread (see `last_read`).
    pub(crate) fn read(&self) -> EndpointStats {
        let mut last = self.last_read.lock().unwrap_or_else(|e| e.into_inner());
        match self.snapshot.try_lock() {
            Ok(snapshot) => *last = *snapshot,
            Err(std::sync::TryLockError::Poisoned(e)) => *last = *e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
        let mut stats = *last;
        stats.dropped_send_queue_full = self.dropped_send_queue_full.load(Ordering::Relaxed);
        stats.dropped_batches = self.dropped_batches.load(Ordering::Relaxed);
        stats
    }
}
