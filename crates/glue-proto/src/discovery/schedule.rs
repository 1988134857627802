//! When to announce: a short burst at start so the first peer is found at once, then every period.

use std::time::{Duration, Instant};

/// Gap before the second announcement of the start burst; it doubles each time until it reaches the period.
pub const BURST_FIRST_GAP: Duration = Duration::from_millis(20);
/// How many announcements the start burst has (after the first one, sent at once).
pub const BURST_LEN: u32 = 4;

/// The announce timer of one endpoint.
#[derive(Debug, Clone)]
pub struct AnnounceSchedule {
    period: Duration,
    next: Instant,
    burst_sent: u32,
}

impl AnnounceSchedule {
    /// First announcement due at `now`.
    pub fn new(now: Instant, period: Duration) -> Self {
        AnnounceSchedule { period, next: now, burst_sent: 0 }
    }

    /// When the next announcement is due.
    pub fn next(&self) -> Instant {
        self.next
    }

    /// Whether an announcement is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// Records that an announcement went out at `now`; `jitter` in 0..1 shortens a regular period by up
    /// to 10 % so that endpoints started together do not stay in lockstep.
    pub fn sent(&mut self, now: Instant, jitter: f64) {
        let gap = if self.burst_sent < BURST_LEN {
            let gap = BURST_FIRST_GAP * 2u32.pow(self.burst_sent);
            self.burst_sent += 1;
            gap.min(self.period)
        } else {
            self.period.mul_f64(1.0 - 0.1 * jitter.clamp(0.0, 1.0))
        };
        self.next = now + gap;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_settles_on_the_period() {
        let t0 = Instant::now();
        let mut s = AnnounceSchedule::new(t0, Duration::from_secs(1));
        assert!(s.is_due(t0));
        let mut now = t0;
        let mut gaps = vec![];
        for _ in 0..6 {
            s.sent(now, 0.0);
            gaps.push((s.next() - now).as_millis());
            now = s.next();
        }
        assert_eq!(gaps, vec![20, 40, 80, 160, 1000, 1000]);
    }

    #[test]
    fn burst_never_exceeds_a_short_period() {
        let t0 = Instant::now();
        let mut s = AnnounceSchedule::new(t0, Duration::from_millis(30));
        s.sent(t0, 0.0);
        s.sent(t0, 0.0);
        assert_eq!(s.next() - t0, Duration::from_millis(30));
    }
}
