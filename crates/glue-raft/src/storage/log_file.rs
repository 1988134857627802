//! The write-ahead log `raft.log`: the magic `GLRLOG01`, then records (see [`super::frame`]):
//!
//! | kind | record      | payload                                                                  |
//! |------|-------------|--------------------------------------------------------------------------|
//! | 1    | base        | index u64, term u64: the snapshot this log continues (first record only)  |
//! | 2    | hard state  | term u64, vote u64, commit u64                                           |
//! | 3    | entries     | each entry as u32 length + protobuf `eraftpb.Entry`, consecutive indexes  |
//!
//! Replaying applies the records in order; an entries record starting at index `k` first drops every entry at `k`
//! or later (a leader overwrote a conflicting suffix). A record cut short at the end (a crash during a write) is
//! dropped and the file truncated there; damage with intact data after it is an error. Compaction and installed
//! snapshots replace the whole file atomically ([`LogFile::create`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use protobuf::Message as _;
use raft::eraftpb::{Entry, HardState};

use super::frame::{self, Cursor, Read};
use super::sync_dir;

/// File name of the log inside the data directory.
pub(crate) const LOG_FILE: &str = "raft.log";
const MAGIC: &[u8; 8] = b"GLRLOG01";
const BASE: u8 = 1;
const HARD_STATE: u8 = 2;
const ENTRIES: u8 = 3;
/// Entries records are split at about this size.
const ENTRIES_RECORD: usize = 64 << 20;

/// What replaying a log found.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// Index and term of the snapshot the log continues.
    pub base: (u64, u64),
    /// The last hard state written (default when none was).
    pub hard_state: HardState,
    /// The entries after `base`, consecutive.
    pub entries: Vec<Entry>,
    /// Bytes of a torn last record that were dropped (0 when the file ended cleanly).
    pub torn_bytes: u64,
}

/// An open log, appending.
pub(crate) struct LogFile {
    file: File,
    pending: Vec<u8>,
    fsync: bool,
}

impl LogFile {
    /// Replays the log in `dir`, truncating a torn tail; `None` when there is no log.
    pub(crate) fn open(dir: &Path, fsync: bool) -> io::Result<Option<(LogFile, Replayed)>> {
        let path = dir.join(LOG_FILE);
        let buf = match fs::read(&path) {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let (replayed, good) = replay(&buf).map_err(|what| damaged(&path, what))?;
        let file = OpenOptions::new().append(true).open(&path)?;
        if (good as u64) < buf.len() as u64 {
            file.set_len(good as u64)?;
            file.sync_all()?;
        }
        Ok(Some((LogFile { file, pending: Vec::new(), fsync }, replayed)))
    }

    /// Writes a new log (base, hard state, entries) in place of the old one, atomically: a temporary file, fsync,
    /// rename, fsync of the directory.
    pub(crate) fn create(
        dir: &Path,
        fsync: bool,
        base: (u64, u64),
        hard_state: &HardState,
        entries: &[Entry],
    ) -> io::Result<LogFile> {
        let mut buf = MAGIC.to_vec();
        let mut base_payload = base.0.to_le_bytes().to_vec();
        base_payload.extend_from_slice(&base.1.to_le_bytes());
        frame::put(&mut buf, BASE, &base_payload);
        put_hard_state(&mut buf, hard_state);
        put_entries(&mut buf, entries);
        let tmp: PathBuf = dir.join(format!("{LOG_FILE}.tmp"));
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        file.write_all(&buf)?;
        if fsync {
            file.sync_all()?;
        }
        fs::rename(&tmp, dir.join(LOG_FILE))?;
        if fsync {
            sync_dir(dir)?;
        }
        Ok(LogFile { file, pending: Vec::new(), fsync })
    }

    /// Queues entries for the next [`flush`](Self::flush).
    pub(crate) fn stage_entries(&mut self, entries: &[Entry]) {
        put_entries(&mut self.pending, entries);
    }

    /// Queues a hard state for the next [`flush`](Self::flush).
    pub(crate) fn stage_hard_state(&mut self, hard_state: &HardState) {
        put_hard_state(&mut self.pending, hard_state);
    }

    /// Writes what is queued; with `sync` (and fsync configured), waits until it is on disk.
    pub(crate) fn flush(&mut self, sync: bool) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.file.write_all(&self.pending)?;
            self.pending.clear();
        }
        if sync && self.fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

fn put_hard_state(out: &mut Vec<u8>, hs: &HardState) {
    let mut payload = [0u8; 24];
    payload[..8].copy_from_slice(&hs.term.to_le_bytes());
    payload[8..16].copy_from_slice(&hs.vote.to_le_bytes());
    payload[16..].copy_from_slice(&hs.commit.to_le_bytes());
    frame::put(out, HARD_STATE, &payload);
}

fn put_entries(out: &mut Vec<u8>, entries: &[Entry]) {
    let mut payload = Vec::new();
    for e in entries {
        let bytes = e.write_to_bytes().expect("entries encode");
        if !payload.is_empty() && payload.len() + bytes.len() > ENTRIES_RECORD {
            frame::put(out, ENTRIES, &payload);
            payload.clear();
        }
        frame::put_bytes(&mut payload, &bytes);
    }
    if !payload.is_empty() {
        frame::put(out, ENTRIES, &payload);
    }
}

/// Replays a whole log; returns what it holds and the length of its intact part.
fn replay(buf: &[u8]) -> Result<(Replayed, usize), String> {
    if buf.len() < MAGIC.len() || &buf[..MAGIC.len()] != MAGIC {
        return Err("not a glue raft log (bad magic)".into());
    }
    let mut r = Replayed::default();
    let mut at = MAGIC.len();
    let mut first = true;
    loop {
        match frame::next(buf, at) {
            Read::Record { kind, payload, end } => {
                if first != (kind == BASE) {
                    return Err(format!("the base record must come first and once (offset {at})"));
                }
                first = false;
                apply(&mut r, kind, payload).map_err(|what| format!("{what} at offset {at}"))?;
                at = end;
            }
            Read::End => break,
            Read::Torn => {
                r.torn_bytes = (buf.len() - at) as u64;
                break;
            }
            Read::Corrupt => return Err(format!("damaged record at offset {at}")),
        }
    }
    if first {
        return Err("no base record".into());
    }
    Ok((r, at))
}

fn apply(r: &mut Replayed, kind: u8, payload: &[u8]) -> Result<(), String> {
    let mut c = Cursor(payload);
    match kind {
        BASE => {
            r.base = (c.u64().ok_or("short base")?, c.u64().ok_or("short base")?);
        }
        HARD_STATE => {
            let (term, vote, commit) = (c.u64(), c.u64(), c.u64());
            let (Some(term), Some(vote), Some(commit)) = (term, vote, commit) else {
                return Err("short hard state".into());
            };
            r.hard_state = HardState { term, vote, commit, ..Default::default() };
        }
        ENTRIES => {
            let mut batch = Vec::new();
            while !c.is_empty() {
                let bytes = c.bytes().ok_or("short entry")?;
                let e = Entry::parse_from_bytes(bytes).map_err(|e| format!("bad entry: {e}"))?;
                batch.push(e);
            }
            append(r, batch)?;
        }
        other => return Err(format!("unknown record kind {other}")),
    }
    if !c.is_empty() {
        return Err(format!("record kind {kind} too long"));
    }
    Ok(())
}

/// Appends a batch, dropping the suffix it overwrites.
fn append(r: &mut Replayed, batch: Vec<Entry>) -> Result<(), String> {
    let Some(start) = batch.first().map(|e| e.index) else { return Ok(()) };
    if batch.iter().enumerate().any(|(i, e)| e.index != start + i as u64) {
        return Err("entries not consecutive".into());
    }
    let base = r.base.0;
    let last = r.entries.last().map_or(base, |e| e.index);
    if start <= base || start > last + 1 {
        return Err(format!("entries from {start} do not follow the log ({base}..={last})"));
    }
    r.entries.truncate((start - base - 1) as usize);
    r.entries.extend(batch);
    Ok(())
}

fn damaged(path: &Path, what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
        Entry { index, term, data: data.to_vec().into(), ..Default::default() }
    }

