//! Unit tests of the storage: reopening, crashes between snapshot and log, snapshots served, appends.

use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh empty directory under the system's temporary directory, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fresh empty directory (see [`TempDir`]).
pub(crate) fn temp_dir(name: &str) -> TempDir {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("glue-raft-unit-{}-{n}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn entry(index: u64, term: u64) -> Entry {
    Entry { index, term, data: vec![index as u8].into(), ..Default::default() }
}

fn snapshot(index: u64, term: u64, voters: &[u64], data: &[u8]) -> Snapshot {
    let mut s = Snapshot { data: data.to_vec().into(), ..Default::default() };
    s.mut_metadata().index = index;
    s.mut_metadata().term = term;
    s.mut_metadata().mut_conf_state().voters = voters.to_vec();
    s
}

fn reopen(dir: &Path) -> DurableStorage {
    DurableStorage::open(Some(dir), true).unwrap().0
}

#[test]
fn keeps_hard_state_entries_and_snapshot_across_opens() {
    let dir = temp_dir("storage-reopen");
    let (mut s, _) = DurableStorage::open(Some(&dir), true).unwrap();
    assert!(s.is_empty());
    s.initialize(&[1, 2, 3]).unwrap();
    s.append(&[entry(2, 2), entry(3, 2), entry(4, 2)]).unwrap();
    s.set_hard_state(&HardState { term: 2, vote: 3, commit: 3, ..Default::default() });
    s.flush(true).unwrap();
    drop(s);
    let s = reopen(&dir);
    assert_eq!((s.hard_state.term, s.hard_state.vote, s.hard_state.commit), (2, 3, 3));
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (2, 4));
    assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2, 3]);
    let mut s = s;
    s.compact(snapshot(3, 2, &[1, 2, 3], b"at 3")).unwrap();
    drop(s);
    let s = reopen(&dir);
    assert_eq!(s.snapshot_id(), (3, 2));
    assert_eq!(s.last_snapshot().data.as_ref(), b"at 3");
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (4, 4));
    assert_eq!(s.term(3), Ok(2));
    assert_eq!(s.term(2), Err(raft::Error::Store(StorageError::Compacted)));
    assert_eq!(s.hard_state.vote, 3);
}

#[test]
fn a_crash_between_snapshot_and_log_keeps_what_continues_the_snapshot() {
    let dir = temp_dir("storage-crash");
    let (mut s, _) = DurableStorage::open(Some(&dir), true).unwrap();
    s.initialize(&[1]).unwrap();
    s.append(&[entry(2, 2), entry(3, 2), entry(4, 2)]).unwrap();
    s.flush(true).unwrap();
    drop(s);
    // Compaction at 3 whose log rewrite never happened.
    snapshot_file::write(&dir, &snapshot(3, 2, &[1], b"x"), true).unwrap();
    let s = reopen(&dir);
    assert_eq!((s.snapshot_id(), s.last_index().unwrap()), ((3, 2), 4));
    // A leader's snapshot the log does not contain: nothing of the old log continues it.
    snapshot_file::write(&dir, &snapshot(9, 5, &[1], b"y"), true).unwrap();
    let s = reopen(&dir);
    assert_eq!((s.snapshot_id(), s.last_index().unwrap(), s.hard_state.commit), ((9, 5), 9, 9));
}

#[test]
fn serves_a_snapshot_only_to_members_it_holds() {
    let (mut s, _) = DurableStorage::open(None, false).unwrap();
    assert!(s.snapshot(0, 2).is_err() && s.take_snapshot_refused());
    s.initialize(&[1, 2]).unwrap();
    assert!(s.snapshot(0, 2).is_ok());
    assert!(!s.take_snapshot_refused());
    assert!(s.snapshot(0, 4).is_err());
    assert!(s.take_snapshot_refused() && !s.take_snapshot_refused());
}

#[test]
fn append_replaces_a_suffix_and_refuses_gaps() {
    let (mut s, _) = DurableStorage::open(None, false).unwrap();
    s.initialize(&[1]).unwrap();
    s.append(&[entry(2, 2), entry(3, 2), entry(4, 2)]).unwrap();
    s.append(&[entry(3, 3)]).unwrap();
    assert_eq!((s.last_index().unwrap(), s.term(3).unwrap()), (3, 3));
    assert!(s.append(&[entry(9, 3)]).is_err());
    assert_eq!(s.entries(2, 4, None, GetEntriesContext::empty(false)).unwrap().len(), 2);
    assert!(s.entries(1, 3, None, GetEntriesContext::empty(false)).is_err());
    assert!(s.entries(2, 9, None, GetEntriesContext::empty(false)).is_err());
}
