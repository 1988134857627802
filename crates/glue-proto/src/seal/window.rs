//! The replay window: which counters of one sender were accepted, as a bitmap sliding with the highest one
//! (RFC 6479, as IPsec and WireGuard keep it). Fixed size; nothing is allocated per datagram.

/// 64-bit words of the bitmap.
const WORDS: usize = 64;
/// Counters this far below the highest accepted one are still accepted once (reordering); older ones are not.
pub const WINDOW: u64 = (WORDS as u64 - 1) * 64;

/// Accepted counters of one sender path; see the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    top: u64,
    bits: [u64; WORDS],
}

impl std::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplayWindow(top {})", self.top)
    }
}

impl ReplayWindow {
    /// A window in which every counter up to and including `counter` counts as seen: only later ones are accepted.
    pub fn after(counter: u64) -> ReplayWindow {
        let mut bits = [u64::MAX; WORDS];
        let (word, bit) = Self::slot(counter);
        bits[word] = bit | (bit - 1); // this block: the bits above `counter` are not seen yet
        ReplayWindow { top: counter, bits }
    }

    /// The highest counter accepted so far.
    pub fn top(&self) -> u64 {
        self.top
    }

    fn slot(counter: u64) -> (usize, u64) {
        (((counter / 64) % WORDS as u64) as usize, 1 << (counter % 64))
    }

    /// Whether `counter` would be accepted (neither seen nor too old). Changes nothing.
    pub fn check(&self, counter: u64) -> bool {
        if counter > self.top {
            return true;
        }
        if self.top - counter >= WINDOW {
            return false;
        }
        let (word, bit) = Self::slot(counter);
        self.bits[word] & bit == 0
    }

    /// Accepts `counter` if it is neither seen nor too old, and records it; false for a replay.
    pub fn accept(&mut self, counter: u64) -> bool {
        if !self.check(counter) {
            return false;
        }
        if counter > self.top {
            let (from, to) = (self.top / 64, counter / 64);
            for block in (from + 1)..=to.min(from + WORDS as u64) {
                self.bits[(block % WORDS as u64) as usize] = 0;
            }
            self.top = counter;
        }
        let (word, bit) = Self::slot(counter);
        self.bits[word] |= bit;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_counter_once_in_any_order_within_the_window() {
        let mut w = ReplayWindow::after(10);
        assert!(!w.accept(10) && !w.accept(3));
        assert!(w.accept(12) && w.accept(11) && !w.accept(11) && !w.accept(12));
        assert!(w.accept(5000) && w.accept(5000 - WINDOW + 1));
        assert!(!w.accept(5000 - WINDOW), "too old");
        assert!(w.accept(1_000_000) && !w.check(5000) && w.check(1_000_000 - 1));
    }

    #[test]
    fn matches_a_set_model_on_random_sequences() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut w = ReplayWindow::after(0);
        let mut seen = std::collections::BTreeSet::new();
        let mut top = 0u64;
        for _ in 0..200_000 {
            let c = (top + 200).saturating_sub(next() % 9000).max(1);
            let model = !seen.contains(&c) && (c > top || top - c < WINDOW);
            assert_eq!(w.accept(c), model, "counter {c}, top {top}");
            if model {
                seen.insert(c);
                top = top.max(c);
            }
        }
    }
}