    fn hs(term: u64, vote: u64, commit: u64) -> HardState {
        HardState { term, vote, commit, ..Default::default() }
    }

    #[test]
    fn replays_entries_hard_state_and_conflicting_suffixes() {
        let dir = crate::storage::tests::temp_dir("log-replay");
        let mut log = LogFile::create(&dir, true, (5, 2), &hs(2, 0, 5), &[]).unwrap();
        log.stage_entries(&[entry(6, 2, b"a"), entry(7, 2, b"b"), entry(8, 2, b"c")]);
        log.stage_hard_state(&hs(3, 9, 6));
        log.stage_entries(&[entry(7, 3, b"B")]);
        log.flush(true).unwrap();
        drop(log);
        let (_, r) = LogFile::open(&dir, true).unwrap().unwrap();
        assert_eq!(r.base, (5, 2));
        assert_eq!((r.hard_state.term, r.hard_state.vote, r.hard_state.commit), (3, 9, 6));
        let got: Vec<_> = r.entries.iter().map(|e| (e.index, e.term, e.data.to_vec())).collect();
        assert_eq!(got, vec![(6, 2, b"a".to_vec()), (7, 3, b"B".to_vec())]);
        assert_eq!(r.torn_bytes, 0);
    }

    #[test]
    fn a_gap_or_damage_in_the_middle_is_an_error() {
        let dir = crate::storage::tests::temp_dir("log-gap");
        let mut log = LogFile::create(&dir, false, (0, 0), &HardState::default(), &[]).unwrap();
        log.stage_entries(&[entry(3, 1, b"x")]);
        log.flush(false).unwrap();
        let e = LogFile::open(&dir, false).err().expect("a gap is an error");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let mut log = LogFile::create(&dir, false, (0, 0), &HardState::default(), &[]).unwrap();
        log.stage_entries(&[entry(1, 1, b"x")]);
        log.stage_entries(&[entry(2, 1, b"y")]);
        log.flush(false).unwrap();
        let path = dir.join(LOG_FILE);
        let mut bytes = fs::read(&path).unwrap();
        let mut starts = vec![];
        let mut at = MAGIC.len();
        while let Read::Record { end, .. } = frame::next(&bytes, at) {
            starts.push(at);
            at = end;
        }
        // Inside the first entries record, with the second one intact after it.
        bytes[starts[starts.len() - 2] + frame::HEADER + 2] ^= 0x55;
        fs::write(&path, &bytes).unwrap();
        assert!(LogFile::open(&dir, false).is_err());
    }
}
