//! Durability with a data directory: a restart keeps term, vote and log, restores the last snapshot and hands out
//! again only the committed entries after it; a torn last record is dropped; members crashing and restarting under
//! faults keep the group safe.

mod sim;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use glue_raft::storage::DurableStorage;
use glue_raft::{EntryKind, Group, GroupConfig, Output, Role};
use sim::{payload, temp_dir, Faults, Model, Sim};

const ELECTION: u64 = 20;

/// A single-member group in `dir`, leading.
fn solo(dir: &Path) -> Group {
    let mut config = GroupConfig::new(1, vec![1]);
    config.data_dir = Some(dir.to_owned());
    let mut g = Group::open(config).unwrap();
    g.campaign().unwrap();
    drain(&mut g);
    assert_eq!(g.status().role, Role::Leader);
    g
}

/// Everything `g` hands out until it is quiet, merged.
fn drain(g: &mut Group) -> Output {
    let mut all = Output::default();
    while let Some(out) = g.ready().unwrap() {
        all.snapshot = all.snapshot.or(out.snapshot);
        all.committed.extend(out.committed);
        all.messages.extend(out.messages);
    }
    all
}

fn normal(out: &Output) -> Vec<(u64, Vec<u8>)> {
    out.committed
        .iter()
        .filter(|c| c.kind == EntryKind::Normal && !c.data.is_empty())
        .map(|c| (c.index, c.data.clone()))
        .collect()
}

#[test]
fn a_restart_restores_the_last_snapshot_and_hands_out_only_the_entries_after_it() {
    let dir = temp_dir("solo-restart");
    let mut g = solo(&dir);
    let mut handed = Vec::new();
    for n in 0..10 {
        g.propose(&payload(n)).unwrap();
        handed.extend(normal(&drain(&mut g)));
    }
    let (snap_index, _) = handed[5].clone();
    g.compact(snap_index, b"state after six").unwrap();
    g.set_applied(handed.last().unwrap().0).unwrap();
    let before = g.status();
    drop(g);

    let mut g = reopen(&dir);
    assert_eq!(g.status().applied, snap_index, "after opening, applied is the snapshot's index");
    let out = drain(&mut g);
    let (index, _term, state) = out.snapshot.clone().expect("the snapshot comes first");
    assert_eq!((index, state.as_slice()), (snap_index, &b"state after six"[..]));
    assert_eq!(out.committed.first().unwrap().index, snap_index + 1, "nothing up to the snapshot again");
    assert_eq!(normal(&out), handed[6..].to_vec(), "every committed entry after it, once");
    let after = g.status();
    assert!(after.term >= before.term && after.commit == before.commit);
    assert_eq!(after.voters, vec![1]);
}

#[test]
fn a_restart_keeps_term_vote_and_log_of_every_member() {
    let mut sim = Sim::with_dirs(7, 3, Faults::default(), "restart-all");
    assert!(sim.run_until(10 * ELECTION, |s| s.leader().is_some()));
    for n in 0..40 {
        assert!(sim.propose(&payload(n)));
        if n == 25 {
            for node in &mut sim.nodes {
                let (applied, state) = (node.model.applied, node.model.encode());
                node.g().compact(applied, &state).unwrap();
            }
        }
    }
    sim.run(3);
    let models: Vec<Model> = sim.nodes.iter().map(|n| n.model.clone()).collect();
    let statuses: Vec<_> = sim.nodes.iter_mut().map(|n| n.g().status()).collect();
    for i in 0..3 {
        sim.crash(i);
    }
    for (i, s) in statuses.iter().enumerate() {
        let dir = sim.nodes[i].config.data_dir.clone().unwrap();
        let (stored, _) = DurableStorage::open(Some(&dir), true).unwrap();
        let hs = stored.hard_state();
        assert_eq!(hs.term, s.term, "member {}: term", i + 1);
        assert_ne!(hs.vote, 0, "member {}: its vote in term {} is kept", i + 1, s.term);
        assert_eq!(raft::Storage::last_index(&stored).unwrap(), s.commit);
    }
    for i in 0..3 {
        sim.restart(i);
    }
    sim.settle();
    for (i, model) in models.iter().enumerate() {
        // Rebuilt from the snapshot and the entries after it (the simulation checks each index comes once).
        assert_eq!(&sim.nodes[i].model, model, "member {}", i + 1);
        assert_eq!(sim.nodes[i].snapshots_restored, 1);
        assert!(sim.nodes[i].g().status().term >= statuses[i].term);
    }
    assert!(sim.run_until(10 * ELECTION, |s| s.leader().is_some()));
    assert!(sim.propose(b"after restart"));
    sim.run(3);
    assert!(sim.nodes.iter().all(|n| n.model.entries.last().unwrap() == b"after restart"));
}

