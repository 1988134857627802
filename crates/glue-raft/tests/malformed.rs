//! Input from the network that a correct member never sends: refused with `Malformed`, never a panic, never a
//! poisoned group. Named cases first, then a deterministic fuzz: random bytes, and real messages with fields
//! changed at random, stepped into a running group (leader and followers).

use glue_raft::{Group, GroupConfig, GroupError, Role};
use protobuf::Message as _;
use raft::eraftpb::{ConfChangeV2, ConfState, Entry, EntryType, Message, MessageType, Snapshot};

/// Three members in memory, delivered to each other reliably; every message sent is kept.
struct Net {
    groups: Vec<Group>,
    seen: Vec<(u64, u64, Vec<u8>)>,
}

impl Net {
    fn new() -> Net {
        let groups = (1..=3)
            .map(|id| {
                let mut c = GroupConfig::new(id, vec![1, 2, 3]);
                c.seed = Some(5);
                Group::open(c).unwrap()
            })
            .collect();
        Net { groups, seen: Vec::new() }
    }

    fn tick(&mut self) {
        for g in &mut self.groups {
            g.tick();
        }
        for _ in 0..100 {
            let mut moved = false;
            for i in 0..3 {
                let Some(out) = self.groups[i].ready().expect("ready") else { continue };
                moved = true;
                for (to, bytes) in out.messages {
                    self.seen.push((i as u64 + 1, to, bytes.clone()));
                    if (1..=3).contains(&to) {
                        let _ = self.groups[to as usize - 1].step(i as u64 + 1, &bytes);
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn leader(&mut self) -> usize {
        for _ in 0..300 {
            if let Some(l) = self.groups.iter().position(|g| g.status().role == Role::Leader) {
                return l;
            }
            self.tick();
        }
        panic!("no leader");
    }

    fn assert_healthy(&self, context: &str) {
        for g in &self.groups {
            assert!(!g.is_poisoned(), "member {} poisoned by {context}", g.id());
        }
    }
}

fn msg(t: MessageType, from: u64, to: u64, term: u64) -> Message {
    let mut m = Message { from, to, term, ..Default::default() };
    m.set_msg_type(t);
    m
}

fn entry(index: u64, term: u64) -> Entry {
    Entry { index, term, data: b"x".to_vec().into(), ..Default::default() }
}

fn snapshot(index: u64, term: u64, voters: Vec<u64>, learners: Vec<u64>) -> Snapshot {
    let mut s = Snapshot::default();
    let meta = s.mut_metadata();
    meta.index = index;
    meta.term = term;
    meta.set_conf_state(ConfState { voters, learners, ..Default::default() });
    s
}

#[test]
fn messages_no_correct_member_sends_are_refused_by_name() {
    let mut net = Net::new();
    let l = net.leader();
    for _ in 0..5 {
        net.tick();
    }
    let (leader, follower) = (l as u64 + 1, (l as u64 + 1) % 3 + 1);
    let term = net.groups[l].status().term;
    let last = net.groups[l].status().commit;
    let mut cases: Vec<(&str, u64, Message)> = Vec::new();
    let mut add = |name, to: u64, m: Message| cases.push((name, to, m));
    add("addressed to someone else", follower, msg(MessageType::MsgHeartbeat, leader, 9, term));
    add("a proposal", leader, {
        let mut m = msg(MessageType::MsgPropose, follower, leader, 0);
        m.mut_entries().push(entry(0, 0));
        m
    });
    add("a leader transfer", leader, msg(MessageType::MsgTransferLeader, follower, leader, term));
    add("a local message", follower, msg(MessageType::MsgHup, leader, follower, 0));
    add("a local message with a term", follower, msg(MessageType::MsgBeat, leader, follower, term));
    add("from a stranger", follower, msg(MessageType::MsgHeartbeat, 42, follower, term));
    add("term 0", follower, msg(MessageType::MsgHeartbeat, leader, follower, 0));
    add("term beyond 2^53", follower, msg(MessageType::MsgHeartbeat, leader, follower, 1 << 53));
    add("a snapshot request", leader, {
        let mut m = msg(MessageType::MsgAppendResponse, follower, leader, term);
        m.request_snapshot = 3;
        m
    });
    add("entries not following the index", follower, {
        let mut m = msg(MessageType::MsgAppend, leader, follower, term);
        m.index = last;
        m.log_term = term;
        m.set_entries(vec![entry(last + 2, term)].into());
        m
    });
    add("entries of a later term than the message", follower, {
        let mut m = msg(MessageType::MsgAppend, leader, follower, term);
        m.index = last;
        m.log_term = term;
        m.set_entries(vec![entry(last + 1, term + 1)].into());
        m
    });
    add("entries overflowing", follower, {
        let mut m = msg(MessageType::MsgAppend, leader, follower, term);
        m.index = (1 << 53) - 1;
        m.set_entries(vec![entry(1 << 53, term)].into());
        m
    });
    add("a joint configuration change", follower, {
        let mut m = msg(MessageType::MsgAppend, leader, follower, term);
        m.index = last;
        m.log_term = term;
        let mut e = entry(last + 1, term);
        e.set_entry_type(EntryType::EntryConfChangeV2);
        e.data = ConfChangeV2::default().write_to_bytes().unwrap().into();
        m.set_entries(vec![e].into());
        m
    });
    add("a configuration change that does not decode", follower, {
        let mut m = msg(MessageType::MsgAppend, leader, follower, term);
        m.index = last;
        m.log_term = term;
        let mut e = entry(last + 1, term);
        e.set_entry_type(EntryType::EntryConfChange);
        e.data = vec![0xff; 3].into();
        m.set_entries(vec![e].into());
        m
    });
    add("entries on a heartbeat", follower, {
        let mut m = msg(MessageType::MsgHeartbeat, leader, follower, term);
        m.set_entries(vec![entry(last + 1, term)].into());
        m
    });
    add("a read index without its entry", leader, msg(MessageType::MsgReadIndex, follower, leader, 0));
    add("a read index with a term", leader, {
        let mut m = msg(MessageType::MsgReadIndex, follower, leader, term);
        m.mut_entries().push(entry(0, 0));
        m
    });
    add("a read index answer not from the leader", leader, {
        let mut m = msg(MessageType::MsgReadIndexResp, follower, leader, term);
        m.mut_entries().push(entry(0, 0));
        m
    });
    add("timeout-now not from the leader", leader, msg(MessageType::MsgTimeoutNow, follower, leader, term));
    add("a snapshot without voters", follower, {
        let mut m = msg(MessageType::MsgSnapshot, leader, follower, term);
        m.set_snapshot(snapshot(last + 10, term, vec![], vec![1]));
        m
    });
    add("a snapshot with a member twice", follower, {
        let mut m = msg(MessageType::MsgSnapshot, leader, follower, term);
        m.set_snapshot(snapshot(last + 10, term, vec![1, 2, 3], vec![3]));
        m
    });
    add("a snapshot of a later term", follower, {
        let mut m = msg(MessageType::MsgSnapshot, leader, follower, term);
        m.set_snapshot(snapshot(last + 10, term + 1, vec![1, 2, 3], vec![]));
        m
    });
    add("a snapshot at index 0", follower, {
        let mut m = msg(MessageType::MsgSnapshot, leader, follower, term);
        m.set_snapshot(snapshot(0, term, vec![1, 2, 3], vec![]));
        m
    });
    add("a snapshot on an append", follower, {
        let mut m = msg(MessageType::MsgAppend, leader, follower, term);
        m.index = last;
        m.log_term = term;
        m.set_snapshot(snapshot(last, term, vec![1, 2, 3], vec![]));
        m
    });
    add("an append answer beyond the leader's log", leader, {
        let mut m = msg(MessageType::MsgAppendResponse, follower, leader, term);
        m.index = last + 100;
        m
    });
    for (name, to, m) in cases {
        let bytes = m.write_to_bytes().unwrap();
        let g = &mut net.groups[to as usize - 1];
        match g.step(m.from, &bytes) {
            Err(GroupError::Malformed(why)) => assert!(!why.is_empty()),
            other => panic!("{name}: {other:?}"),
        }
        net.assert_healthy(name);
    }
    // A sender that is not who it claims.
    let hb = msg(MessageType::MsgHeartbeat, leader, follower, term).write_to_bytes().unwrap();
    let other = 6 - leader - follower;
    assert!(matches!(net.groups[follower as usize - 1].step(other, &hb), Err(GroupError::Malformed(_))));
    // A heartbeat whose commit lies beyond the log is taken with the commit lowered (raft would panic).
    let mut m = msg(MessageType::MsgHeartbeat, leader, follower, term);
    m.commit = last + 1000;
    net.groups[follower as usize - 1].step(leader, &m.write_to_bytes().unwrap()).unwrap();
    net.assert_healthy("a heartbeat beyond the log");
    assert!(net.groups[follower as usize - 1].status().commit <= last);
    // The group still works.
    net.groups[l].propose(b"still fine").unwrap();
    for _ in 0..5 {
        net.tick();
    }
    assert!(net.groups.iter().all(|g| g.status().commit > last));
}

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number near `around`, or an extreme one now and then.
    fn number(&mut self, around: u64) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => u64::MAX - self.below(3),
            2 => (1 << 53) - 1 + self.below(3),
            3 => self.next(),
            _ => around.saturating_add(self.below(7)).saturating_sub(3),
        }
    }
}

#[test]
fn random_bytes_are_refused() {
    let mut net = Net::new();
    net.leader();
    let mut rng = Rng(0x5eed);
    for n in 0..20_000 {
        let len = rng.below(120) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let i = n % 3;
        let from = rng.below(4) + 1;
        match net.groups[i].step(from, &bytes) {
            Err(GroupError::Malformed(_)) => {}
            other => panic!("{bytes:02x?} from {from}: {other:?}"),
        }
    }
    net.assert_healthy("random bytes");
}

#[test]
fn real_messages_with_fields_changed_at_random_never_panic() {
    // GLUE_RAFT_FUZZ_LIVES=1500 (and GLUE_RAFT_FUZZ_SEED) for a longer run.
    let env = |name, default| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let lives: u64 = env("GLUE_RAFT_FUZZ_LIVES", 10);
    let mut rng = Rng(env("GLUE_RAFT_FUZZ_SEED", 0xfeed) | 1);
    let mut corpus: Vec<(u64, u64, Vec<u8>)> = Vec::new();
    let (mut stepped, mut taken) = ([0u64; 3], 0u64);
    for life in 0..lives {
        // Forged messages may well disturb a group for good (a forged term near 2^53, a forged commit): only
        // panics matter here, so a fresh group starts every 60 rounds.
        let mut net = Net::new();
        let mut joiner = Group::open(GroupConfig::new(4, vec![])).unwrap();
        for round in 0..60 {
            net.tick();
            let leader = net.groups.iter().position(|g| g.status().role == Role::Leader);
            if let Some(l) = leader.filter(|_| round % 5 == 2) {
                let _ = net.groups[l].propose(format!("l{life}r{round}").as_bytes());
            }
            if let Some(l) = leader.filter(|_| round % 23 == 0) {
                // Leadership moves now and then so that every member is fuzzed in every role.
                net.groups[l].transfer_leader((l as u64 + 1) % 3 + 1);
            }
            corpus.append(&mut net.seen);
            if corpus.len() > 2000 {
                corpus.drain(..1000);
            }
            if round % 7 == 6 {
                // Compaction: snapshots go out, and logs start later.
                for g in &mut net.groups {
                    let applied = g.status().applied.max(net_applied(g));
                    let _ = g.compact(applied, b"state");
                }
            }
            for _ in 0..if corpus.is_empty() { 0 } else { 40 } {
                let (from, to, bytes) = &corpus[rng.below(corpus.len() as u64) as usize];
                let mut m = Message::parse_from_bytes(bytes).unwrap();
                mutate(&mut rng, &mut m);
                let bytes = m.write_to_bytes().unwrap();
                let sender = if rng.below(10) == 0 { rng.below(4) + 1 } else { *from };
                let target = if rng.below(10) == 0 || !(1..=3).contains(to) { rng.below(3) + 1 } else { *to };
                // One in eight goes to a member that waits to join (no configuration yet) instead.
                let (g, m) = if rng.below(8) == 0 {
                    m.to = 4;
                    (&mut joiner, m)
                } else {
                    (&mut net.groups[target as usize - 1], m)
                };
                let bytes = if g.id() == 4 { m.write_to_bytes().unwrap() } else { bytes };
                let result = g.step(sender, &bytes);
                assert!(!g.is_poisoned(), "poisoned by {m:?} from {sender}: {result:?}");
                let target = if g.id() == 4 { 1 } else { target };
                while let Ok(Some(_)) = joiner.ready() {}
                stepped[target as usize - 1] += 1;
                match result {
                    Ok(()) => taken += 1,
                    Err(GroupError::Malformed(_) | GroupError::Raft(_)) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        net.assert_healthy("fuzzed messages");
        assert!(!joiner.is_poisoned());
    }
    assert!(stepped.iter().all(|n| *n > 3000), "{stepped:?}");
    assert!(taken > 2000, "only {taken} fuzzed messages got past the checks: the fuzz is too blunt");
}

/// The last index `g` handed out (what its commit reached, as the fuzz applies nothing).
fn net_applied(g: &Group) -> u64 {
    g.status().commit
}

/// Changes a few fields of a message at random.
fn mutate(rng: &mut Rng, m: &mut Message) {
    for _ in 0..1 + rng.below(3) {
        match rng.below(14) {
            0 => m.term = rng.number(m.term),
            1 => m.log_term = rng.number(m.log_term),
            2 => m.index = rng.number(m.index),
            3 => m.commit = rng.number(m.commit),
            4 => m.commit_term = rng.number(m.commit_term),
            5 => m.reject = !m.reject,
            6 => m.reject_hint = rng.number(m.reject_hint),
            7 => {
                let types = [3, 4, 5, 6, 7, 8, 9, 14, 15, 16, 17, 18];
                let t = types[rng.below(types.len() as u64) as usize];
                m.set_msg_type(protobuf::ProtobufEnum::from_i32(t).unwrap());
            }
            8 => {
                let n = m.entries.len() as u64 + 1;
                let (index, term) = (rng.number(m.index.saturating_add(1)), rng.number(m.term));
                let mut e = entry(index, term);
                if rng.below(3) == 0 {
                    e.set_entry_type(EntryType::EntryConfChange);
                    e.data = raft::eraftpb::ConfChange { node_id: rng.below(5), ..Default::default() }
                        .write_to_bytes()
                        .unwrap()
                        .into();
                }
                m.mut_entries().insert(rng.below(n) as usize, e);
            }
            9 => {
                if !m.entries.is_empty() {
                    let i = rng.below(m.entries.len() as u64) as usize;
                    m.mut_entries().remove(i);
                }
            }
            10 => {
                let voters = (0..rng.below(4)).map(|_| rng.below(5)).collect();
                let learners = (0..rng.below(2)).map(|_| rng.below(5)).collect();
                m.set_snapshot(snapshot(rng.number(m.index), rng.number(m.term), voters, learners));
            }
            11 => m.context = (0..rng.below(4)).map(|_| rng.next() as u8).collect::<Vec<_>>().into(),
            12 => m.priority = rng.next() as i64,
            _ => {
                for e in m.mut_entries().iter_mut() {
                    e.index = rng.number(e.index);
                    e.term = rng.number(e.term);
                }
            }
        }
    }
}
