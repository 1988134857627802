//! Sealed datagrams in the core: opening them, the boot handshake (CHALLENGE / RESPONSE), and key rotation.

use std::net::SocketAddr;
use std::time::Instant;

use super::Core;
use crate::config::{check_keys, ConfigError};
use crate::seal::{NetworkKey, OpenError, SealHeader};
use crate::wire::{Cookie, DecodeError, Reader, SubmessageIter, SubmessageKind};
use crate::EndpointId;

impl Core {
    /// A sealed datagram: dropped (and counted by cause) unless it authenticates; processed when its sender's start
    /// is verified, else it starts (or answers) the boot handshake.
    pub(super) fn handle_sealed(&mut self, now: Instant, from: SocketAddr, datagram: &mut [u8]) {
        let header = match SealHeader::decode(datagram) {
            Ok(h) => h,
            Err(DecodeError::UnsupportedVersion(_)) => return self.stats.dropped_version += 1,
            Err(_) => return self.stats.dropped_malformed += 1,
        };
        if !self.admits(header.network_id, header.source) {
            return;
        }
        let Some(seal) = self.seal.as_mut() else { return self.stats.dropped_no_key += 1 };
        match seal.opener.open(&header, datagram) {
            Err(OpenError::UnknownKey) => self.stats.dropped_unknown_key += 1,
            Err(OpenError::Unauthenticated) => self.stats.dropped_unauthenticated += 1,
            Err(OpenError::Replay) => self.stats.dropped_replay += 1,
            Ok((true, plain)) => self.process(now, from, header.source, Reader::new(&datagram[plain]), false),
            Ok((false, plain)) => self.handshake(now, from, &header, &datagram[plain]),
        }
    }

    /// An authentic datagram from a start of its sender not verified yet: answers its CHALLENGE, and if it carries
    /// the RESPONSE to ours, verifies the start and processes the datagram; else challenges the sender.
    fn handshake(&mut self, now: Instant, from: SocketAddr, header: &SealHeader, plain: &[u8]) {
        let source = header.source;
        let (mut challenge, mut answered) = (None, false);
        for sub in SubmessageIter::new(Reader::new(plain)) {
            let Ok((sub, body)) = sub else { break };
            match SubmessageKind::from_u8(sub.kind) {
                Some(SubmessageKind::Challenge) => challenge = challenge.or(Cookie::decode(body).ok()),
                Some(SubmessageKind::Response) => {
                    answered |= Cookie::decode(body).is_ok_and(|c| self.take_response(now, source, c))
                }
                _ => {}
            }
        }
        if let Some(cookie) = challenge {
            self.answer_challenge(now, from, source, cookie);
        }
        if !answered {
            self.stats.dropped_unverified += 1;
            return self.challenge(now, from, source);
        }
        let seal = self.seal.as_mut().expect("sealed");
        seal.opener.verify(header);
        self.stats.senders_verified += 1;
        // Its CHALLENGE is answered already (rate limit) and its RESPONSE used up: the rest is processed as usual.
        self.process(now, from, source, Reader::new(plain), true);
    }

    /// Challenges `source` at `to`: the outstanding cookie again, or a new one (at most every 50 ms per sender, and
    /// within the endpoint's budget of unsolicited answers).
    pub(super) fn challenge(&mut self, now: Instant, to: SocketAddr, source: EndpointId) {
        let seal = self.seal.as_mut().expect("sealed");
        if let Some(cookie) = seal.opener.challenge(now, source, crate::seal::keys::random_u64) {
            if !self.replies.take(now) {
                return;
            }
            let kind = SubmessageKind::Challenge as u8;
            self.outbox.push(to, kind, 0, Cookie::LEN, |o| Cookie(cookie).encode(o));
            self.stats.challenges_sent += 1;
        }
    }

    /// Answers a challenge (at most every 20 ms per challenger) with the cookie and this endpoint's announcement.
    pub(super) fn answer_challenge(
        &mut self,
        now: Instant,
        to: SocketAddr,
        source: EndpointId,
        cookie: Cookie,
    ) {
        let Some(seal) = self.seal.as_mut() else { return };
        if !seal.opener.may_answer(now, source) || !self.replies.take(now) {
            return;
        }
        self.outbox.push(to, SubmessageKind::Response as u8, 0, Cookie::LEN, |o| cookie.encode(o));
        self.stats.responses_sent += 1;
        let flags = self.unicast_flags_for(to);
        self.queue_announce(to, flags);
    }

    /// Whether `cookie` answers this endpoint's outstanding challenge to `source` (used up if so).
    pub(super) fn take_response(&mut self, now: Instant, source: EndpointId, cookie: Cookie) -> bool {
        self.seal.as_mut().is_some_and(|s| s.opener.take_response(now, source, cookie.0))
    }

    /// Replaces the network keys of a running core: the first seals from now on, all are accepted. Fails (changing
    /// nothing) for an empty list, repeated keys, or a core opened without keys (its datagram layout has no room for
    /// sealing).
    pub fn set_network_keys(&mut self, keys: Vec<NetworkKey>) -> Result<(), ConfigError> {
        check_keys(&keys)?;
        let Some(seal) = self.seal.as_mut() else {
            return Err(ConfigError {
                field: "network_keys",
                value: format!("{} keys", keys.len()),
                reason: "an endpoint opened without a network key cannot be given one later",
            });
        };
        seal.sealer.set_key(&keys[0]);
        seal.opener.set_keys(keys);
        Ok(())
    }

    /// Sender starts currently verified (sealing only; 0 without keys).
    pub fn verified_senders(&self) -> usize {
        self.seal.as_ref().map_or(0, |s| s.opener.verified())
    }
}
