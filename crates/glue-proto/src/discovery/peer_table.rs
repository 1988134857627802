//! The peer table: who is out there, since when, until when; the name index; bounded size.
//!
//! Admission is guarded against a host that announces many IDs: an announced period counts as at most
//! [`MAX_ANNOUNCE_PERIOD`]; a newcomer holds its slot only for [`PROBATION`] until a second datagram from it arrives
//! (a real endpoint answers our announcement at once), and is reported (PeerUp) only then; and a full table makes room for a newcomer by evicting an entry
//! that never proved itself: one still on probation, else a rejected one, else one that never sent anything but
//! announcements.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{EndpointId, PeerInfo};

/// An announced period counts as at most this long (a longer one is taken as this). The lease is this × the
/// receiver's expiry multiplier.
pub const MAX_ANNOUNCE_PERIOD: Duration = Duration::from_secs(60);
/// A newcomer's lease until a second datagram from it arrives.
pub const PROBATION: Duration = Duration::from_secs(3);
/// A full table with no newcomer on probation looks for another entry to evict at most this often.
const EVICTION_SCAN_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Entry {
    info: PeerInfo,
    expires_at: Instant,
    rejected: bool,
    /// Datagrams heard from it since it was added (saturating); 0: on probation (not reported, no name, nothing
    /// sent to it but the answer to its announcement).
    heard: u32,
    /// It sent something other than announcements (data, acknowledgements, heartbeats).
    exchanged: bool,
    /// Its announcements come by unicast (flag `ANNOUNCE_FLAG_UNICAST`): ours go to it by unicast too.
    unicast: bool,
    /// When this endpoint last sent it PEERS, and the table's version then.
    gossiped: Option<(Instant, u64)>,
}

impl Entry {
    fn on_probation(&self) -> bool {
        self.heard == 0
    }

    /// Reported to the application and accepted.
    fn accepted(&self) -> bool {
        !self.on_probation() && !self.rejected
    }
}

/// What an announcement meant for the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Not known before: the caller adds it (see [`PeerTable::insert`]).
    New,
    /// Known; nothing changed but its lease (or it is still on probation, or rejected).
    Refreshed,
    /// Known and accepted; its name, address, period or extensions changed (the table has the new values).
    Changed,
    /// Known under another incarnation: it restarted. The entry was removed (with its info when it had been
    /// reported as up); insert it again.
    Restarted(Option<PeerInfo>),
}

/// What a datagram from a known endpoint meant for the table (see [`PeerTable::touch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// An accepted peer.
    Accepted,
    /// A rejected one: its traffic is dropped.
    Rejected,
    /// Its second datagram: it leaves probation; the caller admits it ([`PeerTable::admit`]).
    Promoted,
}

/// All peers heard from, on probation, accepted or rejected, with their expiry deadlines and a name index.
#[derive(Debug)]
pub struct PeerTable {
    peers: HashMap<EndpointId, Entry>,
    /// name -> the first accepted holder of the name.
    names: HashMap<String, EndpointId>,
    max_peers: usize,
    multiplier: f64,
    /// No peer expires before this instant (a lower bound; recomputed by `expire`).
    next_expiry: Option<Instant>,
    /// Entries added, oldest first, that may still be on probation (stale IDs are skipped and compacted away).
    probation: VecDeque<EndpointId>,
    /// No entry outside probation is evictable before this instant (the last scan found none).
    scan_after: Option<Instant>,
    /// Changes whenever the set of accepted peers or an accepted peer's address changes (what PEERS would list).
    version: u64,
}

impl PeerTable {
    /// An empty table holding at most `max_peers` entries; a peer expires after its period × `multiplier`.
    pub fn new(max_peers: usize, multiplier: f64) -> Self {
        PeerTable {
            peers: HashMap::new(),
            names: HashMap::new(),
            max_peers,
            multiplier,
            next_expiry: None,
            probation: VecDeque::new(),
            scan_after: None,
            version: 0,
        }
    }

