//! Replication: proposals are committed on every member in the same order exactly once (under faults and leader
//! changes), a lagging member is caught up by a snapshot after compaction, and membership changes while proposing.

mod sim;

use glue_raft::{ConfChangeKind, GroupError, Role};
use sim::{payload, Faults, Sim};

const ELECTION: u64 = 20;

fn elect(sim: &mut Sim) -> usize {
    assert!(sim.run_until(20 * ELECTION, |s| s.leader().is_some()), "no leader");
    sim.leader().unwrap()
}

/// Heals, waits for everyone to apply everything committed, and checks they hold the same entries.
fn converge(sim: &mut Sim) {
    sim.heal();
    sim.faults = Faults::default();
    elect(sim);
    assert!(sim.propose(b"barrier"), "no leader to take the barrier");
    let done = |s: &Sim| {
        let commit = s.max_commit();
        s.nodes.iter().filter(|n| n.is_up()).all(|n| n.model.applied == commit)
    };
    assert!(sim.run_until(40 * ELECTION, done), "members did not converge");
    let first = sim.nodes.iter().find(|n| n.is_up()).unwrap().model.clone();
    for n in sim.nodes.iter().filter(|n| n.is_up()) {
        assert_eq!(n.model, first, "member {} differs", n.id);
    }
}

#[test]
fn proposals_are_committed_everywhere_in_the_same_order_exactly_once() {
    let faults = Faults { loss: 0.1, duplicate: 0.1, max_delay: 2 };
    for seed in 0..12 {
        let mut sim = Sim::new(seed, 3, faults);
        let mut accepted = Vec::new();
        for n in 0..150 {
            if n % 40 == 20 {
                // Cut the leader off for a while: proposals in flight may be lost, never duplicated.
                if let Some(l) = sim.leader() {
                    sim.isolate(l);
                }
            }
            if n % 40 == 30 {
                sim.heal();
            }
            if sim.propose(&payload(n)) {
                accepted.push(payload(n));
            }
            let ticks = 1 + sim.below(3);
            sim.run(ticks);
        }
        converge(&mut sim);
        let applied = &sim.nodes[0].model.entries;
        // Every proposal appears at most once (checked as applied) and those committed keep their proposal order.
        let order: Vec<usize> = applied.iter().filter_map(|e| accepted.iter().position(|a| a == e)).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "seed {seed}: proposals out of order");
        let (committed, accepted) = (applied.len(), accepted.len());
        assert!(committed * 10 >= accepted * 6, "seed {seed}: only {committed} of {accepted} committed");
    }
}

#[test]
fn a_follower_refuses_proposals_and_the_leader_takes_them() {
    let mut sim = Sim::new(1, 3, Faults::default());
    let l = elect(&mut sim);
    let f = (l + 1) % 3;
    assert!(matches!(sim.nodes[f].g().propose(b"x"), Err(GroupError::NotLeader)));
    assert!(matches!(
        sim.nodes[f].g().propose_conf_change(ConfChangeKind::AddVoter, 9),
        Err(GroupError::NotLeader)
    ));
    sim.nodes[l].g().propose(b"x").unwrap();
    sim.run(3);
    assert!(sim.nodes.iter().all(|n| n.model.entries == vec![b"x".to_vec()]));
}

#[test]
fn a_lagging_member_catches_up_by_snapshot_after_compaction() {
    for seed in 0..5 {
        let mut sim = Sim::new(seed, 3, Faults::default());
        let l = elect(&mut sim);
        let lagging = (l + 1) % 3;
        for n in 0..10 {
            assert!(sim.propose(&payload(n)));
        }
        sim.isolate(lagging);
        for n in 10..200 {
            assert!(sim.propose(&payload(n)));
        }
        sim.run(2);
        // Everyone else compacts: the entries the lagging member misses are gone from every log.
        for i in (0..3).filter(|i| *i != lagging) {
            let node = &mut sim.nodes[i];
            let (applied, state) = (node.model.applied, node.model.encode());
            node.g().compact(applied, &state).unwrap();
        }
        assert_eq!(sim.nodes[lagging].snapshots_restored, 0);
        sim.heal();
        let caught_up = |s: &Sim| s.nodes[lagging].model == s.nodes[l].model;
        assert!(sim.run_until(10 * ELECTION, caught_up), "seed {seed}: not caught up");
        assert_eq!(sim.nodes[lagging].snapshots_restored, 1, "seed {seed}: caught up without a snapshot?");
        assert_eq!(sim.nodes[lagging].model.entries.len(), 200);
        // Later entries reach it as entries again.
        assert!(sim.propose(b"after"));
        sim.run(3);
        assert_eq!(sim.nodes[lagging].model.entries.last().unwrap(), b"after");
        assert_eq!(sim.malformed, 0);
    }
}

