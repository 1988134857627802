//! A deterministic in-memory network of groups driven by ticks, with seeded loss, duplication, reordering (random
//! delay in whole ticks), cut links and crashes; a small application (the list of applied entries) on every member;
//! and the checks made after every step: at most one leader per term, and every member applies the same entry at
//! the same index, each index once and in order.
#![allow(dead_code)]

mod model;

pub use model::Model;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use glue_raft::{Committed, EntryKind, Group, GroupConfig, GroupError, Output, Role};

/// Link behaviour; probabilities in 0..=1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// A message is lost.
    pub loss: f64,
    /// A message is delivered twice (each copy with its own delay).
    pub duplicate: f64,
    /// Extra delay of a message, uniform in 0..=max_delay ticks (reorders messages).
    pub max_delay: u64,
}

/// One member.
pub struct Node {
    pub id: u64,
    pub group: Option<Group>,
    pub config: GroupConfig,
    pub model: Model,
    /// Snapshots restored, over all incarnations.
    pub snapshots_restored: u64,
    /// Read states received: (read index, context).
    pub read_states: Vec<(u64, Vec<u8>)>,
    /// Compact once this many entries were applied since the last snapshot (None: only when a snapshot is wanted).
    pub compact_every: Option<u64>,
    last_snapshot: u64,
}

impl Node {
    /// The group (panics when the member is down).
    pub fn g(&mut self) -> &mut Group {
        self.group.as_mut().expect("the member is up")
    }

    pub fn is_up(&self) -> bool {
        self.group.is_some()
    }

    pub fn role(&self) -> Option<Role> {
        self.group.as_ref().map(|g| g.status().role)
    }
}

struct InFlight {
    at: u64,
    seq: u64,
    from: u64,
    to: u64,
    bytes: Vec<u8>,
}

/// The simulated network and its members.
pub struct Sim {
    pub now: u64,
    pub nodes: Vec<Node>,
    pub faults: Faults,
    rng: u64,
    seq: u64,
    flight: Vec<InFlight>,
    /// Directed links that drop everything.
    pub cut: HashSet<(u64, u64)>,
    /// The leader seen in each term.
    pub leaders: HashMap<u64, u64>,
    /// Every committed entry seen: index -> (term, data).
    pub committed: BTreeMap<u64, (u64, Vec<u8>)>,
    /// Messages refused as malformed (legitimate traffic should cause none in most tests).
    pub malformed: u64,
    /// Where data directories go (None: members in memory).
    pub base_dir: Option<TempDir>,
    /// Whether members with a data directory fsync (the simulated crashes lose memory, not the page cache).
    pub fsync: bool,
    /// Snapshot messages still to be lost on purpose.
    pub lose_snapshots: u32,
}

impl Sim {
    /// `n` members with IDs 1..=n forming a new group, in memory.
    pub fn new(seed: u64, n: u64, faults: Faults) -> Sim {
        Self::build(seed, n, faults, None, true)
    }

    /// `n` members, each with a data directory under a fresh temporary directory.
    pub fn with_dirs(seed: u64, n: u64, faults: Faults, name: &str) -> Sim {
        Self::build(seed, n, faults, Some(temp_dir(name)), true)
    }

    /// As [`Sim::with_dirs`], without fsync (faster; the simulated crashes keep the page cache anyway).
    pub fn with_dirs_unsynced(seed: u64, n: u64, faults: Faults, name: &str) -> Sim {
        Self::build(seed, n, faults, Some(temp_dir(name)), false)
    }

    fn build(seed: u64, n: u64, faults: Faults, base_dir: Option<TempDir>, fsync: bool) -> Sim {
        let mut sim = Sim {
            now: 0,
            nodes: Vec::new(),
            faults,
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            seq: 0,
            flight: Vec::new(),
            cut: HashSet::new(),
            leaders: HashMap::new(),
            committed: BTreeMap::new(),
            malformed: 0,
            base_dir,
            fsync,
            lose_snapshots: 0,
        };
        let voters: Vec<u64> = (1..=n).collect();
        for id in 1..=n {
            sim.add_node(id, voters.clone(), seed);
        }
        sim
    }

