//! The receiving side of sealing: finds the key, authenticates and decrypts, rejects replays, and keeps the state of
//! the boot handshake. Bounded: nothing is kept for a datagram that fails, and the tables of verified senders and
//! pending challenges have fixed capacities.
//!
//! A sender's start (boot) is *verified* once it answered a fresh challenge: only then are its datagrams processed
//! (and its replay window created). So datagrams recorded from an earlier run of an endpoint, which authenticate
//! under that run's key, are never taken for current ones: the challenge they provoke is answered by the current run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ring::aead::{Aad, LessSafeKey, Nonce};

use super::header::COUNTER_MULTICAST;
use super::keys::sender_cipher;
use super::{NetworkKey, ReplayWindow, SealHeader, Suite, SEALED_HEADER_LEN};
use crate::EndpointId;

/// A challenge is answered within this long, or forgotten.
pub(crate) const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(2);
/// A sender is challenged at most this often (its datagrams meanwhile are dropped as unverified).
pub(crate) const CHALLENGE_INTERVAL: Duration = Duration::from_millis(50);
/// The challenges of one endpoint are answered at most this often.
pub(crate) const ANSWER_INTERVAL: Duration = Duration::from_millis(20);
/// Pending challenges and recent answers kept at most (the oldest is forgotten first).
const HANDSHAKE_TABLE: usize = 256;

/// Why a sealed datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Sealed with a key this endpoint does not have.
    UnknownKey,
    /// The tag did not verify: forged, corrupted, or sealed for another network or sender.
    Unauthenticated,
    /// A counter already seen, or older than the replay window.
    Replay,
}

struct SenderState {
    boot: u64,
    /// AEAD keys by (key ID, suite), derived on first use.
    ciphers: Vec<(u32, Suite, LessSafeKey)>,
    /// Replay windows: [unicast, multicast].
    windows: [ReplayWindow; 2],
    /// For eviction: the opener's tick when last used.
    used: u64,
}

/// See the module docs.
pub(crate) struct Opener {
    network_id: u32,
    keys: Vec<NetworkKey>,
    senders: HashMap<EndpointId, SenderState>,
    max_senders: usize,
    /// Outstanding challenges: cookie, when issued, when last sent.
    pending: HashMap<EndpointId, (u64, Instant, Instant)>,
    answered: HashMap<EndpointId, Instant>,
    tick: u64,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Opener({} keys, {} verified senders, {} pending)",
            self.keys.len(),
            self.senders.len(),
            self.pending.len()
        )
    }
}

/// Removes the oldest entry of a table once it holds `HANDSHAKE_TABLE`.
fn make_room<V>(table: &mut HashMap<EndpointId, V>, at: impl Fn(&V) -> Instant) {
    if table.len() < HANDSHAKE_TABLE {
        return;
    }
    if let Some(oldest) = table.iter().min_by_key(|(_, v)| at(v)).map(|(k, _)| *k) {
        table.remove(&oldest);
    }
}

impl Opener {
    /// An opener for `keys`, keeping at most `max_senders` verified senders (the least recently heard is forgotten
    /// first; it is challenged again when heard next).
    pub(crate) fn new(network_id: u32, keys: Vec<NetworkKey>, max_senders: usize) -> Opener {
        Opener {
            network_id,
            keys,
            senders: HashMap::new(),
            max_senders: max_senders.max(1),
            pending: HashMap::new(),
            answered: HashMap::new(),
            tick: 0,
        }
    }

    /// Accepts these keys from now on; cached sender keys of keys no longer accepted are dropped.
    pub(crate) fn set_keys(&mut self, keys: Vec<NetworkKey>) {
        for state in self.senders.values_mut() {
            state.ciphers.retain(|(id, _, _)| keys.iter().any(|k| k.id() == *id));
        }
        self.keys = keys;
    }

    /// Verified senders known (for tests and stats).
    pub(crate) fn verified(&self) -> usize {
        self.senders.len()
    }

