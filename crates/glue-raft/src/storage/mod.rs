//! [`DurableStorage`]: raft's [`Storage`] over an in-memory copy of the log, backed (with a data directory) by a
//! write-ahead log and a snapshot file.
//!
//! Layout of a data directory: `raft.snap`, the last snapshot (magic `GLRSNAP1`, then one framed record holding the
//! protobuf `eraftpb.Snapshot`), and `raft.log`, what follows it (magic `GLRLOG01`, then framed records: the base
//! snapshot's index and term, hard states, batches of protobuf entries). A frame is a u32 length, a CRC-32 of the
//! rest, a kind byte and the payload (little-endian); `storage/log_file.rs` and `storage/snapshot_file.rs` give the
//! details. Only entries after the last snapshot are kept, in memory and on disk: compaction bounds both.
//!
//! Crash safety: records reach the log in the order raft produced them and are fsynced (when configured) before
//! anything that depends on them leaves the group. A snapshot is written before the log that continues it; if a
//! crash falls between the two, opening finds a log older than the snapshot and keeps of it only what continues the
//! snapshot (the entries after it when the log holds the snapshot's index with its term, else none).

mod frame;
mod log_file;
mod snapshot_file;

use std::cell::Cell;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

use log_file::{LogFile, LOG_FILE};
use snapshot_file::SNAPSHOT_FILE;

/// Index of the snapshot every group starts from: it holds the initial voters and an empty state, so the first
/// entry of a group's log is index 2, and a member that joins later is always brought in by a snapshot.
pub const INITIAL_INDEX: u64 = 1;
/// Term of the initial snapshot.
pub const INITIAL_TERM: u64 = 1;

/// Largest snapshot state a group writes or accepts: 1 GiB.
pub const MAX_SNAPSHOT_BYTES: usize = 1 << 30;
/// Largest entry a group writes or accepts: 256 MiB.
pub const MAX_ENTRY_BYTES: usize = 256 << 20;

/// The storage of one group: what raft reads back, kept in memory; with a data directory also on disk.
pub struct DurableStorage {
    hard_state: HardState,
    /// The last snapshot (metadata and the application's state).
    snapshot: Snapshot,
    /// The entries after the snapshot, consecutive from `snapshot.index + 1`.
    entries: Vec<Entry>,
    disk: Option<Disk>,
    /// Set when raft asked for a snapshot that the last one cannot serve (see [`Self::take_snapshot_refused`]).
    snapshot_refused: Cell<bool>,
}

struct Disk {
    dir: PathBuf,
    fsync: bool,
    log: LogFile,
}

