//! The order journal: an append-only write-ahead log of framed, checksummed records.
//!
//! # Format
//!
//! A 16-byte file header ([`MAGIC`], then the format version as u32 LE, then 4 reserved zero
//! bytes), then records, each framed as
//!
//! ```text
//! u32 LE payload length | u32 LE CRC32 over seq+kind+payload | u64 LE seq | u8 kind | payload
//! ```
//!
//! Sequence numbers start at 1 and increase by exactly 1 per record.
//!
//! # Durability
//!
//! Every [`Journal::append`] (and [`Journal::append_batch`]) builds its frames in a reusable
//! buffer and hands them to the kernel in one `write`: nothing is buffered in user space, so a
//! process crash (even `SIGKILL`) after `append` returns loses nothing. Surviving a power loss
//! needs the data on disk: see [`FsyncPolicy`].
//!
//! # Recovery
//!
//! Opening an existing journal scans it. A short, CRC-bad or out-of-sequence frame at the tail is
//! a torn write: the file is truncated there (the count of dropped bytes is reported) and
//! appending resumes after the last good record. A bad frame followed by a valid one is
//! corruption, and opening fails: good records are never dropped silently.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The first 8 bytes of every journal file.
pub const MAGIC: [u8; 8] = *b"VGJRNL\x00\x01";
/// The record format version written after the magic.
pub const VERSION: u32 = 1;
/// Bytes of the file header: magic, version, 4 reserved bytes.
pub const HEADER_LEN: u64 = HEADER as u64;
const HEADER: usize = 16;
/// Bytes of a frame before its payload: length, CRC, seq, kind.
pub const FRAME_HEADER_LEN: usize = 17;
/// The largest payload a record may carry (64 MiB).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// What can go wrong with a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An operating-system error on the journal file.
    #[error("journal {path}: {op} failed: {source}")]
    Io {
        /// The journal file.
        path: String,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with the journal magic.
    #[error("{path} is not a venuegate journal (bad magic)")]
    Foreign {
        /// The file.
        path: String,
    },
    /// The file is a journal of a format version this build cannot read.
    #[error("journal {path} has format version {version}; this build reads version {VERSION}")]
    Version {
        /// The file.
        path: String,
        /// The version found.
        version: u32,
    },
    /// A bad record that valid records follow: corruption, not a torn tail.
    #[error(
        "journal {path} is corrupt at byte {offset}: {reason}, and valid records follow \
         (not a torn tail; refusing to drop them)"
    )]
    Corrupt {
        /// The file.
        path: String,
        /// Byte offset of the bad frame.
        offset: u64,
        /// Why the frame is bad.
        reason: &'static str,
    },
    /// A payload over [`MAX_PAYLOAD`].
    #[error("journal record payload of {len} bytes exceeds the limit of {MAX_PAYLOAD} bytes")]
    TooLarge {
        /// The payload's length.
        len: usize,
    },
    /// A read offset inside the file header.
    #[error("journal read offset {offset} is inside the {HEADER_LEN}-byte header")]
    BadOffset {
        /// The offset given.
        offset: u64,
    },
    /// The journal was closed.
    #[error("journal {path} is closed")]
    Closed {
        /// The file.
        path: String,
    },
    /// The background group-commit thread failed to sync; nothing is durable past that point.
    #[error("journal {path}: background fsync failed: {message}")]
    GroupSync {
        /// The file.
        path: String,
        /// The OS error's text.
        message: String,
    },
}

/// When appended records are forced to disk (`fdatasync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Never (except on request): records survive a process crash, not a power loss.
    None,
    /// A background thread syncs every `interval` when there were writes; a power loss loses
    /// at most about one interval.
    Group {
        /// Time between syncs.
        interval: Duration,
    },
    /// After every append: survives a power loss once `append` returns.
    Always,
}

/// One record as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Sequence number (1, 2, ...).
    pub seq: u64,
    /// The record kind byte.
    pub kind: u8,
    /// The payload.
    pub payload: &'a [u8],
}

/// Where a frame failed to verify.
#[derive(Debug, Clone, Copy)]
struct BadFrame {
    offset: usize,
    reason: &'static str,
}