#[test]
fn members_crashing_and_restarting_under_faults_keep_the_group_safe() {
    let faults = Faults { loss: 0.05, duplicate: 0.05, max_delay: 2 };
    for seed in 0..6 {
        let mut sim = Sim::with_dirs_unsynced(seed, 5, faults, &format!("crashes-{seed}"));
        for node in &mut sim.nodes {
            node.compact_every = Some(15);
        }
        let mut down: Option<usize> = None;
        for n in 0..200 {
            if n % 25 == 0 {
                if let Some(i) = down.take() {
                    sim.restart(i);
                    sim.nodes[i].compact_every = Some(15);
                } else {
                    let i = sim.below(5) as usize;
                    sim.crash(i);
                    down = Some(i);
                }
            }
            sim.propose(&payload(n));
            let ticks = 1 + sim.below(3);
            sim.run(ticks);
        }
        if let Some(i) = down {
            sim.restart(i);
        }
        sim.faults = Faults::default();
        assert!(sim.run_until(20 * ELECTION, |s| s.leader().is_some()));
        assert!(sim.propose(b"end"));
        let done =
            |s: &Sim| s.nodes.iter().all(|n| n.model.entries.last().map(|e| e.as_slice()) == Some(b"end"));
        if !sim.run_until(20 * ELECTION, done) {
            for n in &mut sim.nodes {
                let (applied, last, snaps) =
                    (n.model.applied, n.model.entries.last().cloned(), n.snapshots_restored);
                let (id, status) = (n.id, n.g().status());
                eprintln!("{id} applied {applied} last {last:?} snaps {snaps} {status:?}");
            }
            panic!("seed {seed}: members did not converge (malformed {})", sim.malformed);
        }
        let first = sim.nodes[0].model.clone();
        assert!(sim.nodes.iter().all(|n| n.model == first), "seed {seed}");
        assert!(first.entries.len() > 100, "seed {seed}: only {} committed", first.entries.len());
    }
}

#[test]
fn a_torn_last_record_is_dropped_and_the_log_goes_on() {
    let dir = temp_dir("torn");
    let log = dir.join("raft.log");
    let mut g = solo(&dir);
    let mut handed = Vec::new();
    for n in 0..5 {
        g.propose(&payload(n)).unwrap();
        handed.extend(normal(&drain(&mut g)));
    }
    drop(g);
    let intact = fs::read(&log).unwrap();
    for (what, tail) in [("half a record", vec![40, 0, 0, 0, 1, 2, 3, 4, 3, 9, 9]), ("zeros", vec![0; 64])] {
        fs::write(&log, &intact).unwrap();
        OpenOptions::new().append(true).open(&log).unwrap().write_all(&tail).unwrap();
        let mut g = reopen(&dir);
        assert_eq!(fs::metadata(&log).unwrap().len() as usize, intact.len(), "{what}: the tail is cut off");
        let out = drain(&mut g);
        assert_eq!(normal(&out), handed, "{what}: the intact records are all there");
        g.campaign().unwrap();
        drain(&mut g);
        g.propose(b"more").unwrap();
        assert_eq!(normal(&drain(&mut g)).last().unwrap().1, b"more");
    }
    // A crash in the middle of the last record written: it is gone, the rest is there.
    fs::write(&log, &intact[..intact.len() - 3]).unwrap();
    let mut g = reopen(&dir);
    let out = drain(&mut g);
    let got = normal(&out);
    assert!(got.len() >= handed.len() - 1 && got[..] == handed[..got.len()], "{got:?}");
    g.campaign().unwrap();
    drain(&mut g);
    g.propose(b"after the tear").unwrap();
    assert_eq!(normal(&drain(&mut g)).last().unwrap().1, b"after the tear");
}

/// Opens the member of `dir` again (its storage holds the group: no voters needed).
fn reopen(dir: &Path) -> Group {
    let mut config = GroupConfig::new(1, vec![]);
    config.data_dir = Some(dir.to_owned());
    Group::open(config).unwrap()
}

#[test]
fn a_member_restarted_in_memory_under_the_same_id_catches_up_again() {
    // Liveness only: a member that forgot its log and vote weakens Raft's safety (see GroupConfig::data_dir), but the
    // heartbeat commit beyond its log must not panic it and the leader must bring it back.
    for seed in 0..10 {
        let mut sim = Sim::new(seed, 3, Faults::default());
        assert!(sim.run_until(10 * ELECTION, |s| s.leader().is_some()));
        for n in 0..50 {
            assert!(sim.propose(&payload(n)));
        }
        let f = (sim.leader().unwrap() + 1) % 3;
        sim.crash(f);
        for n in 50..60 {
            assert!(sim.propose(&payload(n)));
        }
        sim.restart(f);
        assert!(sim.run_until(10 * ELECTION, |s| s.nodes[f].model.entries.len() == 60), "seed {seed}");
        assert_eq!(sim.malformed, 0);
    }
}