impl DurableStorage {
    /// Opens the storage: in memory only (`dir` None), or from `dir` (created when missing; replayed when it holds
    /// a log, dropping a torn tail record). Returns the storage and the bytes of a torn tail that were dropped.
    pub fn open(dir: Option<&Path>, fsync: bool) -> io::Result<(DurableStorage, u64)> {
        let mut s = DurableStorage {
            hard_state: HardState::default(),
            snapshot: Snapshot::default(),
            entries: Vec::new(),
            disk: None,
            snapshot_refused: Cell::new(false),
        };
        let Some(dir) = dir else { return Ok((s, 0)) };
        fs::create_dir_all(dir)?;
        for tmp in [format!("{LOG_FILE}.tmp"), format!("{SNAPSHOT_FILE}.tmp")] {
            match fs::remove_file(dir.join(tmp)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        if let Some(snapshot) = snapshot_file::read(dir)? {
            s.snapshot = snapshot;
        }
        let (si, st) = s.snapshot_id();
        let mut torn = 0;
        let log = match LogFile::open(dir, fsync)? {
            Some((log, r)) if r.base == (si, st) => {
                torn = r.torn_bytes;
                s.entries = r.entries;
                s.hard_state = r.hard_state;
                log
            }
            Some((_, r)) if r.base.0 < si => {
                // A crash between writing a snapshot and the log that continues it.
                let continues = r.entries.iter().any(|e| (e.index, e.term) == (si, st));
                s.entries =
                    if continues { r.entries.into_iter().filter(|e| e.index > si).collect() } else { vec![] };
                s.hard_state = r.hard_state;
                s.normalize_hard_state();
                LogFile::create(dir, fsync, (si, st), &s.hard_state, &s.entries)?
            }
            Some(_) => {
                let what =
                    format!("{}: the log continues a snapshot newer than {SNAPSHOT_FILE}", dir.display());
                return Err(io::Error::new(io::ErrorKind::InvalidData, what));
            }
            None => {
                s.normalize_hard_state();
                LogFile::create(dir, fsync, (si, st), &s.hard_state, &[])?
            }
        };
        s.normalize_hard_state();
        s.disk = Some(Disk { dir: dir.to_owned(), fsync, log });
        Ok((s, torn))
    }

    /// True when nothing was ever stored: no snapshot, no entries, no hard state.
    pub fn is_empty(&self) -> bool {
        self.snapshot_id() == (0, 0) && self.entries.is_empty() && self.hard_state == HardState::default()
    }

    /// Stores the initial snapshot ([`INITIAL_INDEX`], [`INITIAL_TERM`]) with these voters and no state.
    pub fn initialize(&mut self, voters: &[u64]) -> io::Result<()> {
        let mut snapshot = Snapshot::default();
        let meta = snapshot.mut_metadata();
        meta.index = INITIAL_INDEX;
        meta.term = INITIAL_TERM;
        meta.mut_conf_state().voters = voters.to_vec();
        self.install(snapshot)
    }

    /// The last snapshot.
    pub fn last_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Index and term of the last snapshot ((0, 0) when there is none).
    pub fn snapshot_id(&self) -> (u64, u64) {
        let meta = self.snapshot.get_metadata();
        (meta.index, meta.term)
    }

    /// The hard state as stored.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// Appends entries (replacing any stored at their indexes or later); on disk at the next [`Self::flush`].
    pub fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        let (si, _) = self.snapshot_id();
        let entries = match entries.iter().position(|e| e.index > si) {
            Some(skip) => &entries[skip..],
            None => return Ok(()),
        };
        let start = entries[0].index;
        if start > self.last() + 1 {
            let what = format!("entries from {start} leave a gap after {}", self.last());
            return Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        }
        self.entries.truncate((start - si - 1) as usize);
        self.entries.extend_from_slice(entries);
        if let Some(disk) = &mut self.disk {
            disk.log.stage_entries(entries);
        }
        Ok(())
    }

    /// Replaces the hard state; on disk at the next [`Self::flush`].
    pub fn set_hard_state(&mut self, hs: &HardState) {
        if *hs != self.hard_state {
            self.hard_state = hs.clone();
            if let Some(disk) = &mut self.disk {
                disk.log.stage_hard_state(hs);
            }
        }
    }

    /// Raises the commit index of the hard state; on disk at the next [`Self::flush`].
    pub fn set_commit(&mut self, commit: u64) {
        if commit > self.hard_state.commit {
            let hs = HardState { commit, ..self.hard_state.clone() };
            self.set_hard_state(&hs);
        }
    }

    /// Installs a snapshot that replaces the whole log (one received from a leader, or the initial one): written
    /// (atomically) before this returns.
    pub fn install(&mut self, snapshot: Snapshot) -> io::Result<()> {
        self.entries.clear();
        self.replace_snapshot(snapshot)
    }

    /// Compaction: `snapshot` is the application's state at an index of this log; the entries up to it are dropped
    /// (from memory and disk) and the log is rewritten. Written before this returns.
    pub fn compact(&mut self, snapshot: Snapshot) -> io::Result<()> {
        let (si, _) = self.snapshot_id();
        let index = snapshot.get_metadata().index;
        let keep_from = (index.saturating_sub(si) as usize).min(self.entries.len());
        self.entries.drain(..keep_from);
        self.replace_snapshot(snapshot)
    }

    fn replace_snapshot(&mut self, snapshot: Snapshot) -> io::Result<()> {
        if let Some(disk) = &mut self.disk {
            // Queued records belong to the old log; everything they hold is in memory and goes into the new one.
            disk.log.flush(false)?;
            snapshot_file::write(&disk.dir, &snapshot, disk.fsync)?;
        }
        self.snapshot = snapshot;
        self.normalize_hard_state();
        if let Some(disk) = &mut self.disk {
            let id = (self.snapshot.get_metadata().index, self.snapshot.get_metadata().term);
            disk.log = LogFile::create(&disk.dir, disk.fsync, id, &self.hard_state, &self.entries)?;
        }
        Ok(())
    }

    /// Writes what is queued; with `sync` (and fsync configured), waits until it is on disk.
    pub fn flush(&mut self, sync: bool) -> io::Result<()> {
        match &mut self.disk {
            Some(disk) => disk.log.flush(sync),
            None => Ok(()),
        }
    }

    /// True (once) when raft wanted to send a snapshot since the last call and the last snapshot could not serve:
    /// there is none yet, or its configuration does not hold the member it was for (it joined after the snapshot).
    /// A new snapshot ([`Self::compact`]) lets the next attempt succeed.
    pub fn take_snapshot_refused(&self) -> bool {
        self.snapshot_refused.replace(false)
    }

    /// Term ≥ the snapshot's, commit within [snapshot index, last index].
    fn normalize_hard_state(&mut self) {
        let (si, st) = self.snapshot_id();
        let last = self.last();
        let hs = &mut self.hard_state;
        hs.term = hs.term.max(st);
        hs.commit = hs.commit.max(si).min(last);
    }

    fn last(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_id().0, |e| e.index)
    }
}

impl Storage for DurableStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(self.hard_state.clone(), self.snapshot.get_metadata().get_conf_state().clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let first = self.snapshot_id().0 + 1;
        if low < first {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let mut entries = self.entries[(low - first) as usize..(high - first) as usize].to_vec();
        raft::util::limit_size(&mut entries, max_size.into());
        Ok(entries)
    }

    fn term(&self, index: u64) -> raft::Result<u64> {
        let (si, st) = self.snapshot_id();
        if index == si {
            return Ok(st);
        }
        if index < si {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        match self.entries.get((index - si - 1) as usize) {
            Some(e) => Ok(e.term),
            None => Err(raft::Error::Store(StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.snapshot_id().0 + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let meta = self.snapshot.get_metadata();
        if meta.index == 0 || meta.index < request_index || !holds(meta.get_conf_state(), to) {
            self.snapshot_refused.set(true);
            return Err(raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable));
        }
        Ok(self.snapshot.clone())
    }
}

/// True when `id` is a member of the configuration.
fn holds(cs: &ConfState, id: u64) -> bool {
    [&cs.voters, &cs.learners, &cs.voters_outgoing, &cs.learners_next].iter().any(|ids| ids.contains(&id))
}

/// Makes a rename in `dir` durable (a no-op where directories cannot be opened, as on Windows).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