/// The result of scanning a buffer of frames.
#[derive(Debug, Default)]
struct Scan {
    /// `(seq, kind, payload start, payload end)` per good record, offsets into the buffer.
    records: Vec<(u64, u8, usize, usize)>,
    /// Offset just past the last good record.
    end: usize,
    /// The first bad frame, if the buffer does not end exactly after a good record.
    bad: Option<BadFrame>,
}

fn crc(seq: u64, kind: u8, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&[kind]);
    h.update(payload);
    h.finalize()
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = buf.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Verifies the frame at `at`: `Ok((seq, kind, payload range, next offset))` or why it is bad.
/// `expected` is the required seq (None: any seq above zero, for the first frame of a tail read).
fn frame_at(
    buf: &[u8],
    at: usize,
    expected: Option<u64>,
) -> Result<(u64, u8, usize, usize), &'static str> {
    let rest = buf.len().saturating_sub(at);
    if rest < FRAME_HEADER_LEN {
        return Err("short frame header");
    }
    let (Some(len), Some(want_crc), Some(seq), Some(&kind)) = (
        u32_at(buf, at),
        u32_at(buf, at + 4),
        u64_at(buf, at + 8),
        buf.get(at + 16),
    ) else {
        return Err("short frame header");
    };
    let len = len as usize;
    if len > MAX_PAYLOAD {
        return Err("length over the limit");
    }
    let start = at + FRAME_HEADER_LEN;
    let end = start + len;
    let Some(payload) = buf.get(start..end) else {
        return Err("short payload");
    };
    if crc(seq, kind, payload) != want_crc {
        return Err("CRC mismatch");
    }
    match expected {
        Some(want) if seq != want => return Err("out of sequence"),
        None if seq == 0 => return Err("sequence zero"),
        _ => {}
    }
    Ok((seq, kind, start, end))
}

/// Scans frames from the start of `buf`; the first must have seq `first` (None: any).
fn scan(buf: &[u8], first: Option<u64>) -> Scan {
    let mut out = Scan::default();
    let mut at = 0usize;
    let mut expected = first;
    while at < buf.len() {
        match frame_at(buf, at, expected) {
            Ok((seq, kind, start, end)) => {
                out.records.push((seq, kind, start, end));
                at = end;
                expected = seq.checked_add(1);
                if expected.is_none() {
                    // u64 exhausted: nothing can follow legally.
                    break;
                }
            }
            Err(reason) => {
                out.bad = Some(BadFrame { offset: at, reason });
                break;
            }
        }
    }
    out.end = at;
    if out.bad.is_none() && at < buf.len() {
        out.bad = Some(BadFrame {
            offset: at,
            reason: "record after the last sequence number",
        });
    }
    out
}

/// True if any byte offset after `from` holds a CRC-valid frame with a seq above `last_seq`:
/// good records after a bad frame, so the bad frame is corruption rather than a torn tail.
fn valid_frame_after(buf: &[u8], from: usize, last_seq: u64) -> bool {
    let mut at = from + 1;
    while at + FRAME_HEADER_LEN <= buf.len() {
        if let Some(seq) = u64_at(buf, at + 8) {
            if seq > last_seq && frame_at(buf, at, None).is_ok() {
                return true;
            }
        }
        at += 1;
    }
    false
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        path: path.display().to_string(),
        op,
        source,
    }
}

fn header() -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Checks the file header in `buf` (at least [`HEADER_LEN`] bytes).
fn check_header(path: &Path, buf: &[u8]) -> Result<(), JournalError> {
    if buf.get(..8) != Some(&MAGIC[..]) {
        return Err(JournalError::Foreign {
            path: path.display().to_string(),
        });
    }
    let version = u32_at(buf, 8).unwrap_or(0);
    if version != VERSION {
        return Err(JournalError::Version {
            path: path.display().to_string(),
            version,
        });
    }
    Ok(())
}

/// Records read from a journal file, read-only: see [`read_journal`].
#[derive(Debug)]
pub struct JournalRead {
    data: Vec<u8>,
    records: Vec<(u64, u8, usize, usize)>,
    /// Byte offset (in the file) just past the last good record: where the next read resumes.
    pub end_offset: u64,
    /// Bytes after `end_offset` that do not form a complete record (a torn or in-progress write).
    pub torn_bytes: u64,
}

impl JournalRead {
    /// The records, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RecordRef<'_>> + '_ {
        self.records.iter().map(|&(seq, kind, s, e)| RecordRef {
            seq,
            kind,
            payload: self.data.get(s..e).unwrap_or_default(),
        })
    }

    /// The number of records read.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when no record was read.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Reads the records of a journal file from byte `offset` (0: from the first record), without
