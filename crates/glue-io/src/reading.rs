//! [`ReadLoad`]: who reads in [`crate::ReceiveMode::Caller`], by traffic. The caller reads while traffic is
//! light (one thread wake-up per hop, the point of that mode). Heavy traffic — a stream of large messages,
//! a stream of many small ones (or of their delivery reports), a burst of many small datagrams, a flood —
//! is handed to the I/O thread, so that receiving and the protocol work run on a second core and the
//! caller's thread is left the delivery; the I/O thread then
//! queues its batches for the caller ([`crate::engine::Engine::ready`]). Reading comes back to the caller
//! once traffic has been light for a whole [`LIGHT_WINDOW`].
//!
//! The thresholds are far apart (8×), so that traffic between them stays where it is rather than
//! moving back and forth. Both are rates measured over short windows of what was read, whoever read it.

use std::time::{Duration, Instant};

use crate::receive::Traffic;

/// The caller hands reading over when one window of this length holds [`HEAVY_DATAGRAMS`] or
/// [`HEAVY_BYTES`].
pub(crate) const HEAVY_WINDOW: Duration = Duration::from_millis(10);
/// Datagrams per [`HEAVY_WINDOW`] that make traffic heavy: 100 000 a second.
pub(crate) const HEAVY_DATAGRAMS: u64 = 1000;
/// Bytes per [`HEAVY_WINDOW`] that make traffic heavy: 200 MiB a second.
pub(crate) const HEAVY_BYTES: u64 = 2 << 20;
/// Entries (messages, delivery reports) per [`HEAVY_WINDOW`] that make traffic heavy: 200 000 a second.
pub(crate) const HEAVY_ENTRIES: u64 = 2000;
/// The I/O thread hands reading back after a window of this length with less than an eighth of the heavy
/// rate.
pub(crate) const LIGHT_WINDOW: Duration = Duration::from_millis(50);
/// Datagrams per [`LIGHT_WINDOW`] below which traffic is light (12 500 a second).
pub(crate) const LIGHT_DATAGRAMS: u64 = HEAVY_DATAGRAMS * 5 / 8;
/// Bytes per [`LIGHT_WINDOW`] below which traffic is light (25 MiB a second).
pub(crate) const LIGHT_BYTES: u64 = HEAVY_BYTES * 5 / 8;
/// Entries per [`LIGHT_WINDOW`] below which traffic is light (25 000 a second).
pub(crate) const LIGHT_ENTRIES: u64 = HEAVY_ENTRIES * 5 / 8;

/// The traffic of the current window, and how often reading moved.
#[derive(Debug)]
pub(crate) struct ReadLoad {
    since: Instant,
    base: Traffic,
    /// Times reading moved from the caller to the I/O thread.
    pub(crate) to_io: u64,
    /// Times reading moved back to the caller.
    pub(crate) to_caller: u64,
}

impl ReadLoad {
    /// A window starting now.
    pub(crate) fn new(now: Instant) -> Self {
        ReadLoad { since: now, base: Traffic::default(), to_io: 0, to_caller: 0 }
    }

    /// After a caller's round that read from `before` to `after`: whether this window holds heavy traffic
    /// (a window that has ended starts again with this round).
    pub(crate) fn heavy(&mut self, now: Instant, before: Traffic, after: Traffic) -> bool {
        if now.saturating_duration_since(self.since) >= HEAVY_WINDOW {
            self.since = now;
            self.base = before;
        }
        after.datagrams - self.base.datagrams >= HEAVY_DATAGRAMS
            || after.bytes - self.base.bytes >= HEAVY_BYTES
            || after.entries - self.base.entries >= HEAVY_ENTRIES
    }

    /// On the I/O thread while it reads for the caller, with everything read so far: true once a whole
    /// [`LIGHT_WINDOW`] passed with light traffic; a window that passed with more starts again.
    pub(crate) fn light(&mut self, now: Instant, total: Traffic) -> bool {
        if now < self.window_end() {
            return false;
        }
        let light = total.datagrams - self.base.datagrams < LIGHT_DATAGRAMS
            && total.bytes - self.base.bytes < LIGHT_BYTES
            && total.entries - self.base.entries < LIGHT_ENTRIES;
        self.since = now;
        self.base = total;
        light
    }

    /// When the I/O thread's current window ends (it wakes then to look, see [`ReadLoad::light`]).
    pub(crate) fn window_end(&self) -> Instant {
        self.since + LIGHT_WINDOW
    }

    /// Reading moved (to the I/O thread when `to_io`): a new window starts now.
    pub(crate) fn moved(&mut self, now: Instant, total: Traffic, to_io: bool) {
        self.since = now;
        self.base = total;
        if to_io {
            self.to_io += 1;
        } else {
            self.to_caller += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(datagrams: u64, bytes: u64) -> Traffic {
        Traffic { datagrams, bytes, entries: 0 }
    }

    fn entries(entries: u64) -> Traffic {
        Traffic { entries, ..Traffic::default() }
    }

    #[test]
    fn many_small_messages_are_heavy_too() {
        let t0 = Instant::now();
        let mut load = ReadLoad::new(t0);
        assert!(!load.heavy(t0, entries(0), entries(HEAVY_ENTRIES - 1)));
        assert!(load.heavy(t0, entries(HEAVY_ENTRIES - 1), entries(HEAVY_ENTRIES)));
        load.moved(t0, entries(HEAVY_ENTRIES), true);
        assert!(!load.light(t0 + LIGHT_WINDOW, entries(HEAVY_ENTRIES + LIGHT_ENTRIES)));
        assert!(load.light(t0 + LIGHT_WINDOW * 2, entries(HEAVY_ENTRIES + LIGHT_ENTRIES + LIGHT_ENTRIES - 1)));
    }

    #[test]
    fn heavy_counts_within_one_window_only() {
        let t0 = Instant::now();
        let mut load = ReadLoad::new(t0);
        assert!(!load.heavy(t0, traffic(0, 0), traffic(HEAVY_DATAGRAMS - 1, 100)));
        assert!(load.heavy(t0 + Duration::from_millis(5), traffic(HEAVY_DATAGRAMS - 1, 100), traffic(HEAVY_DATAGRAMS, 200)));
        // A new window forgets the old one's datagrams: the same round is light there.
        let later = t0 + HEAVY_WINDOW * 2;
        assert!(!load.heavy(later, traffic(HEAVY_DATAGRAMS, 200), traffic(HEAVY_DATAGRAMS + 10, 300)));
        assert!(load.heavy(later, traffic(HEAVY_DATAGRAMS + 10, 300), traffic(HEAVY_DATAGRAMS + 10, 300 + HEAVY_BYTES)));
    }

    #[test]
    fn light_needs_a_whole_quiet_window() {
        let t0 = Instant::now();
        let mut load = ReadLoad::new(t0);
        load.moved(t0, traffic(5000, 0), true);
        assert_eq!(load.to_io, 1);
        assert!(!load.light(t0 + LIGHT_WINDOW / 2, traffic(5000, 0)), "the window has not ended");
        assert!(!load.light(t0 + LIGHT_WINDOW, traffic(5000 + LIGHT_DATAGRAMS, 0)), "busy window");
        let t1 = t0 + LIGHT_WINDOW;
        assert!(!load.light(t1 + LIGHT_WINDOW, traffic(5000 + LIGHT_DATAGRAMS, LIGHT_BYTES + 1)), "many bytes");
        assert!(load.light(t1 + LIGHT_WINDOW * 2, traffic(5000 + LIGHT_DATAGRAMS + 1, LIGHT_BYTES + 1)));
    }
}
