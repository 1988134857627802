//! Discovery in the core: announcements in and out, peers added, changed, removed and rejected.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::Core;
use crate::discovery::{AnnounceSchedule, Observation};
use crate::wire::{Announce, SubmessageKind, ANNOUNCE_FLAG_UNICAST};
use crate::{DownReason, EndpointId, Event, NameClashRule, PeerInfo, SendError};

impl Core {
    pub(super) fn on_announce(
        &mut self,
        now: Instant,
        from: SocketAddr,
        source: EndpointId,
        a: &Announce<'_>,
        proven: bool,
    ) {
        self.stats.announcements_received += 1;
        let mut address = crate::address::with_port(from, a.unicast_port);
        if self.seal.is_some() && !proven {
            // The source address is not sealed: a recorded announcement sent again from elsewhere must not move a
            // peer. A sealed peer moves once it answered a challenge at its new address.
            let known =
                self.peers.entry_address(source).filter(|(_, incarnation)| *incarnation == a.incarnation);
            if let Some((old, _)) = known.filter(|(old, _)| *old != address) {
                self.challenge(now, from, source);
                address = old;
            }
        }
        let info = PeerInfo {
            id: source,
            name: a.name.to_owned(),
            address,
            // Counted as at most a minute (a longer one would let one announcement hold a slot for long).
            announce_period: Duration::from_millis(a.period_ms as u64)
                .min(crate::discovery::MAX_ANNOUNCE_PERIOD),
            incarnation: a.incarnation,
            extensions: a.extensions.to_vec(),
        };
        let unicast = a.flags & ANNOUNCE_FLAG_UNICAST != 0;
        match self.peers.observe(now, &info) {
            Observation::Refreshed => {}
            Observation::Changed => {
                self.readdress(now, &info);
                self.events.push_back(Event::PeerChanged(info));
            }
            Observation::Restarted(old) => {
                if let Some(old) = old {
                    self.forget_peer(now, old.id);
                    self.events.push_back(Event::PeerDown { peer: old, reason: DownReason::Restarted });
                }
                self.add_peer(now, info, unicast);
            }
            Observation::New => self.add_peer(now, info, unicast),
        }
        if unicast {
            self.on_unicast_announce(now, source);
        }
    }

    /// A newcomer: on probation until a second datagram from it arrives (see [`Core::promote`]); answered at once,
    /// so that it need not wait for our next periodic announcement (and its answer ends its probation).
    /// `unicast`: its announcement came by unicast (the answer goes by unicast too, and says so).
    fn add_peer(&mut self, now: Instant, info: PeerInfo, unicast: bool) {
        if self.peers.is_full() {
            let Some(evicted) = self.peers.evict(now) else {
                self.stats.dropped_peer_table_full += 1;
                return;
            };
            self.stats.peers_evicted += 1;
            if let Some(evicted) = evicted {
                self.forget_peer(now, evicted.id);
                self.events.push_back(Event::PeerDown { peer: evicted, reason: DownReason::Evicted });
            }
        }
        let address = info.address;
        self.peers.insert(now, info);
        if self.replies.take(now) {
            let flags = if unicast || !self.config.multicast { ANNOUNCE_FLAG_UNICAST } else { 0 };
            self.queue_announce(address, flags);
        }
    }

    /// A newcomer's second datagram arrived: it is admitted (reported up, or rejected by the name-clash rule) and
    /// told where its stream of our reliable multicast channel starts. Returns whether it was accepted.
    pub(super) fn promote(&mut self, now: Instant, id: EndpointId) -> bool {
        let Some(info) = self.peers.get_entry_info(id) else { return false };
        let existing = if info.name == self.config.name {
            Some(self.config.id)
        } else {
            self.peers.holder_of(&info.name)
        };
        let rejected = existing.is_some() && self.config.name_clash == NameClashRule::Reject;
        let Some(info) = self.peers.admit(id, rejected) else { return false };
        if let Some(existing) = existing {
            self.events.push_back(Event::NameClash { newcomer: info.clone(), existing, rejected });
        }
        if !rejected {
            let address = info.address;
            self.events.push_back(Event::PeerUp(info));
            self.add_multicast_receiver(now, id, address);
        }
        !rejected
    }

    pub(super) fn on_bye(&mut self, now: Instant, source: EndpointId) {
        if let Some(peer) = self.peers.remove(source) {
            self.forget_peer(now, source);
            self.events.push_back(Event::PeerDown { peer, reason: DownReason::Left });
        }
    }

    /// Queues this endpoint's announcement to `dest` with announcement `flags` (`ANNOUNCE_FLAG_UNICAST` or 0).
    pub(super) fn queue_announce(&mut self, dest: SocketAddr, flags: u8) {
        let c = &self.config;
        let announce = Announce {
            unicast_port: c.unicast_port,
            flags,
            period_ms: c.announce_period.as_millis() as u32,
            incarnation: c.incarnation,
            name: &c.name,
            extensions: &self.announce_extensions,
        };
        let len = 12 + c.name.len() + self.announce_extensions.len();
        self.outbox.push(dest, SubmessageKind::Announce as u8, 0, len, |out| announce.encode(out));
        self.stats.announcements_sent += 1;
    }

    /// Sets (or, with an empty `value`, removes) the announcement extension of type `kind`: every later
    /// announcement carries it, and a new start burst (at once, then 20, 40, 80, 160 ms) spreads the change
    /// fast; peers report it as [`Event::PeerChanged`]. Fails with [`SendError::TooLarge`] when the
    /// announcement would no longer fit into one datagram (nothing changes then).
    pub fn set_announce_extension(&mut self, now: Instant, kind: u8, value: &[u8]) -> Result<(), SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        let max = self.outbox.max_body();
        if value.len() > u16::MAX as usize {
            return Err(SendError::TooLarge { size: value.len(), max });
        }
        let mut area = self.announce_extensions.clone();
        crate::wire::set_extension_record(&mut area, kind, value);
        let size = 12 + self.config.name.len() + area.len();
        if size > max {
            return Err(SendError::TooLarge { size, max });
        }
        if area != self.announce_extensions {
            self.announce_extensions = area;
            self.schedule = AnnounceSchedule::new(now, self.config.announce_period);
        }
        Ok(())
    }

    /// The announcement extension area this endpoint sends (type-length-value records).
    pub fn announce_extensions(&self) -> &[u8] {
        &self.announce_extensions
    }

    /// Stops treating this peer as accepted (the application's accept filter said no): its traffic is
    /// dropped and counted until it expires, and nothing waits for it. No event is emitted.
    pub fn reject_peer(&mut self, now: Instant, id: EndpointId) {
        if self.peers.reject(id).is_some() {
            self.forget_peer(now, id);
        }
    }
}
