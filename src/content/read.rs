//! Reading content files safely: opened non-blocking (a FIFO or a device
//! never hangs a reader), checked to be regular files within
//! `content.max_file_bytes`, read without zeroing buffers, and decoded
//! (UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK).

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, FixedOffset};

use crate::diagnostics::Diagnostic;

/// A file's modification time and size, as `stat` gives them: a file whose
/// stamp is unchanged is taken as unchanged, to notice changes events
/// missed. The daemon holds one per file, so it is kept to 16 bytes: the
/// time as nanoseconds from the epoch (negative before it; times beyond
/// ±292 years from it are clamped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    mtime_ns: i64,
    size: u64,
}

impl Stamp {
    /// The stamp of a file modified at `mtime` and `size` bytes long.
    pub fn new(mtime: SystemTime, size: u64) -> Stamp {
        let clamp = |n: u128| i64::try_from(n).unwrap_or(i64::MAX);
        let mtime_ns = match mtime.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => clamp(after.as_nanos()),
            Err(before) => -clamp(before.duration().as_nanos()),
        };
        Stamp { mtime_ns, size }
    }

    /// The stamp of a file's metadata; `None` where the platform gives no
    /// modification time.
    pub fn of(meta: &std::fs::Metadata) -> Option<Stamp> {
        Some(Stamp::new(meta.modified().ok()?, meta.len()))
    }

    /// The stamp of the file at `path` (links followed); `None` when it
    /// cannot be read.
    pub fn at(path: &Path) -> Option<Stamp> {
        Stamp::of(&std::fs::metadata(path).ok()?)
    }

    /// The modification time, to the nanosecond.
    pub fn mtime(&self) -> SystemTime {
        let ns = Duration::from_nanos(self.mtime_ns.unsigned_abs());
        if self.mtime_ns >= 0 {
            SystemTime::UNIX_EPOCH + ns
        } else {
            SystemTime::UNIX_EPOCH - ns
        }
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// A whole file read: its bytes, modification time and stamp.
type FileRead = (Vec<u8>, Option<DateTime<FixedOffset>>, Option<Stamp>);

/// Reads a regular file through a cap of `max` bytes, returning its bytes
/// and modification time.
pub fn read_capped(
    path: &Path,
    max: u64,
) -> Result<(Vec<u8>, Option<DateTime<FixedOffset>>), Diagnostic> {
    read_file(path, max).map(|(b, m, _)| (b, m))
}

/// A file's path as messages name it and an open by path needs it: given
/// whole, or as the content directory and a relative path joined on first
/// use.
pub(crate) enum FilePath<'a> {
    Full(&'a Path),
    Parts {
        dir: &'a Path,
        rel: &'a str,
        joined: std::cell::OnceCell<PathBuf>,
    },
}

impl FilePath<'_> {
    pub(crate) fn get(&self) -> &Path {
        match self {
            FilePath::Full(p) => p,
            FilePath::Parts { dir, rel, joined } => joined.get_or_init(|| dir.join(rel)),
        }
    }
}
pub(crate) fn read_file(path: &Path, max: u64) -> Result<FileRead, Diagnostic> {
    let mut bytes = Vec::new();
    let (mtime, stamp) = read_into(&FilePath::Full(path), None, max, &mut bytes)?;
    Ok((bytes, mtime, stamp))
}

/// A quick read: the file's modification time and stamp (when it was
/// checked with `fstat`), and its index entry when the quick reader found one.
pub(crate) type QuickRead<T> = (Option<DateTime<FixedOffset>>, Option<Stamp>, Option<T>);

/// A quick read reads at most this much (or `content.max_file_bytes` +
/// 1, when smaller): a news article fits.
pub(crate) const QUICK_READ: usize = 64 * 1024;

/// The first read of a quick load of a Markdown file asks for this much:
/// front matter fits.
pub(crate) const QUICK_HEAD: usize = 1024;

