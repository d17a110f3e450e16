//! The saved index's file: every article's index entry, with the
//! (mtime, size) of the file it was read from and its warnings.
//!
//! Layout: a magic line and format number; a header block (herald's
//! version, a fingerprint of the config that shapes entries and of the
//! content directory, the category and folder lists, the article count);
//! then blocks of up to [`BLOCK`] records, each with its length and BLAKE3
//! hash; then a zero length. Blocks are `postcard`-encoded and decoded on
//! all cores while the caller builds its catalog. A file that is short,
//! corrupt, from another version or for another config is refused
//! ([`Unusable`]). It is written to a temporary file beside it and renamed
//! over, so a crash leaves the last whole one.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};

use crate::article::{category_name, Entry};
use crate::catalog::Prepared;
use crate::config::{Config, Site};
use crate::content::read::Stamp;
use crate::diagnostics::{Diagnostic, Severity};

const MAGIC: &[u8] = b"herald index\n";
/// Bumped whenever the layout of a record changes.
const FORMAT: u32 = 1;
/// Records per block: the unit of decoding on one core.
const BLOCK: usize = 4096;
/// A block longer than this is corrupt (records are a few hundred bytes).
const MAX_BLOCK: usize = 256 * 1024 * 1024;

/// An article as the saved index gives it back.
#[derive(Debug)]
pub struct SavedFile {
    /// The index entry.
    pub entry: Entry,
    /// The file's (mtime, size) when it was read; `None`: read it again.
    pub stamp: Option<Stamp>,
    /// Its warnings as of that read.
    pub warnings: Vec<Diagnostic>,
    /// Its hashes, for [`CatalogBuilder::push_prepared`].
    pub prepared: Prepared,
}

/// An article to save: its entry (shared with the catalog), stamp and
/// warnings.
pub type ToSave = (crate::catalog::Held, Option<Stamp>, Vec<Diagnostic>);

/// Everything the saved index holds.
pub struct ToSaveAll {
    /// [`fingerprint`] of the config and content root.
    pub(super) fingerprint: [u8; 32],
    /// The category folders.
    pub(super) categories: Vec<String>,
    /// Every folder of the tree, relative.
    pub(super) folders: Vec<String>,
    /// The articles.
    pub(super) files: Vec<ToSave>,
}

/// Why a saved index was not used.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    /// There is none yet.
    #[error("no saved index yet")]
    Missing,
    /// Written by another version of herald, or for another config or
    /// content directory.
    #[error("the saved index was made {0}")]
    Stale(&'static str),
    /// Cut short or damaged.
    #[error("the saved index is damaged: {0}")]
    Damaged(String),
}

impl From<std::io::Error> for Unusable {
    fn from(e: std::io::Error) -> Unusable {
        if e.kind() == std::io::ErrorKind::NotFound {
            Unusable::Missing
        } else {
            Unusable::Damaged(e.to_string())
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    herald: &'a str,
    fingerprint: [u8; 32],
    #[serde(borrow)]
    categories: Vec<&'a str>,
    #[serde(borrow)]
    folders: Vec<&'a str>,
    articles: u64,
}

#[derive(Serialize, Deserialize)]
struct Time {
    secs: i64,
    nanos: u32,
    offset: i32,
}

impl Time {
    fn of(t: &DateTime<FixedOffset>) -> Time {
        Time {
            secs: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
            offset: t.offset().local_minus_utc(),
        }
    }

    fn get(&self) -> Option<DateTime<FixedOffset>> {
        FixedOffset::east_opt(self.offset)?
            .timestamp_opt(self.secs, self.nanos)
            .single()
    }
}

#[derive(Serialize, Deserialize)]
struct Warning<'a> {
    position: Option<(u32, u32)>,
    message: &'a str,
}

#[derive(Serialize, Deserialize)]
struct Record<'a> {
    rel: &'a str,
    category: &'a str,
    slug: &'a str,
    date: Time,
    updated: Time,
    id: &'a str,
    draft: bool,
    #[serde(borrow)]
    tags: Vec<&'a str>,
    #[serde(borrow)]
    authors: Vec<&'a str>,
    link: Option<&'a str>,
    /// Modification time (seconds, nanoseconds since the epoch) and size.
    stamp: Option<(u64, u32, u64)>,
    #[serde(borrow)]
    warnings: Vec<Warning<'a>>,
}

