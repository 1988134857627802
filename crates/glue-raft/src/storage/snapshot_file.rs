//! The snapshot file `raft.snap`: the magic `GLRSNAP1` and one record (see [`super::frame`]) of kind 16 holding the
//! protobuf `eraftpb.Snapshot` (metadata: index, term, configuration; data: the application's state). Written
//! atomically: a temporary file, fsync, rename over the old one, fsync of the directory. It is never torn, so any
//! damage is an error.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use protobuf::Message as _;
use raft::eraftpb::Snapshot;

use super::frame::{self, Read};
use super::sync_dir;

/// File name of the snapshot inside the data directory.
pub(crate) const SNAPSHOT_FILE: &str = "raft.snap";
const MAGIC: &[u8; 8] = b"GLRSNAP1";
const SNAPSHOT: u8 = 16;

/// Replaces the snapshot file atomically.
pub(crate) fn write(dir: &Path, snapshot: &Snapshot, fsync: bool) -> io::Result<()> {
    let payload = snapshot.write_to_bytes().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut buf = Vec::with_capacity(MAGIC.len() + frame::HEADER + 1 + payload.len());
    buf.extend_from_slice(MAGIC);
    frame::put(&mut buf, SNAPSHOT, &payload);
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
    file.write_all(&buf)?;
    if fsync {
        file.sync_all()?;
    }
    drop(file);
    fs::rename(&tmp, dir.join(SNAPSHOT_FILE))?;
    if fsync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Reads the snapshot file; `None` when there is none.
pub(crate) fn read(dir: &Path) -> io::Result<Option<Snapshot>> {
    let path = dir.join(SNAPSHOT_FILE);
    let buf = match fs::read(&path) {
        Ok(buf) => buf,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", path.display()));
    if buf.len() < MAGIC.len() || &buf[..MAGIC.len()] != MAGIC {
        return Err(bad("not a glue raft snapshot (bad magic)"));
    }
    match frame::next(&buf, MAGIC.len()) {
        Read::Record { kind: SNAPSHOT, payload, end } if end == buf.len() => {
            Snapshot::parse_from_bytes(payload).map(Some).map_err(|e| bad(&format!("bad snapshot: {e}")))
        }
        _ => Err(bad("damaged snapshot record")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_damage_is_an_error() {
        let dir = crate::storage::tests::temp_dir("snap-file");
        assert!(read(&dir).unwrap().is_none());
        let mut s = Snapshot { data: b"state".to_vec().into(), ..Default::default() };
        s.mut_metadata().index = 9;
        s.mut_metadata().term = 3;
        s.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
        write(&dir, &s, true).unwrap();
        assert_eq!(read(&dir).unwrap().unwrap(), s);
        assert!(!dir.join(format!("{SNAPSHOT_FILE}.tmp")).exists());
        let path = dir.join(SNAPSHOT_FILE);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(read(&dir).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
