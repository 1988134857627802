//! The peer table: who is out there, since when, until when; the name index; bounded size.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{EndpointId, PeerInfo};

#[derive(Debug)]
struct Entry {
    info: PeerInfo,
    expires_at: Instant,
    rejected: bool,
}

/// What an announcement meant for the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Not known before; now in the table (not yet accepted or rejected: see [`PeerTable::insert`]).
    New,
    /// Known; nothing changed but its lease.
    Refreshed,
    /// Known; its name, address, period or extensions changed (the table has the new values).
    Changed,
    /// Known under another incarnation: it restarted. The table entry was removed; insert it again.
    Restarted(PeerInfo),
    /// Known and rejected: only its lease was refreshed.
    Rejected,
}

/// All peers heard from, accepted or rejected, with their expiry deadlines and a name index.
#[derive(Debug)]
pub struct PeerTable {
    peers: HashMap<EndpointId, Entry>,
    /// name -> the first accepted holder of the name.
    names: HashMap<String, EndpointId>,
    max_peers: usize,
    multiplier: f64,
    /// No peer expires before this instant (a lower bound; recomputed by `expire`).
    next_expiry: Option<Instant>,
}

impl PeerTable {
    /// An empty table holding at most `max_peers` entries; a peer expires after its period × `multiplier`.
    pub fn new(max_peers: usize, multiplier: f64) -> Self {
        PeerTable { peers: HashMap::new(), names: HashMap::new(), max_peers, multiplier, next_expiry: None }
    }

    /// Number of entries, accepted and rejected.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Whether a new entry would fit.
    pub fn is_full(&self) -> bool {
        self.peers.len() >= self.max_peers
    }

    fn lease(&self, period: Duration) -> Duration {
        period.mul_f64(self.multiplier)
    }

    fn note_deadline(&mut self, at: Instant) {
        self.next_expiry = Some(self.next_expiry.map_or(at, |n| n.min(at)));
    }

    /// Compares an announcement with the table and refreshes the lease of a known peer.
    pub fn observe(&mut self, now: Instant, info: &PeerInfo) -> Observation {
        let lease = self.lease(info.announce_period);
        let Some(entry) = self.peers.get_mut(&info.id) else { return Observation::New };
        if entry.info.incarnation != info.incarnation {
            let old = self.remove(info.id).expect("present");
            return Observation::Restarted(old);
        }
        entry.expires_at = now + lease;
        if entry.rejected {
            return Observation::Rejected;
        }
        if entry.info == *info {
            return Observation::Refreshed;
        }
        let old_name = std::mem::replace(&mut entry.info, info.clone()).name;
        if old_name != info.name {
            self.release_name(&old_name, info.id);
            self.names.entry(info.name.clone()).or_insert(info.id);
        }
        Observation::Changed
    }

    /// Adds a peer (the caller checked [`PeerTable::is_full`]); a rejected one is tracked only so that its
    /// traffic can be dropped until it expires.
    pub fn insert(&mut self, now: Instant, info: PeerInfo, rejected: bool) {
        let expires_at = now + self.lease(info.announce_period);
        if !rejected {
            self.names.entry(info.name.clone()).or_insert(info.id);
        }
        self.note_deadline(expires_at);
        self.peers.insert(info.id, Entry { info, expires_at, rejected });
    }

    /// Extends the lease of a known peer on any traffic; returns whether it is known and accepted,
    /// `None` when unknown.
    pub fn touch(&mut self, now: Instant, id: EndpointId) -> Option<bool> {
        let multiplier = self.multiplier;
        let entry = self.peers.get_mut(&id)?;
        entry.expires_at = entry.expires_at.max(now + entry.info.announce_period.mul_f64(multiplier));
        Some(!entry.rejected)
    }

    /// An accepted peer by ID.
    pub fn get(&self, id: EndpointId) -> Option<&PeerInfo> {
        self.peers.get(&id).filter(|e| !e.rejected).map(|e| &e.info)
    }

    /// The accepted peer that holds `name` (the first one that announced it).
    pub fn holder_of(&self, name: &str) -> Option<EndpointId> {
        self.names.get(name).copied()
    }

    /// Marks a peer rejected; returns its info if it was accepted before.
    pub fn reject(&mut self, id: EndpointId) -> Option<PeerInfo> {
        let entry = self.peers.get_mut(&id)?;
        if entry.rejected {
            return None;
        }
        entry.rejected = true;
        let info = entry.info.clone();
        self.release_name(&info.name, id);
        Some(info)
    }

    /// Removes a peer; returns its info if it was accepted.
    pub fn remove(&mut self, id: EndpointId) -> Option<PeerInfo> {
        let entry = self.peers.remove(&id)?;
        if entry.rejected {
            return None;
        }
        self.release_name(&entry.info.name, id);
        Some(entry.info)
    }

    /// If `id` held `name`, hands the name to another accepted peer of that name, if any.
    fn release_name(&mut self, name: &str, id: EndpointId) {
        if self.names.get(name) != Some(&id) {
            return;
        }
        self.names.remove(name);
        let heir = self
            .peers
            .values()
            .filter(|e| !e.rejected && e.info.name == name && e.info.id != id)
            .min_by_key(|e| e.info.id)
            .map(|e| e.info.id);
        if let Some(heir) = heir {
            self.names.insert(name.to_owned(), heir);
        }
    }

    /// Removes every peer whose lease ran out by `now`; calls `on_expired` for each accepted one.
    pub fn expire(&mut self, now: Instant, mut on_expired: impl FnMut(PeerInfo)) {
        if self.next_expiry.is_none_or(|n| now < n) {
            return;
        }
        let gone: Vec<EndpointId> =
            self.peers.iter().filter(|(_, e)| e.expires_at <= now).map(|(id, _)| *id).collect();
        for id in gone {
            if let Some(info) = self.remove(id) {
                on_expired(info);
            }
        }
        self.next_expiry = self.peers.values().map(|e| e.expires_at).min();
    }

    /// Restarts every peer's lease at `now` (never shortening one).
    pub fn extend_all(&mut self, now: Instant) {
        let multiplier = self.multiplier;
        for entry in self.peers.values_mut() {
            entry.expires_at = entry.expires_at.max(now + entry.info.announce_period.mul_f64(multiplier));
        }
        self.next_expiry = self.peers.values().map(|e| e.expires_at).min();
    }

    /// The earliest instant at which a peer may expire.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.next_expiry
    }

    /// Every accepted peer.
    pub fn accepted(&self) -> impl Iterator<Item = &PeerInfo> {
        self.peers.values().filter(|e| !e.rejected).map(|e| &e.info)
    }

    /// The unicast address of an accepted peer.
    pub fn address_of(&self, id: EndpointId) -> Option<SocketAddr> {
        self.get(id).map(|p| p.address)
    }
}