/// What a saved index must match to be used: herald's format, the
/// content directory, and every config value that shapes an index entry
/// or decides which files are articles.
pub fn fingerprint(config: &Config, root: &Path) -> [u8; 32] {
    let site = &config.site;
    let shaping = format!(
        "{FORMAT}\n{:?}\n{:?} {:?} {:?} {:?} {:?}\n{} {:?}\n{:?}",
        root,
        site.base_url,
        site.link,
        site.timezone,
        site.id_authority,
        site.article_url,
        config.content.max_file_bytes,
        config.content.ignore_patterns,
        config.text,
    );
    *blake3::hash(shaping.as_bytes()).as_bytes()
}

fn stamp_record(s: &Stamp) -> Option<(u64, u32, u64)> {
    let since = s.mtime().duration_since(SystemTime::UNIX_EPOCH).ok()?;
    Some((since.as_secs(), since.subsec_nanos(), s.size()))
}

/// Writes `files` and `categories` to `path`, through a temporary file
/// renamed over it.
pub fn save(path: &Path, what: &ToSaveAll) -> std::io::Result<()> {
    remove_stale_temporaries(path);
    let tmp = temporary(path);
    let result = write_to(&tmp, what).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes temporary files a process killed while writing left beside
/// `path` (a write takes seconds; one untouched for ten minutes is dead).
fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{name}.");
    for e in entries.flatten() {
        let n = e.file_name();
        let Some(n) = n.to_str() else { continue };
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if n.starts_with(&prefix) && n.ends_with(".tmp") && stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The temporary file beside `path`, named by process so that two
/// processes given one index file never write into each other's.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

fn write_to(tmp: &Path, what: &ToSaveAll) -> std::io::Result<()> {
    let ToSaveAll {
        fingerprint,
        categories,
        folders,
        files,
    } = what;
    let encode_err = |e: postcard::Error| std::io::Error::other(e.to_string());
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(tmp)?);
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT.to_le_bytes())?;
    let header = Header {
        herald: env!("CARGO_PKG_VERSION"),
        fingerprint: *fingerprint,
        categories: categories.iter().map(String::as_str).collect(),
        folders: folders.iter().map(String::as_str).collect(),
        articles: files.len() as u64,
    };
    write_block(&mut out, &postcard::to_stdvec(&header).map_err(encode_err)?)?;
    for chunk in files.chunks(BLOCK) {
        let records: Vec<Record> = chunk
            .iter()
            .map(|(held, stamp, warnings)| {
                let e = held.entry();
                Record {
                    rel: &e.rel,
                    category: &e.category,
                    slug: &e.slug,
                    date: Time::of(&e.date),
                    updated: Time::of(&e.updated),
                    id: &e.id,
                    draft: e.draft,
                    tags: e.tags().iter().collect(),
                    authors: e.authors().iter().collect(),
                    link: e.link.as_deref(),
                    stamp: stamp.as_ref().and_then(stamp_record),
                    warnings: warnings
                        .iter()
                        .map(|d| Warning {
                            position: d.position.map(|(l, c)| (l as u32, c as u32)),
                            message: &d.message,
                        })
                        .collect(),
                }
            })
            .collect();
        write_block(
            &mut out,
            &postcard::to_stdvec(&records).map_err(encode_err)?,
        )?;
    }
    out.write_all(&0u32.to_le_bytes())?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

fn write_block(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(blake3::hash(bytes).as_bytes())?;
    out.write_all(bytes)
}

/// Reads one block: `Ok(None)` at the terminating zero length.
fn read_block(input: &mut impl Read) -> Result<Option<Vec<u8>>, Unusable> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len).map_err(short)?;
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 {
        return Ok(None);
    }
    if len > MAX_BLOCK {
        return Err(Unusable::Damaged(format!("a block of {len} bytes")));
    }
    let mut hash = [0u8; 32];
    input.read_exact(&mut hash).map_err(short)?;
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes).map_err(short)?;
    if blake3::hash(&bytes).as_bytes() != &hash {
        return Err(Unusable::Damaged("a block does not match its hash".into()));
    }
    Ok(Some(bytes))
}