    /// Opens a member (a new one when `voters` is empty: it waits to be added).
    pub fn add_node(&mut self, id: u64, voters: Vec<u64>, seed: u64) -> usize {
        let mut config = GroupConfig::new(id, voters);
        config.seed = Some(seed);
        config.data_dir = self.base_dir.as_ref().map(|d| d.join(format!("m{id}")));
        config.fsync = self.fsync;
        let group = Group::open(config.clone()).expect("open");
        self.nodes.push(Node {
            id,
            group: Some(group),
            config,
            model: Model::default(),
            snapshots_restored: 0,
            read_states: Vec::new(),
            compact_every: None,
            last_snapshot: 0,
        });
        self.nodes.len() - 1
    }

    pub fn index_of(&self, id: u64) -> usize {
        self.nodes.iter().position(|n| n.id == id).expect("a member")
    }

    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform value in 0..1.
    pub fn chance(&mut self) -> f64 {
        (self.rand() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform value in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.rand() % n.max(1)
    }

    /// One tick: every member up ticks, then messages due are delivered and outputs drained until quiet.
    pub fn tick(&mut self) {
        self.now += 1;
        for i in 0..self.nodes.len() {
            if let Some(g) = self.nodes[i].group.as_mut() {
                g.tick();
            }
            self.check_leaders(i);
        }
        self.settle();
    }

    /// Runs `ticks` ticks.
    pub fn run(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.tick();
        }
    }

    /// Ticks until `done` holds (true) or `max` ticks passed (false).
    pub fn run_until(&mut self, max: u64, mut done: impl FnMut(&Sim) -> bool) -> bool {
        for _ in 0..max {
            if done(self) {
                return true;
            }
            self.tick();
        }
        done(self)
    }