    /// Number of entries, on probation, accepted and rejected.
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
        lease(period, self.multiplier)
    }

    fn note_deadline(&mut self, at: Instant) {
        self.next_expiry = Some(self.next_expiry.map_or(at, |n| n.min(at)));
    }

    /// Compares an announcement with the table and refreshes the lease of a known peer.
    pub fn observe(&mut self, now: Instant, info: &PeerInfo) -> Observation {
        let lease = self.lease(info.announce_period);
        let Some(entry) = self.peers.get_mut(&info.id) else { return Observation::New };
        if entry.info.incarnation != info.incarnation {
            return Observation::Restarted(self.remove(info.id));
        }
        if !entry.on_probation() {
            entry.expires_at = now + lease;
        }
        if !entry.accepted() || entry.info == *info {
            if entry.on_probation() {
                entry.info = info.clone();
            }
            return Observation::Refreshed;
        }
        let old = std::mem::replace(&mut entry.info, info.clone());
        if old.address != info.address {
            self.version += 1;
        }
        let old_name = old.name;
        if old_name != info.name {
            self.release_name(&old_name, info.id);
            self.names.entry(info.name.clone()).or_insert(info.id);
        }
        Observation::Changed
    }

    /// Adds a newcomer on probation (the caller made room, see [`PeerTable::evict`]): it holds its slot for
    /// [`PROBATION`] at most, and is not reported, until a second datagram from it arrives.
    pub fn insert(&mut self, now: Instant, info: PeerInfo) {
        let expires_at = now + self.lease(info.announce_period).min(PROBATION);
        self.note_deadline(expires_at);
        if self.probation.len() >= 2 * self.max_peers {
            let peers = &self.peers;
            self.probation.retain(|id| peers.get(id).is_some_and(Entry::on_probation));
        }
        self.probation.push_back(info.id);
        self.peers.insert(
            info.id,
            Entry {
                info,
                expires_at,
                rejected: false,
                heard: 0,
                exchanged: false,
                unicast: false,
                gossiped: None,
            },
        );
    }

    /// Ends the probation of a peer that was [`Touch::Promoted`]: accepted (its name registered) or rejected.
    /// Returns its info.
    pub fn admit(&mut self, id: EndpointId, rejected: bool) -> Option<PeerInfo> {
        let entry = self.peers.get_mut(&id)?;
        entry.rejected = rejected;
        let info = entry.info.clone();
        if !rejected {
            self.names.entry(info.name.clone()).or_insert(id);
            self.version += 1;
        }
        Some(info)
    }

    /// Extends the lease of a known peer on any traffic (a second datagram ends its probation); `None` when unknown.
    pub fn touch(&mut self, now: Instant, id: EndpointId) -> Option<Touch> {
        let multiplier = self.multiplier;
        let entry = self.peers.get_mut(&id)?;
        let promoted = entry.on_probation();
        entry.heard = entry.heard.saturating_add(1);
        entry.expires_at = entry.expires_at.max(now + lease(entry.info.announce_period, multiplier));
        Some(if promoted {
            Touch::Promoted
        } else if entry.rejected {
            Touch::Rejected
        } else {
            Touch::Accepted
        })
    }

    /// Whether a peer is accepted (Some(true)) or rejected (Some(false)); `None` when unknown or on probation.
    pub fn state(&self, id: EndpointId) -> Option<bool> {
        self.peers.get(&id).filter(|e| !e.on_probation()).map(|e| !e.rejected)
    }

    /// Records that a peer sent something other than announcements.
    pub fn mark_exchanged(&mut self, id: EndpointId) {
        if let Some(e) = self.peers.get_mut(&id) {
            e.exchanged = true;
        }
    }

    /// Makes room for a newcomer in a full table, if it can: removes the oldest newcomer still on probation; else
    /// (looked for at most every 100 ms) a rejected entry, else an accepted one that never sent anything but
    /// announcements, the one expiring first. Returns the removed peer when it had been reported as up.
    pub fn evict(&mut self, now: Instant) -> Option<Option<PeerInfo>> {
        while let Some(id) = self.probation.pop_front() {
            if self.peers.get(&id).is_some_and(Entry::on_probation) {
                return Some(self.remove(id));
            }
        }
        if self.scan_after.is_some_and(|t| now < t) {
            return None;
        }
        let victim = self
            .peers
            .iter()
            .filter(|(_, e)| e.rejected || !e.exchanged)
            .min_by_key(|(_, e)| (!e.rejected, e.expires_at))
            .map(|(id, _)| *id);
        match victim {
            Some(id) => Some(self.remove(id)),
            None => {
                self.scan_after = Some(now + EVICTION_SCAN_INTERVAL);
                None
            }
        }
    }

    /// The info of any entry (on probation, accepted or rejected).
    pub fn get_entry_info(&self, id: EndpointId) -> Option<PeerInfo> {
        self.peers.get(&id).map(|e| e.info.clone())
    }

    /// The address and incarnation of any entry (on probation, accepted or rejected).
    pub fn entry_address(&self, id: EndpointId) -> Option<(SocketAddr, u32)> {
        self.peers.get(&id).map(|e| (e.info.address, e.info.incarnation))
    }

    /// An accepted peer by ID.
    pub fn get(&self, id: EndpointId) -> Option<&PeerInfo> {
        self.peers.get(&id).filter(|e| e.accepted()).map(|e| &e.info)
    }

    /// The accepted peer that holds `name` (the first one that announced it).
    pub fn holder_of(&self, name: &str) -> Option<EndpointId> {
        self.names.get(name).copied()
    }

    /// Marks an accepted peer rejected; returns its info if it was accepted before.
    pub fn reject(&mut self, id: EndpointId) -> Option<PeerInfo> {
        let entry = self.peers.get_mut(&id).filter(|e| e.accepted())?;
        entry.rejected = true;
        let info = entry.info.clone();
        self.version += 1;
        self.release_name(&info.name, id);
        Some(info)
    }

    /// Removes a peer; returns its info if it was accepted (reported as up).
    pub fn remove(&mut self, id: EndpointId) -> Option<PeerInfo> {
        let entry = self.peers.remove(&id)?;
        if !entry.accepted() {
            return None;
        }
        self.version += 1;
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
            .filter(|e| e.accepted() && e.info.name == name && e.info.id != id)
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

    /// Restarts every peer's lease at `now` (never shortening one; newcomers stay on probation).
    pub fn extend_all(&mut self, now: Instant) {
        let multiplier = self.multiplier;
        for entry in self.peers.values_mut().filter(|e| !e.on_probation()) {
            entry.expires_at = entry.expires_at.max(now + lease(entry.info.announce_period, multiplier));
        }
        self.next_expiry = self.peers.values().map(|e| e.expires_at).min();
    }

    /// The earliest instant at which a peer may expire.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.next_expiry
    }

    /// Every accepted peer.
    pub fn accepted(&self) -> impl Iterator<Item = &PeerInfo> {
        self.peers.values().filter(|e| e.accepted()).map(|e| &e.info)
    }

    /// Records that an entry's announcements come by unicast (ours go to it by unicast from now on).
    pub fn mark_unicast(&mut self, id: EndpointId) {
        if let Some(e) = self.peers.get_mut(&id) {
            e.unicast = true;
        }
    }

    /// Whether an entry (in any state) announces by unicast.
    pub fn is_unicast(&self, id: EndpointId) -> bool {
        self.peers.get(&id).is_some_and(|e| e.unicast)
    }

    /// Whether an entry with this unicast address exists and announces by unicast.
    pub fn is_unicast_address(&self, address: SocketAddr) -> bool {
        self.peers.values().any(|e| e.unicast && e.info.address == address)
    }

    /// The addresses of accepted peers whose announcements come by unicast (all accepted peers with `all`).
    pub fn unicast_addresses(&self, all: bool) -> impl Iterator<Item = SocketAddr> + '_ {
        self.peers.values().filter(move |e| e.accepted() && (all || e.unicast)).map(|e| e.info.address)
    }

    /// Whether an accepted peer is due a PEERS answer at `now`: never sent one, or the table changed since the last
    /// one and `min_gap` passed, or `refresh` passed.
    pub fn gossip_due(&self, id: EndpointId, now: Instant, min_gap: Duration, refresh: Duration) -> bool {
        let Some(e) = self.peers.get(&id).filter(|e| e.accepted()) else { return false };
        match e.gossiped {
            None => true,
            Some((at, v)) => {
                let since = now.saturating_duration_since(at);
                (v != self.version && since >= min_gap) || since >= refresh
            }
        }
    }

    /// Records that a PEERS answer went to this peer at `now` (listing the table as it is now).
    pub fn gossiped(&mut self, id: EndpointId, now: Instant) {
        let version = self.version;
        if let Some(e) = self.peers.get_mut(&id) {
            e.gossiped = Some((now, version));
        }
    }

    /// Whether an entry of this ID exists (on probation, accepted or rejected).
    pub fn contains(&self, id: EndpointId) -> bool {
        self.peers.contains_key(&id)
    }

    /// The unicast address of an accepted peer.
    pub fn address_of(&self, id: EndpointId) -> Option<SocketAddr> {
        self.get(id).map(|p| p.address)
    }
}

/// The lease of a peer that announces every `period`: the period (at most [`MAX_ANNOUNCE_PERIOD`]) × `multiplier`.
pub fn lease(period: Duration, multiplier: f64) -> Duration {
    period.min(MAX_ANNOUNCE_PERIOD).mul_f64(multiplier)
}