fn short(e: std::io::Error) -> Unusable {
    Unusable::Damaged(if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "it ends early".into()
    } else {
        e.to_string()
    })
}

/// A saved index whose header matches: its articles are read next
/// ([`Opened::read`]).
pub struct Opened {
    input: BufReader<std::fs::File>,
    categories: Vec<String>,
    /// The folders of the tree, relative.
    pub folders: Vec<String>,
    /// How many articles it holds.
    pub articles: u64,
}

/// Opens the saved index at `path` and checks its header against
/// `fingerprint`.
pub fn open(path: &Path, fingerprint: [u8; 32]) -> Result<Opened, Unusable> {
    let mut input = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut magic = vec![0u8; MAGIC.len()];
    input.read_exact(&mut magic).map_err(short)?;
    let mut format = [0u8; 4];
    input.read_exact(&mut format).map_err(short)?;
    if magic != MAGIC {
        return Err(Unusable::Damaged("it is not a herald index".into()));
    }
    if u32::from_le_bytes(format) != FORMAT {
        return Err(Unusable::Stale("by another version of herald"));
    }
    let header = read_block(&mut input)?.ok_or_else(|| Unusable::Damaged("no header".into()))?;
    let header: Header =
        postcard::from_bytes(&header).map_err(|e| Unusable::Damaged(e.to_string()))?;
    if header.herald != env!("CARGO_PKG_VERSION") {
        return Err(Unusable::Stale("by another version of herald"));
    }
    if header.fingerprint != fingerprint {
        return Err(Unusable::Stale(
            "for another content directory or config (site, content or text keys changed)",
        ));
    }
    Ok(Opened {
        categories: header.categories.iter().map(|c| c.to_string()).collect(),
        folders: header.folders.iter().map(|c| c.to_string()).collect(),
        articles: header.articles,
        input,
    })
}