    /// Drains every member's output and delivers messages due now, until nothing moves.
    pub fn settle(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                moved |= self.drain(i);
            }
            moved |= self.deliver_due();
            if !moved {
                return;
            }
        }
        panic!("the network did not settle");
    }

    fn deliver_due(&mut self) -> bool {
        let now = self.now;
        let mut due: Vec<InFlight> = Vec::new();
        let mut i = 0;
        while i < self.flight.len() {
            if self.flight[i].at <= now {
                due.push(self.flight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|m| (m.at, m.seq));
        let moved = !due.is_empty();
        for m in due {
            self.deliver(m);
        }
        moved
    }

    fn deliver(&mut self, m: InFlight) {
        if self.cut.contains(&(m.from, m.to)) {
            return;
        }
        let Some(i) = self.nodes.iter().position(|n| n.id == m.to) else { return };
        let Some(g) = self.nodes[i].group.as_mut() else { return };
        match g.step(m.from, &m.bytes) {
            Ok(()) => {}
            Err(GroupError::Malformed(why)) => {
                self.malformed += 1;
                if std::env::var_os("SIM_TRACE").is_some() {
                    eprintln!("t{} {} -> {}: {why}", self.now, m.from, m.to);
                }
            }
            Err(e) => panic!("step of a message from {} to {}: {e}", m.from, m.to),
        }
        assert!(!g.is_poisoned(), "a legitimate message poisoned member {}", m.to);
        self.check_leaders(i);
    }

    fn send(&mut self, from: u64, to: u64, bytes: Vec<u8>) {
        if self.chance() < self.faults.loss {
            return;
        }
        if self.lose_snapshots > 0 {
            use protobuf::Message as _;
            let m = raft::eraftpb::Message::parse_from_bytes(&bytes).unwrap();
            if m.get_msg_type() == raft::eraftpb::MessageType::MsgSnapshot {
                self.lose_snapshots -= 1;
                return;
            }
        }
        let copies = if self.chance() < self.faults.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            let delay = self.below(self.faults.max_delay + 1);
            self.seq += 1;
            let m = InFlight { at: self.now + delay, seq: self.seq, from, to, bytes: bytes.clone() };
            self.flight.push(m);
        }
    }

    /// Handles member `i`'s output; false when it had none.
    fn drain(&mut self, i: usize) -> bool {
        let Some(g) = self.nodes[i].group.as_mut() else { return false };
        let out = match g.ready() {
            Ok(Some(out)) => out,
            Ok(None) => return false,
            Err(e) => panic!("ready of member {}: {e}", self.nodes[i].id),
        };
        self.handle(i, out);
        self.check_leaders(i);
        true
    }

    fn handle(&mut self, i: usize, out: Output) {
        let id = self.nodes[i].id;
        if let Some((index, _term, state)) = &out.snapshot {
            let model = Model::decode(state);
            assert_eq!(model.applied, *index, "member {id}: snapshot index and state disagree");
            let node = &mut self.nodes[i];
            node.model = model;
            node.snapshots_restored += 1;
            node.last_snapshot = *index;
        }
        for c in &out.committed {
            self.apply(i, c);
        }
        self.nodes[i].read_states.extend(out.read_states.iter().cloned());
        let node = &mut self.nodes[i];
        let due = node.compact_every.is_some_and(|n| node.model.applied >= node.last_snapshot + n);
        if out.wants_snapshot || due {
            let (applied, state) = (node.model.applied, node.model.encode());
            node.g().compact(applied, &state).expect("compact");
            node.last_snapshot = applied;
        }
        for (to, bytes) in out.messages {
            self.send(id, to, bytes);
        }
    }

    fn apply(&mut self, i: usize, c: &Committed) {
        let node = &mut self.nodes[i];
        assert_eq!(c.index, node.model.applied + 1, "member {}: entries out of order or repeated", node.id);
        node.model.applied = c.index;
        if c.kind == EntryKind::Normal && !c.data.is_empty() {
            assert!(!node.model.entries.contains(&c.data), "member {}: {:?} applied twice", node.id, c.data);
            node.model.entries.push(c.data.clone());
        }
        let seen = self.committed.entry(c.index).or_insert((c.term, c.data.clone()));
        assert_eq!(*seen, (c.term, c.data.clone()), "two different entries committed at index {}", c.index);
    }

    /// At most one leader per term: checked after every step, tick and output.
    fn check_leaders(&mut self, i: usize) {
        let Some(g) = self.nodes[i].group.as_ref() else { return };
        let s = g.status();
        if s.role == Role::Leader {
            let first = *self.leaders.entry(s.term).or_insert(self.nodes[i].id);
            assert_eq!(first, self.nodes[i].id, "two leaders in term {}", s.term);
        }
    }

    /// The index of the member that leads in the highest term among those up, if any.
    pub fn leader(&self) -> Option<usize> {
        (0..self.nodes.len())
            .filter_map(|i| self.nodes[i].group.as_ref().map(|g| (i, g.status())))
            .filter(|(_, s)| s.role == Role::Leader)
            .max_by_key(|(_, s)| s.term)
            .map(|(i, _)| i)
    }

    /// Cuts member `i` off from every other member (both directions).
    pub fn isolate(&mut self, i: usize) {
        let id = self.nodes[i].id;
        for other in self.nodes.iter().map(|n| n.id).collect::<Vec<_>>() {
            if other != id {
                self.cut.insert((id, other));
                self.cut.insert((other, id));
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Stops member `i` (its memory is gone; its data directory, if any, stays).
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].group = None;
        self.nodes[i].model = Model::default();
        self.nodes[i].last_snapshot = 0;
    }

    /// Opens member `i` again from its configuration (and data directory).
    pub fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].group.is_none(), "crash it first");
        let group = Group::open(self.nodes[i].config.clone()).expect("reopen");
        self.nodes[i].group = Some(group);
    }

    /// Proposes `data` on the current leader; false when there is none or it refused.
    pub fn propose(&mut self, data: &[u8]) -> bool {
        let Some(l) = self.leader() else { return false };
        let ok = self.nodes[l].g().propose(data).is_ok();
        self.settle();
        ok
    }

    /// True when every member up has applied at least up to `index`.
    pub fn all_applied(&self, index: u64) -> bool {
        self.nodes.iter().filter(|n| n.is_up()).all(|n| n.model.applied >= index)
    }

    /// The highest commit index of any member up.
    pub fn max_commit(&self) -> u64 {
        self.nodes.iter().filter_map(|n| n.group.as_ref()).map(|g| g.status().commit).max().unwrap_or(0)
    }
}

/// A fresh empty directory under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh empty directory (see [`TempDir`]).
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("glue-raft-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Unique proposal data.
pub fn payload(n: u64) -> Vec<u8> {
    format!("p{n}").into_bytes()
}