/// modifying it. A torn tail is reported in [`JournalRead::torn_bytes`], not removed, so a file
/// another process is appending to can be tailed: pass the last `end_offset` as the next
/// `offset`.
///
/// # Errors
///
/// I/O errors, a foreign file or version, an `offset` inside the header, and corruption (a bad
/// record followed by valid ones).
pub fn read_journal(path: impl AsRef<Path>, offset: u64) -> Result<JournalRead, JournalError> {
    let path = path.as_ref();
    if offset != 0 && offset < HEADER_LEN {
        return Err(JournalError::BadOffset { offset });
    }
    let mut file = File::open(path).map_err(io_err(path, "open"))?;
    let mut head = [0u8; 16];
    file.read_exact(&mut head)
        .map_err(io_err(path, "read header"))?;
    check_header(path, &head)?;
    let start = offset.max(HEADER_LEN);
    file.seek(SeekFrom::Start(start))
        .map_err(io_err(path, "seek"))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(io_err(path, "read"))?;
    let first = if offset <= HEADER_LEN { Some(1) } else { None };
    let s = scan(&data, first);
    let last = s.records.last().map_or(0, |r| r.0);
    if let Some(bad) = s.bad {
        if valid_frame_after(&data, bad.offset, last) {
            return Err(JournalError::Corrupt {
                path: path.display().to_string(),
                offset: start + bad.offset as u64,
                reason: bad.reason,
            });
        }
    }
    Ok(JournalRead {
        end_offset: start + s.end as u64,
        torn_bytes: (data.len() - s.end) as u64,
        data,
        records: s.records,
    })
}

/// State shared with the group-commit thread.
#[derive(Debug)]
struct Shared {
    file: File,
    dirty: AtomicBool,
    syncs: AtomicU64,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn group_loop(&self, interval: Duration) {
        let mut stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *stop {
                return;
            }
            let (guard, _) = self
                .wake
                .wait_timeout(stop, interval)
                .unwrap_or_else(PoisonError::into_inner);
            stop = guard;
            if *stop {
                return;
            }
            if self.dirty.swap(false, Ordering::AcqRel) {
                if let Err(e) = self.sync() {
                    *self.failure.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(e.to_string());
                    self.failed.store(true, Ordering::Release);
                    return;
                }
            }
        }
    }
}