impl Opened {
    /// Hands each article to `each` (in no particular order) as its block
    /// is decoded; returns the category folders. Fails, and what `each`
    /// was given must be dropped, when the file is damaged anywhere.
    pub fn read(
        self,
        content_dir: &Path,
        site: &Site,
        mut each: impl FnMut(SavedFile),
    ) -> Result<Vec<String>, Unusable> {
        let Opened {
            mut input,
            categories,
            articles: expected,
            ..
        } = self;
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        // Blocks flow reader → decoders → here, through bounded queues, so
        // at most a few blocks are in memory at once. The queue to the
        // decoders closes with the last of them, ending the reader too.
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(threads * 2);
        let raw_rx = Arc::new(std::sync::Mutex::new(raw_rx));
        let mut count = 0u64;
        let mut failure: Option<Unusable> = None;
        std::thread::scope(|s| {
            let (out_tx, out_rx) =
                std::sync::mpsc::sync_channel::<Result<Vec<SavedFile>, Unusable>>(threads * 2);
            for _ in 0..threads {
                let out_tx = out_tx.clone();
                let raw_rx = Arc::clone(&raw_rx);
                let decoder = move || loop {
                    let block = match raw_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(block) = block else { return };
                    if out_tx.send(decode(&block, content_dir, site)).is_err() {
                        return;
                    }
                };
                if let Err(e) = std::thread::Builder::new()
                    .name("herald-index-decode".into())
                    .spawn_scoped(s, decoder)
                {
                    failure.get_or_insert(Unusable::Damaged(e.to_string()));
                }
            }
            drop(raw_rx);
            drop(out_tx);
            let reader = std::thread::Builder::new()
                .name("herald-index-read".into())
                .spawn_scoped(s, move || -> Result<(), Unusable> {
                    while let Some(block) = read_block(&mut input)? {
                        if raw_tx.send(block).is_err() {
                            break;
                        }
                    }
                    Ok(())
                });
            for decoded in out_rx {
                match decoded {
                    Ok(files) => {
                        count += files.len() as u64;
                        if failure.is_none() {
                            files.into_iter().for_each(&mut each);
                        }
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            let read = match reader {
                Ok(r) => r
                    .join()
                    .unwrap_or_else(|_| Err(Unusable::Damaged("its reader failed".into()))),
                Err(e) => Err(Unusable::Damaged(e.to_string())),
            };
            if let Err(e) = read {
                failure.get_or_insert(e);
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        if count != expected {
            return Err(Unusable::Damaged(format!(
                "it holds {count} articles of {expected}"
            )));
        }
        Ok(categories)
    }
}

fn decode(block: &[u8], content_dir: &Path, site: &Site) -> Result<Vec<SavedFile>, Unusable> {
    let records: Vec<Record> =
        postcard::from_bytes(block).map_err(|e| Unusable::Damaged(e.to_string()))?;
    let mut buf = String::new();
    records
        .into_iter()
        .map(|r| {
            let bad = || Unusable::Damaged(format!("a bad date for {}", r.rel));
            let entry = Entry::new(
                Arc::from(r.rel),
                category_name(r.category),
                r.slug.to_string(),
                (
                    r.date.get().ok_or_else(bad)?,
                    r.updated.get().ok_or_else(bad)?,
                ),
                r.id.to_string(),
                r.draft,
            )
            .with_link(r.link)
            .with_names(&r.tags, &r.authors);
            // A time past what SystemTime holds is no stamp: the survey
            // reads the file again.
            let stamp = r.stamp.and_then(|(secs, nanos, size)| {
                let since =
                    Duration::from_secs(secs).checked_add(Duration::from_nanos(nanos.into()))?;
                Some(Stamp::new(SystemTime::UNIX_EPOCH.checked_add(since)?, size))
            });
            let warnings = r
                .warnings
                .iter()
                .map(|w| Diagnostic {
                    path: content_dir.join(r.rel),
                    position: w.position.map(|(l, c)| (l as usize, c as usize)),
                    severity: Severity::Warning,
                    message: w.message.to_string(),
                })
                .collect();
            Ok(SavedFile {
                prepared: Prepared::of(&entry, Some(site), &mut buf),
                entry,
                stamp,
                warnings,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(rel: &str, stamp: Option<(u64, u32, u64)>) -> Record<'_> {
        let time = || Time {
            secs: 1_700_000_000,
            nanos: 0,
            offset: 8 * 3600,
        };
        Record {
            rel,
            category: "news",
            slug: "a",
            date: time(),
            updated: time(),
            id: "urn:x",
            draft: false,
            tags: vec!["t"],
            authors: vec![],
            link: None,
            stamp,
            warnings: vec![],
        }
    }

    #[test]
    fn a_stamp_past_what_the_clock_holds_is_read_as_none_not_a_panic() {
        let config = Config::parse(
            Path::new("/cfg/herald.toml"),
            "[site]\ntitle = \"T\"\nbase_url = \"https://feeds.example.cn\"\n",
        )
        .unwrap();
        let records = vec![
            record("news/a.md", Some((1_700_000_000, 123_456_789, 42))),
            record("news/b.md", Some((u64::MAX, 999_999_999, 42))),
        ];
        let block = postcard::to_stdvec(&records).unwrap();
        let files = decode(&block, Path::new("/c"), &config.site).unwrap();
        let want = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(files[0].stamp, Some(Stamp::new(want, 42)));
        assert_eq!(files[1].stamp, None);
    }
}
