//! Round-trip time estimation and the retransmission timeout (RFC 6298), with exponential backoff.

use std::time::Duration;

/// Smallest retransmission timeout: well above the scheduling jitter of a busy machine (a shorter one fired
/// spuriously on a loaded 2-core host); gaps reported by ACKs are repaired much sooner than this anyway.
pub const MIN_RTO: Duration = Duration::from_millis(20);
/// Largest retransmission timeout (also the cap of the backoff).
pub const MAX_RTO: Duration = Duration::from_secs(2);
/// Retransmission timeout before the first sample.
pub const INITIAL_RTO: Duration = Duration::from_millis(100);

/// Smoothed RTT, its variation, and the RTO derived from them.
#[derive(Debug, Clone, Default)]
pub struct Rtt {
    srtt: Option<Duration>,
    rttvar: Duration,
}

impl Rtt {
    /// Feeds one measured round trip (already net of the receiver's ACK delay).
    pub fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
    }

    /// The smoothed RTT (the initial RTO's half before any sample).
    pub fn srtt(&self) -> Duration {
        self.srtt.unwrap_or(INITIAL_RTO / 2)
    }

    /// The smoothed RTT and its variation, once at least one round trip was measured (for statistics).
    pub fn measured(&self) -> Option<(Duration, Duration)> {
        self.srtt.map(|srtt| (srtt, self.rttvar))
    }

    /// How long a fragment may stay unacknowledged, while later ones are acknowledged, before it is
    /// considered lost rather than reordered: the smoothed RTT plus twice its variation (≥ 200 µs).
    pub fn loss_delay(&self) -> Duration {
        (self.srtt() + self.rttvar * 2).max(Duration::from_micros(200))
    }

    /// The retransmission timeout after `backoff` consecutive expiries without progress.
    pub fn rto(&self, backoff: u32) -> Duration {
        let base = match self.srtt {
            None => INITIAL_RTO,
            Some(srtt) => (srtt + (self.rttvar * 4).max(Duration::from_millis(1))).max(MIN_RTO),
        };
        base.saturating_mul(1 << backoff.min(10)).min(MAX_RTO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_and_backs_off() {
        let mut r = Rtt::default();
        assert_eq!(r.rto(0), INITIAL_RTO);
        assert_eq!(r.measured(), None);
        for _ in 0..50 {
            r.sample(Duration::from_micros(200));
        }
        assert!(r.srtt() < Duration::from_micros(250));
        let (srtt, var) = r.measured().expect("sampled");
        assert_eq!(srtt, r.srtt());
        assert!(var < Duration::from_micros(100));
        assert_eq!(r.rto(0), MIN_RTO);
        assert_eq!(r.rto(1), MIN_RTO * 2);
        assert_eq!(r.rto(30), MAX_RTO);
    }
}
