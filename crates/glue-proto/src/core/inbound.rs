//! Receiving: decode a datagram, check its header, dispatch each submessage.

use std::net::SocketAddr;
use std::time::Instant;

use super::Core;
use crate::discovery::Touch;
use crate::event::Payload;
use crate::seal::SealHeader;
use crate::wire::{
    Announce, Cookie, Data, DecodeError, Header, Heartbeat, Peers, RData, Reader, SubmessageIter,
    SubmessageKind, DATA_FLAG_BROADCAST,
};
use crate::{EndpointId, Event};

impl Core {
    /// Processes one received datagram from `from` (an IPv4-mapped address counts as the IPv4 one, see
    /// [`crate::address::normalize`]). A sealed one is copied first (to be opened in place): a runtime
    /// that owns its receive buffers calls [`Core::handle_datagram_in_place`] instead.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let from = crate::address::normalize(from);
        if !SealHeader::is_sealed(datagram) {
            return self.handle_plain(now, from, datagram);
        }
        let mut copy = std::mem::take(&mut self.scratch);
        copy.clear();
        copy.extend_from_slice(datagram);
        self.handle_datagram_in_place(now, from, &mut copy);
        self.scratch = copy;
    }

    /// Processes one received datagram from `from`, opening a sealed one in place (its bytes are overwritten).
    pub fn handle_datagram_in_place(&mut self, now: Instant, from: SocketAddr, datagram: &mut [u8]) {
        let from = crate::address::normalize(from);
        if SealHeader::is_sealed(datagram) {
            self.stats.datagrams_received += 1;
            self.stats.bytes_received += datagram.len() as u64;
            return self.handle_sealed(now, from, datagram);
        }
        self.handle_plain(now, from, datagram)
    }

    fn handle_plain(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        if self.seal.is_some() {
            // An endpoint with keys believes nothing unsealed; decided before anything else is looked at.
            return self.stats.dropped_unsealed += 1;
        }
        let mut reader = Reader::new(datagram);
        let header = match Header::decode(&mut reader) {
            Ok(h) => h,
            Err(DecodeError::UnsupportedVersion(_)) => return self.stats.dropped_version += 1,
            Err(_) => return self.stats.dropped_malformed += 1,
        };
        if self.admits(header.network_id, header.source) {
            self.process(now, from, header.source, reader, false);
        }
    }

    /// Whether a datagram with this network ID and source goes any further (counts it if not).
    pub(super) fn admits(&mut self, network_id: u32, source: EndpointId) -> bool {
        if network_id != self.config.network_id {
            self.stats.dropped_foreign_network += 1;
            return false;
        }
        if source == self.config.id {
            self.stats.own_datagrams_ignored += 1;
            return false;
        }
        !self.closed
    }

    /// Dispatches the submessages of an authentic (or, without keys, any well-formed) datagram from `source`.
    /// `proven`: the datagram answered a challenge of ours (its sender is live at `from`), as does one whose RESPONSE
    /// comes before its other submessages.
    pub(super) fn process(
        &mut self,
        now: Instant,
        from: SocketAddr,
        source: EndpointId,
        reader: Reader<'_>,
        mut proven: bool,
    ) {
        let mut accepted = match self.peers.touch(now, source) {
            None => None,
            Some(Touch::Accepted) => Some(true),
            Some(Touch::Rejected) => Some(false),
            Some(Touch::Promoted) => Some(self.promote(now, source)),
        };
        let mut exchanged = false;
        for sub in SubmessageIter::new(reader) {
            let Ok((sub, body)) = sub else {
                self.stats.dropped_malformed += 1;
                break;
            };
            let Some(kind) = SubmessageKind::from_u8(sub.kind) else {
                self.stats.dropped_unknown_kind += 1;
                continue;
            };
            exchanged |= kind as u8 >= SubmessageKind::Data as u8 && accepted == Some(true);
            let result = match kind {
                SubmessageKind::Announce => Announce::decode(body).map(|a| {
                    self.on_announce(now, from, source, &a, proven);
                    accepted = self.peers.state(source);
                }),
                SubmessageKind::Bye => {
                    self.on_bye(now, source);
                    accepted = None;
                    Ok(())
                }
                SubmessageKind::Challenge | SubmessageKind::Response if self.seal.is_none() => {
                    // Only meaningful in sealed datagrams.
                    self.stats.dropped_unknown_kind += 1;
                    Ok(())
                }
                SubmessageKind::Challenge => {
                    Cookie::decode(body).map(|c| self.answer_challenge(now, from, source, c))
                }
                SubmessageKind::Response => Cookie::decode(body).map(|c| {
                    // A verified sender's answer proves it is live at `from` (see `secure.rs`); used up if expected.
                    proven |= self.take_response(now, source, c);
                }),
                _ if accepted != Some(true) => {
                    // Everything else needs an accepted peer.
                    match accepted {
                        Some(false) => self.stats.dropped_rejected += 1,
                        _ => self.stats.dropped_unknown_peer += 1,
                    }
                    Ok(())
                }
                SubmessageKind::Data => Data::decode(body)
                    .map(|d| self.deliver(source, sub.flags & DATA_FLAG_BROADCAST != 0, d.payload)),
                SubmessageKind::RData => {
                    RData::decode(sub.flags, body).map(|d| self.on_rdata(now, source, sub.flags, &d))
                }
                SubmessageKind::Heartbeat => {
                    Heartbeat::decode(body).map(|h| self.on_heartbeat(now, source, sub.flags, &h))
                }
                SubmessageKind::Ack => self.on_ack(now, source, sub.flags, body),
                SubmessageKind::Peers => Peers::decode(body).map(|p| self.on_peers(now, &p)),
            };
            if result.is_err() {
                self.stats.dropped_malformed += 1;
                break;
            }
        }
        if exchanged {
            self.peers.mark_exchanged(source);
        }
    }

    fn deliver(&mut self, from: EndpointId, broadcast: bool, payload: &[u8]) {
        let start = self.inbox.len();
        self.inbox.extend_from_slice(payload);
        self.stats.messages_received += 1;
        let payload = Payload::Inbox(start..self.inbox.len());
        self.events.push_back(Event::Message { from, broadcast, reliable: false, payload });
    }
}