/// An open journal, appending. See the module documentation.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    path: PathBuf,
    policy: FsyncPolicy,
    next_seq: u64,
    end: u64,
    buf: Vec<u8>,
    recovered_torn_bytes: u64,
    group: Option<JoinHandle<()>>,
    closed: bool,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`, recovering a torn tail.
    ///
    /// # Errors
    ///
    /// I/O errors, a foreign file or version, and corruption before the tail.
    pub fn open(path: impl AsRef<Path>, policy: FsyncPolicy) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path, "open"))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io_err(&path, "read"))?;
        let hdr = header();
        let mut torn = 0u64;
        let (next_seq, end) = if (data.len() as u64) < HEADER_LEN {
            // New file, or a header torn while being created: only a prefix of ours counts.
            if !hdr.starts_with(&data) {
                return Err(JournalError::Foreign {
                    path: path.display().to_string(),
                });
            }
            torn = data.len() as u64;
            file.set_len(0).map_err(io_err(&path, "truncate"))?;
            file.write_all(&hdr)
                .map_err(io_err(&path, "write header"))?;
            file.sync_all().map_err(io_err(&path, "sync"))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the new directory entry durable; best effort where directories cannot
                // be opened (the data itself is synced above).
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            (1, HEADER_LEN)
        } else {
            check_header(&path, &data)?;
            let body = data.get(HEADER..).unwrap_or_default();
            let s = scan(body, Some(1));
            let last = s.records.last().map_or(0, |r| r.0);
            if let Some(bad) = s.bad {
                if valid_frame_after(body, bad.offset, last) {
                    return Err(JournalError::Corrupt {
                        path: path.display().to_string(),
                        offset: HEADER_LEN + bad.offset as u64,
                        reason: bad.reason,
                    });
                }
                torn = (body.len() - s.end) as u64;
                file.set_len(HEADER_LEN + s.end as u64)
                    .map_err(io_err(&path, "truncate torn tail"))?;
                file.sync_all().map_err(io_err(&path, "sync"))?;
            }
            (last.saturating_add(1), HEADER_LEN + s.end as u64)
        };
        let shared = Arc::new(Shared {
            file,
            dirty: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let group = match policy {
            FsyncPolicy::Group { interval } => {
                let s = Arc::clone(&shared);
                let interval = interval.max(Duration::from_micros(100));
                Some(
                    std::thread::Builder::new()
                        .name("venuegate-journal-sync".into())
                        .spawn(move || s.group_loop(interval))
                        .map_err(io_err(&path, "spawn group-commit thread"))?,
                )
            }
            FsyncPolicy::None | FsyncPolicy::Always => None,
        };
        Ok(Self {
            shared,
            path,
            policy,
            next_seq,
            end,
            buf: Vec::with_capacity(512),
            recovered_torn_bytes: torn,
            group,
            closed: false,
        })
    }

    fn check_open(&self) -> Result<(), JournalError> {
        if self.closed {
            return Err(JournalError::Closed {
                path: self.path.display().to_string(),
            });
        }
        if self.shared.failed.load(Ordering::Acquire) {
            let message = self
                .shared
                .failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or_default();
            return Err(JournalError::GroupSync {
                path: self.path.display().to_string(),
                message,
            });
        }
        Ok(())
    }

    fn push_frame(&mut self, seq: u64, kind: u8, payload: &[u8]) -> Result<(), JournalError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&l| l as usize <= MAX_PAYLOAD)
            .ok_or(JournalError::TooLarge { len: payload.len() })?;
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf
            .extend_from_slice(&crc(seq, kind, payload).to_le_bytes());
        self.buf.extend_from_slice(&seq.to_le_bytes());
        self.buf.push(kind);
        self.buf.extend_from_slice(payload);
        Ok(())
    }

    /// Writes the frames in `buf` with one `write`, then syncs per the policy.
    fn flush_buf(&mut self) -> Result<(), JournalError> {
        if let Err(source) = (&self.shared.file).write_all(&self.buf) {
            // Undo a partial write so later records do not follow garbage.
            let _ = self.shared.file.set_len(self.end);
            return Err(JournalError::Io {
                path: self.path.display().to_string(),
                op: "write",
                source,
            });
        }
        self.end += self.buf.len() as u64;
        match self.policy {
            FsyncPolicy::None => {}
            FsyncPolicy::Group { .. } => self.shared.dirty.store(true, Ordering::Release),
            FsyncPolicy::Always => self.shared.sync().map_err(io_err(&self.path, "fsync"))?,
        }
        Ok(())
    }

    /// Appends one record with one `write`; returns its sequence number.
    ///
    /// # Errors
    ///
    /// I/O errors (the partial write is rolled back), a payload over [`MAX_PAYLOAD`], a closed
    /// journal, or a failed background sync.
    pub fn append(&mut self, kind: u8, payload: &[u8]) -> Result<u64, JournalError> {
        self.check_open()?;
        let seq = self.next_seq;
        self.buf.clear();
        self.push_frame(seq, kind, payload)?;
        self.flush_buf()?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Appends several records with one `write`; returns the last sequence number (the last
    /// one written before, when `records` is empty).
    ///
    /// # Errors
    ///
    /// As [`Journal::append`]; on error none of the records is appended.
    pub fn append_batch<'a, I>(&mut self, records: I) -> Result<u64, JournalError>
    where
        I: IntoIterator<Item = (u8, &'a [u8])>,
    {
        self.check_open()?;
        self.buf.clear();
        let mut seq = self.next_seq;
        for (kind, payload) in records {
            self.push_frame(seq, kind, payload)?;
            seq += 1;
        }
        if seq == self.next_seq {
            return Ok(seq - 1);
        }
        self.flush_buf()?;
        self.next_seq = seq;
        Ok(seq - 1)
    }

    /// Forces everything appended so far to disk (`fdatasync`).
    ///
    /// # Errors
    ///
    /// I/O errors, a closed journal.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.check_open()?;
        self.shared.dirty.store(false, Ordering::Release);
        self.shared.sync().map_err(io_err(&self.path, "fsync"))
    }

    fn stop_group(&mut self) {
        if let Some(handle) = self.group.take() {
            *self
                .shared
                .stop
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = true;
            self.shared.wake.notify_all();
            let _ = handle.join();
        }
    }

    /// Stops the group-commit thread and, unless the policy is `None`, syncs what it had not.
    /// Later calls fail with [`JournalError::Closed`]; closing twice is a no-op.
    ///
    /// # Errors
    ///
    /// The final sync's I/O error.
    pub fn close(&mut self) -> Result<(), JournalError> {
        if self.closed {
            return Ok(());
        }
        self.stop_group();
        self.closed = true;
        if matches!(self.policy, FsyncPolicy::Group { .. })
            && self.shared.dirty.swap(false, Ordering::AcqRel)
        {
            self.shared.sync().map_err(io_err(&self.path, "fsync"))?;
        }
        Ok(())
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number the next record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Bytes of torn tail dropped when the journal was opened.
    pub fn recovered_torn_bytes(&self) -> u64 {
        self.recovered_torn_bytes
    }

    /// The file length: just past the last record.
    pub fn end_offset(&self) -> u64 {
        self.end
    }

    /// Syncs performed so far (explicit, per record, and by the group-commit thread).
    pub fn sync_count(&self) -> u64 {
        self.shared.syncs.load(Ordering::Relaxed)
    }

    /// The fsync policy.
    pub fn policy(&self) -> FsyncPolicy {
        self.policy
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::AtomicUsize;

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    /// A fresh path under the target directory's temp dir (removed on drop).
    struct TempPath(PathBuf);

    impl TempPath {
        fn new() -> Self {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("vg-journal-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir.join(format!("j{n}.wal")))
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn payload(i: u64) -> Vec<u8> {
        format!("record-{i}-{}", "x".repeat(usize::try_from(i % 7).unwrap())).into_bytes()
    }

    fn write_n(path: &Path, n: u64, policy: FsyncPolicy) {
        let mut j = Journal::open(path, policy).unwrap();
        for i in 1..=n {
            let kind = u8::try_from(i % 6).unwrap();
            assert_eq!(j.append(kind, &payload(i)).unwrap(), i);
        }
        j.close().unwrap();
    }

    fn check_records(path: &Path, n: u64) {
        let r = read_journal(path, 0).unwrap();
        assert_eq!(r.len() as u64, n);
        for (i, rec) in r.iter().enumerate() {
            let seq = i as u64 + 1;
            assert_eq!(rec.seq, seq);
            assert_eq!(rec.kind, u8::try_from(seq % 6).unwrap());
            assert_eq!(rec.payload, payload(seq).as_slice());
        }
    }

    #[test]
    fn journal_round_trip_and_resume() {
        let t = TempPath::new();
        write_n(&t.0, 5, FsyncPolicy::None);
        let mut j = Journal::open(&t.0, FsyncPolicy::Always).unwrap();
        assert_eq!(j.next_seq(), 6);
        assert_eq!(j.recovered_torn_bytes(), 0);
        assert_eq!(j.append(0, &payload(6)).unwrap(), 6);
        assert!(j.sync_count() >= 1);
        let last = j
            .append_batch([(1u8, payload(7).as_slice()), (2, payload(8).as_slice())])
            .unwrap();
        assert_eq!(last, 8);
        drop(j);
        check_records(&t.0, 8);
        let r = read_journal(&t.0, 0).unwrap();
        assert_eq!(r.torn_bytes, 0);
        assert_eq!(r.end_offset, std::fs::metadata(&t.0).unwrap().len());
    }

    #[test]
    fn journal_group_commit_syncs() {
        let t = TempPath::new();
        let mut j = Journal::open(
            &t.0,
            FsyncPolicy::Group {
                interval: Duration::from_millis(1),
            },
        )
        .unwrap();
        j.append(1, b"a").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while j.sync_count() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(j.sync_count() >= 1);
        j.close().unwrap();
        assert!(j.append(1, b"b").is_err());
    }

    #[test]
    fn journal_tail_read_from_offset() {
        let t = TempPath::new();
        write_n(&t.0, 3, FsyncPolicy::None);
        let first = read_journal(&t.0, 0).unwrap();
        let mut j = Journal::open(&t.0, FsyncPolicy::None).unwrap();
        j.append(4, b"four").unwrap();
        let more = read_journal(&t.0, first.end_offset).unwrap();
        assert_eq!(more.len(), 1);
        assert_eq!(more.iter().next().unwrap().seq, 4);
        assert!(matches!(
            read_journal(&t.0, 3),
            Err(JournalError::BadOffset { offset: 3 })
        ));
    }

    #[test]
    fn journal_foreign_file_is_an_error() {
        let t = TempPath::new();
        std::fs::write(&t.0, b"this is not a journal at all").unwrap();
        assert!(matches!(
            Journal::open(&t.0, FsyncPolicy::None),
            Err(JournalError::Foreign { .. })
        ));
        assert!(matches!(
            read_journal(&t.0, 0),
            Err(JournalError::Foreign { .. })
        ));
        std::fs::write(&t.0, b"xy").unwrap();
        assert!(matches!(
            Journal::open(&t.0, FsyncPolicy::None),
            Err(JournalError::Foreign { .. })
        ));
    }

    #[test]
    fn journal_mid_file_corruption_is_an_error() {
        let t = TempPath::new();
        write_n(&t.0, 10, FsyncPolicy::None);
        let mut bytes = std::fs::read(&t.0).unwrap();
        // Flip a payload byte of record 3.
        let r = read_journal(&t.0, 0).unwrap();
        let third = r.records[2];
        bytes[HEADER + third.2] ^= 0xFF;
        std::fs::write(&t.0, &bytes).unwrap();
        let before = bytes.len();
        assert!(matches!(
            Journal::open(&t.0, FsyncPolicy::None),
            Err(JournalError::Corrupt { .. })
        ));
        assert!(matches!(
            read_journal(&t.0, 0),
            Err(JournalError::Corrupt { .. })
        ));
        // Nothing was truncated.
        assert_eq!(
            usize::try_from(std::fs::metadata(&t.0).unwrap().len()).unwrap(),
            before
        );
    }

    #[test]
    fn journal_torn_header_is_recreated() {
        let t = TempPath::new();
        std::fs::write(&t.0, &header()[..5]).unwrap();
        let mut j = Journal::open(&t.0, FsyncPolicy::None).unwrap();
        assert_eq!(j.recovered_torn_bytes(), 5);
        assert_eq!(j.append(1, b"x").unwrap(), 1);
    }

    #[test]
    fn journal_too_large_payload_is_refused() {
        let t = TempPath::new();
        let mut j = Journal::open(&t.0, FsyncPolicy::None).unwrap();
        let big = vec![0u8; MAX_PAYLOAD + 1];
        assert!(matches!(
            j.append(1, &big),
            Err(JournalError::TooLarge { .. })
        ));
        assert_eq!(j.append(1, b"ok").unwrap(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Cutting the file anywhere inside the last record (or garbling its tail) drops only
        /// that record, and appending resumes with its sequence number.
        #[test]
        fn journal_torn_tail_at_every_offset(n in 1u64..6, garbage in any::<u8>(), zeros: bool) {
            let t = TempPath::new();
            write_n(&t.0, n, FsyncPolicy::None);
            let full = std::fs::read(&t.0).unwrap();
            let r = read_journal(&t.0, 0).unwrap();
            let last_start = if n == 1 {
                HEADER
            } else {
                HEADER + r.records[usize::try_from(n - 2).unwrap()].3
            };
            for cut in last_start..full.len() {
                let mut bytes = full[..cut].to_vec();
                // A torn write may also leave garbage (or zeros) where the record's end was.
                if cut > last_start && !zeros {
                    // Never the byte that would complete the record.
                    bytes.push(if full[cut] == garbage { !garbage } else { garbage });
                } else if zeros {
                    bytes.extend_from_slice(&[0u8; 3]);
                }
                std::fs::write(&t.0, &bytes).unwrap();
                let read = read_journal(&t.0, 0).unwrap();
                prop_assert_eq!(read.len() as u64, n - 1);
                prop_assert_eq!(usize::try_from(read.torn_bytes).unwrap(), bytes.len() - last_start);
                let mut j = Journal::open(&t.0, FsyncPolicy::None).unwrap();
                prop_assert_eq!(usize::try_from(j.recovered_torn_bytes()).unwrap(), bytes.len() - last_start);
                prop_assert_eq!(j.next_seq(), n);
                let kind = u8::try_from(n % 6).unwrap();
                prop_assert_eq!(j.append(kind, &payload(n)).unwrap(), n);
                drop(j);
                check_records(&t.0, n);
            }
        }
    }
}