#[test]
fn a_lost_snapshot_is_sent_again() {
    let mut sim = Sim::new(4, 3, Faults::default());
    let l = elect(&mut sim);
    let lagging = (l + 1) % 3;
    sim.isolate(lagging);
    for n in 0..30 {
        assert!(sim.propose(&payload(n)));
    }
    for i in (0..3).filter(|i| *i != lagging) {
        let node = &mut sim.nodes[i];
        let (applied, state) = (node.model.applied, node.model.encode());
        node.g().compact(applied, &state).unwrap();
    }
    sim.lose_snapshots = 2;
    sim.heal();
    let caught_up = |s: &Sim| s.nodes[lagging].model == s.nodes[l].model;
    // Two snapshots lost: each waits 5 election timeouts (50 ticks) for an answer before it is sent again.
    assert!(sim.run_until(200, caught_up), "not caught up after losing two snapshots");
    assert_eq!((sim.lose_snapshots, sim.nodes[lagging].snapshots_restored), (0, 1));
}

#[test]
fn members_are_added_and_removed_while_proposing() {
    let faults = Faults { loss: 0.05, duplicate: 0.05, max_delay: 2 };
    for seed in 0..8 {
        let mut sim = Sim::new(seed, 3, faults);
        for node in &mut sim.nodes {
            node.compact_every = Some(25);
        }
        elect(&mut sim);
        let mut n = 0;
        let mut propose_some = |sim: &mut Sim, count: u64| {
            for _ in 0..count {
                sim.propose(&payload(n));
                n += 1;
                sim.run(1);
            }
        };
        propose_some(&mut sim, 30);
        // A fourth member joins: it starts with no configuration, the leader adds it and sends a snapshot.
        let d = sim.add_node(4, vec![], seed);
        sim.nodes[d].compact_every = Some(25);
        change(&mut sim, ConfChangeKind::AddVoter, 4, &mut propose_some);
        propose_some(&mut sim, 30);
        let knows = |s: &Sim| s.nodes[d].group.as_ref().unwrap().status().voters.contains(&4);
        assert!(sim.run_until(10 * ELECTION, knows), "seed {seed}: 4 does not know it votes");
        // A follower leaves, then the leader itself.
        let l = sim.leader().unwrap();
        let follower = sim.nodes[(l + 1) % 3].id;
        change(&mut sim, ConfChangeKind::RemoveVoter, follower, &mut propose_some);
        propose_some(&mut sim, 20);
        let l = elect(&mut sim);
        let leader = sim.nodes[l].id;
        change(&mut sim, ConfChangeKind::RemoveVoter, leader, &mut propose_some);
        let handed_over = |s: &Sim| s.leader().is_some_and(|l| s.nodes[l].id != leader);
        assert!(sim.run_until(20 * ELECTION, handed_over), "seed {seed}: the removed leader kept leading");
        propose_some(&mut sim, 20);
        for gone in [follower, leader] {
            let i = sim.index_of(gone);
            sim.crash(i);
        }
        converge(&mut sim);
        let voters = sim.nodes[d].g().status().voters;
        let mut expected: Vec<u64> =
            [1, 2, 3, 4].into_iter().filter(|id| *id != follower && *id != leader).collect();
        expected.sort();
        assert_eq!(voters, expected, "seed {seed}");
        assert!(sim.nodes[d].snapshots_restored >= 1, "seed {seed}: the new member never got a snapshot");
    }
}

/// Proposes a configuration change on the leader until it is committed (it may be dropped by a leader change),
/// proposing normal entries meanwhile.
fn change(sim: &mut Sim, kind: ConfChangeKind, id: u64, propose_some: &mut impl FnMut(&mut Sim, u64)) {
    for _ in 0..50 {
        let l = elect(sim);
        let before = sim.max_commit();
        if sim.nodes[l].g().propose_conf_change(kind, id).is_ok() {
            propose_some(sim, 5);
            let applied = |s: &Sim| {
                s.nodes.iter().filter_map(|n| n.group.as_ref()).any(|g| {
                    let st = g.status();
                    st.commit > before && (st.voters.contains(&id) == (kind == ConfChangeKind::AddVoter))
                })
            };
            if sim.run_until(10 * ELECTION, applied) {
                return;
            }
        } else {
            sim.run(5);
        }
    }
    panic!("{kind:?} {id} never committed");
}