/// The read of a [`Depth::Quick`] load: the file's bytes into `bytes`,
/// and `quick(bytes, mtime)`'s index entry when it finds one.
///
/// One `read` call asks for `head` bytes. When `quick` finds the entry
/// in what it returned, nothing more is asked of the kernel — no `fstat`,
/// so no stamp, no modification time and no size check (a file past
/// `content.max_file_bytes` is refused by the full check, or by the full
/// read of a body a feed needs). A read that filled `head` bytes may have
/// stopped inside the file: `quick` is then given its complete lines
/// only, and when it finds nothing there but `more` says the bytes begin
/// what it reads (front matter that goes on), a second call reads on, up
/// to [`QUICK_READ`] bytes in all.
/// Otherwise the file is checked and read to its end as [`read_into`]
/// does, and `quick` tried again with the modification time.
///
/// `bytes` keeps the length it grew to between calls (its first
/// `QUICK_READ` bytes are read into, never zeroed again); what is read is
/// at its start.
///
/// [`Depth::Quick`]: crate::article::Depth::Quick
pub(crate) fn read_quick<T>(
    path: &FilePath<'_>,
    at: Option<(std::os::fd::BorrowedFd<'_>, &str)>,
    max: u64,
    head: usize,
    bytes: &mut Vec<u8>,
    quick: impl Fn(&[u8], Option<DateTime<FixedOffset>>) -> Option<T>,
    more: impl Fn(&[u8]) -> bool,
) -> Result<QuickRead<T>, Diagnostic> {
    let file = open_for_read(path, at)?;
    let cap = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
    let most = QUICK_READ.min(cap);
    let mut got = 0;
    for want in [head.min(most), most] {
        if want <= got {
            break;
        }
        if bytes.len() < want {
            bytes.resize(want, 0);
        }
        // A FIFO or a folder fails here (non-blocking) or in the checks
        // of `finish_read`.
        let Ok(n) = rustix::io::read(&file, &mut bytes[got..want]) else {
            break;
        };
        got += n;
        // (A read returns less than asked only at the end of a regular
        // file; one that reached the cap leaves the size to the check.)
        let whole = got < want;
        let seen = if whole {
            Some(&bytes[..got])
        } else if want < cap {
            memchr::memrchr(b'\n', &bytes[..got]).map(|last| &bytes[..=last])
        } else {
            None
        };
        if let Some(article) = seen.and_then(|seen| quick(seen, None)) {
            return Ok((None, None, Some(article)));
        }
        if whole || !more(&bytes[..got]) {
            break;
        }
    }
    // The stamp must not be newer than the bytes (a write in between would
    // then look already read): fstat first, then the file again from its
    // start. Only files the quick reads could not index pay for this.
    bytes.clear();
    let (mtime, stamp) = finish_read(path, &file, max, bytes, true)?;
    Ok((mtime, stamp, quick(bytes, mtime)))
}

/// Opens `path` (by its name in `at`, when given) for reading,
/// non-blocking, so a FIFO or a device never blocks the open.
pub(crate) fn open_for_read(
    path: &FilePath<'_>,
    at: Option<(std::os::fd::BorrowedFd<'_>, &str)>,
) -> Result<std::fs::File, Diagnostic> {
    use rustix::fs::{Mode, OFlags};
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so a FIFO or a device never blocks the open. The checks
    // of `finish_read` run on the handle, so a path swapped meanwhile cannot
    // slip by them; a quick read that skips them is checked in full later.
    let opened = match at {
        Some((folder, name)) => rustix::fs::openat(
            folder,
            name,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map(std::fs::File::from)
        .map_err(std::io::Error::from),
        None => std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path.get()),
    };
    match opened {
        Ok(f) => Ok(f),
        // A socket cannot be opened at all.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            Err(Diagnostic::error(path.get(), None, "not a regular file"))
        }
        Err(e) => Err(Diagnostic::error(
            path.get(),
            None,
            format!("cannot read: {e}"),
        )),
    }
}

/// [`read_file`] into `bytes` (cleared first), reusing its allocation;
/// with `at`, the file is opened by name in that open folder, which is
/// the folder of `path`.
pub(crate) fn read_into(
    path: &FilePath<'_>,
    at: Option<(std::os::fd::BorrowedFd<'_>, &str)>,
    max: u64,
    bytes: &mut Vec<u8>,
) -> Result<(Option<DateTime<FixedOffset>>, Option<Stamp>), Diagnostic> {
    let file = open_for_read(path, at)?;
    bytes.clear();
    finish_read(path, &file, max, bytes, false)
}

/// Checks the open `file` (a regular file within the cap) and reads it
/// into `bytes` (from its start, with `rewind`), returning its
/// modification time and stamp, taken before the read.
pub(crate) fn finish_read(
    path: &FilePath<'_>,
    mut file: &std::fs::File,
    max: u64,
    bytes: &mut Vec<u8>,
    rewind: bool,
) -> Result<(Option<DateTime<FixedOffset>>, Option<Stamp>), Diagnostic> {
    let cannot =
        |e: std::io::Error| Diagnostic::error(path.get(), None, format!("cannot read: {e}"));
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(Diagnostic::error(path.get(), None, "not a regular file"));
    }
    if meta.len() > max {
        return Err(Diagnostic::error(
            path.get(),
            None,
            format!(
                "file is {} bytes, over content.max_file_bytes ({max})",
                meta.len()
            ),
        ));
    }
    // Read the size fstat gave, through the cap. A file growing meanwhile
    // is being written, and its writer's event re-reads it.
    if rewind {
        file.seek(std::io::SeekFrom::Start(0)).map_err(cannot)?;
    }
    let want = meta.len();
    bytes.reserve(want as usize);
    // Into spare capacity, never zeroed first; the limit ends the read
    // without a further call. Files up to 8 KiB take one read call; std
    // reads larger ones in growing steps.
    file.take(want).read_to_end(bytes).map_err(cannot)?;
    let modified = meta.modified().ok();
    let mtime = modified.map(|t| DateTime::<chrono::Utc>::from(t).fixed_offset());
    Ok((mtime, modified.map(|t| Stamp::new(t, meta.len()))))
}

/// Decodes file bytes: UTF-8 (BOM optional), UTF-16 with BOM, else GB18030.
///
/// Fails when none decodes without replacement characters, or the text
/// holds NUL bytes (a binary file).
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        std::str::from_utf8(rest)
            .map(str::to_string)
            .map_err(|e| format!("invalid UTF-8 after BOM at byte {}", e.valid_up_to() + 3))?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        encoding_rs::UTF_16LE
            .decode_without_bom_handling_and_without_replacement(rest)
            .ok_or("invalid UTF-16LE text")?
            .into_owned()
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        encoding_rs::UTF_16BE
            .decode_without_bom_handling_and_without_replacement(rest)
            .ok_or("invalid UTF-16BE text")?
            .into_owned()
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => {
                if bytes.contains(&0) {
                    return Err("binary file (contains NUL bytes)".into());
                }
                encoding_rs::GB18030
                    .decode_without_bom_handling_and_without_replacement(bytes)
                    .ok_or("cannot decode: not UTF-8, UTF-16 with BOM, or GB18030/GBK text")?
                    .into_owned()
            }
        }
    };
    if text.contains('\0') {
        return Err("binary file (contains NUL bytes)".into());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_keeps_a_files_time_to_the_nanosecond_on_both_sides_of_the_epoch() {
        for (secs, nanos, after) in [(1_764_800_000, 123_456_789, true), (86_400, 1, false)] {
            let t = if after {
                SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
            } else {
                SystemTime::UNIX_EPOCH - Duration::new(secs, nanos)
            };
            let s = Stamp::new(t, 42);
            assert_eq!((s.mtime(), s.size()), (t, 42));
            // One nanosecond or one byte apart is a change.
            assert_ne!(s, Stamp::new(t + Duration::from_nanos(1), 42));
            assert_ne!(s, Stamp::new(t, 43));
        }
    }

    #[test]
    fn stamp_of_a_file_is_its_stat() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, "hello").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let s = Stamp::of(&meta).unwrap();
        assert_eq!((s.mtime(), s.size()), (meta.modified().unwrap(), 5));
        assert_eq!(Stamp::at(&path), Some(s));
        assert_eq!(Stamp::at(&dir.path().join("gone.md")), None);
        assert_eq!(std::mem::size_of::<Stamp>(), 16);
    }
}