    /// Authenticates and decrypts `datagram` (whose header is `h`) in place; returns where its submessages now are, and
    /// true when it came from a verified sender (counter accepted), false when it is authentic but the sender's boot
    /// is not verified yet (the caller runs the handshake). Nothing is kept for a datagram that fails (its bytes are
    /// then unspecified).
    pub(crate) fn open(
        &mut self,
        h: &SealHeader,
        datagram: &mut [u8],
    ) -> Result<(bool, std::ops::Range<usize>), OpenError> {
        let key = self.keys.iter().find(|k| k.id() == h.key_id).ok_or(OpenError::UnknownKey)?;
        let path = h.multicast() as usize;
        let counter = h.counter & !COUNTER_MULTICAST;
        self.tick += 1;
        let (network_id, tick) = (self.network_id, self.tick);
        let state = self.senders.get_mut(&h.source).filter(|s| s.boot == h.boot_id);
        let temporary;
        let cipher = match state {
            Some(state) => {
                if !state.windows[path].check(counter) {
                    return Err(OpenError::Replay);
                }
                let i = match state
                    .ciphers
                    .iter()
                    .position(|(id, suite, _)| *id == h.key_id && *suite == h.suite)
                {
                    Some(i) => i,
                    None => {
                        let c = sender_cipher(key, h.suite, network_id, h.source, h.boot_id);
                        state.ciphers.push((h.key_id, h.suite, c));
                        state.ciphers.len() - 1
                    }
                };
                &state.ciphers[i].2
            }
            None => {
                temporary = sender_cipher(key, h.suite, network_id, h.source, h.boot_id);
                &temporary
            }
        };
        let (head, body) = datagram.split_at_mut(SEALED_HEADER_LEN);
        let plain_len = cipher
            .open_in_place(Nonce::assume_unique_for_key(h.nonce()), Aad::from(&*head), body)
            .map_err(|_| OpenError::Unauthenticated)?
            .len();
        let plain = SEALED_HEADER_LEN..SEALED_HEADER_LEN + plain_len;
        match self.senders.get_mut(&h.source).filter(|s| s.boot == h.boot_id) {
            Some(state) => {
                state.used = tick;
                // Checked before decrypting; accepted only now that it proved authentic.
                state.windows[path].accept(counter);
                Ok((true, plain))
            }
            None => Ok((false, plain)),
        }
    }

    /// Marks this start of `source` verified (it answered a fresh challenge in the datagram whose header is `h`):
    /// from now on its datagrams with later counters are processed. Replaces the state of an earlier start.
    pub(crate) fn verify(&mut self, h: &SealHeader) {
        if !self.senders.contains_key(&h.source) && self.senders.len() >= self.max_senders {
            if let Some(lru) = self.senders.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| *k) {
                self.senders.remove(&lru);
            }
        }
        let counter = h.counter & !COUNTER_MULTICAST;
        let state = SenderState {
            boot: h.boot_id,
            ciphers: Vec::new(),
            windows: [ReplayWindow::after(counter), ReplayWindow::after(counter)],
            used: self.tick,
        };
        self.senders.insert(h.source, state);
    }

    /// The cookie to challenge `source` with now, if a challenge is due (at most every 50 ms): the outstanding one
    /// while it is valid (so that a slow answer still counts), else a new one from `fresh`.
    pub(crate) fn challenge(
        &mut self,
        now: Instant,
        source: EndpointId,
        fresh: impl FnOnce() -> u64,
    ) -> Option<u64> {
        let since = |at: Instant| now.saturating_duration_since(at);
        let cookie = match self.pending.get(&source) {
            Some((_, _, sent)) if since(*sent) < CHALLENGE_INTERVAL => return None,
            Some((cookie, issued, _)) if since(*issued) < CHALLENGE_TIMEOUT => {
                let (cookie, issued) = (*cookie, *issued);
                self.pending.insert(source, (cookie, issued, now));
                return Some(cookie);
            }
            Some(_) => fresh(),
            None => {
                make_room(&mut self.pending, |(_, issued, _)| *issued);
                fresh()
            }
        };
        self.pending.insert(source, (cookie, now, now));
        Some(cookie)
    }

    /// Whether `cookie` answers the challenge outstanding for `source` (used up if so).
    pub(crate) fn take_response(&mut self, now: Instant, source: EndpointId, cookie: u64) -> bool {
        match self.pending.get(&source) {
            Some((c, issued, _))
                if *c == cookie && now.saturating_duration_since(*issued) < CHALLENGE_TIMEOUT =>
            {
                self.pending.remove(&source);
                true
            }
            _ => false,
        }
    }

    /// Whether a challenge from `source` may be answered now (rate limit; records the answer if so).
    pub(crate) fn may_answer(&mut self, now: Instant, source: EndpointId) -> bool {
        if self.answered.get(&source).is_some_and(|at| now.saturating_duration_since(*at) < ANSWER_INTERVAL) {
            return false;
        }
        if !self.answered.contains_key(&source) {
            make_room(&mut self.answered, |at| *at);
        }
        self.answered.insert(source, now);
        true
    }
}