#[test]
fn committed_configuration_changes_come_out_with_what_changed() {
    let mut sim = Sim::new(3, 3, Faults::default());
    let l = elect(&mut sim);
    sim.nodes[l].g().propose_conf_change(ConfChangeKind::AddLearner, 7).unwrap();
    assert!(matches!(
        sim.nodes[l].g().propose_conf_change(ConfChangeKind::AddLearner, 8),
        Err(GroupError::Raft(raft::Error::ProposalDropped))
    ));
    sim.settle();
    sim.run(2);
    let leader = sim.nodes[l].id;
    for n in &mut sim.nodes {
        assert_eq!(n.g().status().learners, vec![7]);
        assert_eq!(n.g().status().role == Role::Leader, n.id == leader);
    }
}

#[test]
fn read_index_answers_on_the_leader_and_through_it_on_followers() {
    let mut sim = Sim::new(2, 3, Faults::default());
    let l = elect(&mut sim);
    assert!(sim.propose(b"x"));
    sim.run(2);
    let commit = sim.nodes[l].g().status().commit;
    let f = (l + 1) % 3;
    sim.nodes[l].g().read_index(b"on the leader");
    sim.nodes[f].g().read_index(b"on a follower");
    sim.run(3);
    assert_eq!(sim.nodes[l].read_states, vec![(commit, b"on the leader".to_vec())]);
    assert_eq!(sim.nodes[f].read_states, vec![(commit, b"on a follower".to_vec())]);
    assert_eq!(sim.malformed, 0);
}

#[test]
fn a_read_index_request_relayed_by_a_former_leader_is_answered_to_the_member_that_asked() {
    use protobuf::Message as _;
    use raft::eraftpb::{Entry, Message, MessageType};
    let mut sim = Sim::new(3, 3, Faults::default());
    let l = elect(&mut sim);
    assert!(sim.propose(b"x"));
    sim.run(2);
    let commit = sim.nodes[l].g().status().commit;
    let (asker, relay) = ((l + 1) % 3, (l + 2) % 3);
    // `asker` took `relay` for the leader (it led once): raft-rs sends the request there, with the asker as `from`.
    let (asker_id, relay_id) = (sim.nodes[asker].id, sim.nodes[relay].id);
    let mut m = Message { from: asker_id, to: relay_id, term: 0, ..Default::default() };
    m.set_msg_type(MessageType::MsgReadIndex);
    m.entries.push(Entry { data: b"asked the wrong one".to_vec().into(), ..Default::default() });
    sim.nodes[relay].g().step(asker_id, &m.write_to_bytes().unwrap()).unwrap();
    sim.run(3);
    assert_eq!(sim.malformed, 0, "the relayed request was refused");
    assert_eq!(sim.nodes[asker].read_states, vec![(commit, b"asked the wrong one".to_vec())]);
    assert!(sim.nodes[relay].read_states.is_empty());
}

#[test]
fn followers_learn_a_commit_from_the_next_append_or_from_announce_commit_not_from_an_extra_round() {
    let mut sim = Sim::new(3, 3, Faults::default());
    let l = elect(&mut sim);
    assert!(sim.propose(b"warm"));
    sim.run(ELECTION);
    let applied = |sim: &Sim| sim.nodes.iter().map(|n| n.model.entries.len()).collect::<Vec<_>>();
    let before = applied(&sim);
    // No ticks from here: only appends and their answers move.
    sim.nodes[l].g().propose(b"x").unwrap();
    sim.settle();
    let after_x = applied(&sim);
    assert_eq!(after_x[l], before[l] + 1, "the leader applied x");
    let followers: Vec<usize> = (0..3).filter(|i| *i != l).collect();
    for &f in &followers {
        assert_eq!(
            after_x[f], before[f],
            "no append round after the commit: follower {f} does not know x is committed"
        );
    }
    // The next proposal's append carries the commit of x.
    sim.nodes[l].g().propose(b"y").unwrap();
    sim.settle();
    let after_y = applied(&sim);
    for &f in &followers {
        assert_eq!(after_y[f], before[f] + 1, "follower {f} applied x from y's append");
    }
    // Nothing more proposed: announce_commit tells them about y, once.
    sim.nodes[l].g().announce_commit();
    sim.settle();
    let after = applied(&sim);
    for &f in &followers {
        assert_eq!(after[f], before[f] + 2, "follower {f} applied y after the announcement");
    }
    sim.nodes[l].g().announce_commit();
    assert!(sim.nodes[l].g().ready().unwrap().is_none(), "nothing to announce twice");
    for &f in &followers {
        sim.nodes[f].g().announce_commit();
        assert!(sim.nodes[f].g().ready().unwrap().is_none(), "a follower announces nothing");
    }
}
