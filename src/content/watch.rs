//! Filesystem events → our own changes. [`map_event`] is a pure function
//! from one `notify` event to the content paths it touched (or "rescan
//! everything"), dropping what is not a change: opens and reads (herald's
//! own reads are events too), editor debris, hidden files, paths outside
//! `content.dir`. What a touched path now *is* — a new or changed file, a
//! folder moved in, something gone — is decided by `daemon` when it
//! applies the change, by looking at the filesystem then; so an atomic
//! save, `sed -i`'s remove + create, or a folder moved in all end the
//! same way.
//!
//! [`start`] sets up the kernel watcher on `content.dir` and on the config
//! file's directory (a single watched file goes silent after its first
//! atomic save), falling back to polling when watching fails.

use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::config::{Config, WatchMode};
use crate::content::rules;

/// What one filesystem event means for herald.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    /// Content paths (relative, `/`-separated) to re-examine.
    pub paths: Vec<String>,
    /// Events were lost or the root itself changed: rescan everything.
    pub rescan: bool,
    /// The config file changed.
    pub config: bool,
}

/// Maps one `notify` event. `root` is the canonical content directory,
/// `config_path` the config file (absolute).
pub fn map_event(
    event: &notify::Event,
    root: &Path,
    config_path: &Path,
    config: &Config,
) -> Mapped {
    let mut out = Mapped::default();
    if event.need_rescan() {
        out.rescan = true;
        return out;
    }
    match event.kind {
        // Opening or reading a file changes nothing; a writer closing it does.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return out,
        EventKind::Other => {
            out.rescan = event.paths.is_empty();
            return out;
        }
        _ => {}
    }
    let link = declared_dir(&config.content.dir);
    for p in &event.paths {
        // The content directory's own entry in its parent: deleted,
        // recreated, or a symlink swapped at deploy time.
        if *p == link {
            out.rescan = true;
            continue;
        }
        if p == config_path
            || (config_path.file_name().is_some()
                && p.file_name() == config_path.file_name()
                && p.parent() == config_path.parent())
        {
            out.config = true;
            continue;
        }
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let Some(rel) = rel.to_str() else { continue };
        if rel.is_empty() {
            // The content directory itself was removed, moved or replaced.
            out.rescan = true;
            continue;
        }
        let rel = rel.to_string();
        // (A top-level folder named like one of herald's paths is passed
        // on, to be warned of; nothing under it is.)
        if rules::is_ignored(&rel, config) && (rel.contains('/') || !rules::is_reserved(&rel)) {
            continue;
        }
        if !out.paths.contains(&rel) {
            out.paths.push(rel);
        }
    }
    out
}

/// Whether an event only reports a file being opened or read (not a
/// writer closing it): never a change.
pub fn is_read_only(event: &notify::Event) -> bool {
    matches!(event.kind, EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write))
}

/// The content directory as configured, made absolute without resolving
/// its last component (which may be a symlink swapped at deploy time).
pub fn declared_dir(dir: &Path) -> PathBuf {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (parent.canonicalize(), dir.file_name()) {
        (Ok(p), Some(name)) => p.join(name),
        _ => dir.to_path_buf(),
    }
}

/// How the content directory is being watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Kernel events.
    Events,
    /// Polling, as configured (`content.watch = "poll"`).
    Polling,
    /// Polling because kernel watching failed.
    Degraded,
}

impl Mode {
    /// The name `/healthz` shows.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Events => "events",
            Mode::Polling => "polling",
            Mode::Degraded => "degraded",
        }
    }
}

/// Live watchers; dropping them stops watching.
pub struct Watchers {
    _content: Option<RecommendedWatcher>,
    _config: Option<RecommendedWatcher>,
    /// How content is watched.
    pub mode: Mode,
}

impl Watchers {
    /// Watches `folders` (relative to the content root `root`) too: folders
    /// created or moved in since the watchers started. A folder gone
    /// meanwhile is skipped. When the kernel refuses a watch (the watch
    /// limit), content is left to polling: the mode becomes
    /// [`Mode::Degraded`].
    pub fn watch_folders<'a>(&mut self, root: &Path, folders: impl IntoIterator<Item = &'a str>) {
        let Some(w) = self._content.as_mut() else {
            return;
        };
        if let Err(e) = add_folders(w, root, folders) {
            tracing::warn!(dir = %root.display(), error = %e, "cannot watch a new folder; falling back to polling");
            self._content = None;
            self.mode = Mode::Degraded;
        }
    }
}

/// Adds a watch on each folder that is a folder of the tree under its own
/// name: one reached through a link (a saved folder name that has become
/// a link since) would have inotify name another folder's events by the
/// link's path. A folder that is gone, or cannot be watched for any reason
/// but the watch limit, is skipped (its files are found by the scans);
/// the watch limit is an error.
fn add_folders<'a>(
    w: &mut RecommendedWatcher,
    root: &Path,
    folders: impl IntoIterator<Item = &'a str>,
) -> notify::Result<()> {
    for f in folders {
        let path = root.join(f);
        // `root` is canonical: a folder is under its own name exactly
        // when its canonical path is its path.
        if path.canonicalize().ok().as_ref() != Some(&path) {
            continue;
        }
        match w.watch(&path, RecursiveMode::NonRecursive) {
            Ok(()) => {}
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => return Err(e),
            Err(e) => {
                tracing::debug!(dir = %path.display(), error = %e, "folder not watched");
            }
        }
    }
    Ok(())
}

/// Starts watching `content.dir` and each of `folders` (relative to it:
/// the folders a walk found, [`Watchers::watch_folders`] adds later ones)
/// and the config file's directory, sending every raw event to
/// `on_event`. With
/// `content.watch = "poll"`, or when the kernel watcher cannot be set up
/// (watch limit reached, unsupported file system), content is left to the
/// caller's polling scan and the mode says so.
pub fn start<F>(config: &Config, config_path: &Path, folders: &[String], on_event: F) -> Watchers
where
    F: Fn(notify::Result<notify::Event>) + Send + Sync + Clone + 'static,
{
    let config_dir: PathBuf = config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    // The content directory's parent is watched too (not recursively), so
    // deleting, recreating or swapping the directory is noticed at once.
    let content_parent = declared_dir(&config.content.dir)
        .parent()
        .map(Path::to_path_buf);
    let config_watcher = {
        let f = on_event.clone();
        match notify::recommended_watcher(f) {
            Ok(mut w) => match w.watch(&config_dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    if let Some(parent) = content_parent
                        .as_ref()
                        .filter(|p| p.canonicalize().ok() != config_dir.canonicalize().ok())
                    {
                        if let Err(e) = w.watch(parent, RecursiveMode::NonRecursive) {
                            tracing::debug!(dir = %parent.display(), error = %e, "cannot watch the content directory's parent");
                        }
                    }
                    Some(w)
                }
                Err(e) => {
                    tracing::warn!(dir = %config_dir.display(), error = %e, "cannot watch the config directory; use SIGHUP to reload");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the config directory; use SIGHUP to reload");
                None
            }
        }
    };
    if config.content.watch == WatchMode::Poll {
        return Watchers {
            _content: None,
            _config: config_watcher,
            mode: Mode::Polling,
        };
    }
    let root = config
        .content
        .dir
        .canonicalize()
        .unwrap_or_else(|_| config.content.dir.clone());
    // Each folder has a watch of its own, rather than one recursive watch
    // on the root, which would make notify look up every file of the tree
    // (a `stat` each) to find the folders the walk has listed already.
    // Folders reached through links have none: a second watch on a
    // folder's inode would make inotify name the folder's events by the
    // link's path (its edits never reaching the folder's own articles),
    // and a link out of the tree would watch whatever it leads to. Links
    // are content's business (`scan`): a second name is skipped, a link
    // out refused.
    let content = RecommendedWatcher::new(
        on_event,
        notify::Config::default().with_follow_symlinks(false),
    )
    .and_then(|mut w| {
        w.watch(&root, RecursiveMode::NonRecursive)?;
        add_folders(&mut w, &root, folders.iter().map(String::as_str))?;
        Ok(w)
    });
    match content {
        Ok(w) => Watchers {
            _content: Some(w),
            _config: config_watcher,
            mode: Mode::Events,
        },
        Err(e) => {
            // A partial recursive watch leaves earlier watches active; we
            // drop the watcher entirely and poll instead.
            tracing::warn!(dir = %config.content.dir.display(), error = %e, "cannot watch content; falling back to polling");
            Watchers {
                _content: None,
                _config: config_watcher,
                mode: Mode::Degraded,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RemoveKind, RenameMode};
    use notify::Event;

    fn cfg() -> Config {
        Config::parse(
            Path::new("/etc/herald/herald.toml"),
            "[site]\ntitle = \"T\"\n[content]\ndir = \"/srv/news\"\n",
        )
        .unwrap()
    }

    fn map(kind: EventKind, paths: &[&str]) -> Mapped {
        let mut e = Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        map_event(
            &e,
            Path::new("/srv/news"),
            Path::new("/etc/herald/herald.toml"),
            &cfg(),
        )
    }

    #[test]
    fn opens_and_reads_are_not_changes() {
        assert_eq!(
            map(
                EventKind::Access(AccessKind::Open(AccessMode::Any)),
                &["/srv/news/a/b.md"]
            ),
            Mapped::default()
        );
        assert_eq!(
            map(
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                &["/srv/news/a/b.md"]
            ),
            Mapped::default()
        );
        assert_eq!(
            map(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                &["/srv/news/a/b.md"]
            )
            .paths,
            vec!["a/b.md"]
        );
    }

    #[test]
    fn read_only_events_are_recognised_without_paths() {
        assert!(is_read_only(&Event::new(EventKind::Access(
            AccessKind::Open(AccessMode::Any)
        ))));
        assert!(is_read_only(&Event::new(EventKind::Access(
            AccessKind::Close(AccessMode::Read)
        ))));
        assert!(!is_read_only(&Event::new(EventKind::Access(
            AccessKind::Close(AccessMode::Write)
        ))));
        assert!(!is_read_only(&Event::new(EventKind::Create(
            CreateKind::File
        ))));
    }

    #[test]
    fn editor_debris_is_dropped() {
        for p in [
            "/srv/news/a/4913",
            "/srv/news/a/b.md~",
            "/srv/news/a/.b.md.swp",
            "/srv/news/a/.b.md.swx",
            "/srv/news/a/#b.md#",
            "/srv/news/a/.#b.md",
        ] {
            assert_eq!(
                map(EventKind::Create(CreateKind::File), &[p]),
                Mapped::default(),
                "{p}"
            );
        }
    }

    #[test]
    fn renames_report_both_ends_and_folders_are_paths_too() {
        let m = map(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/srv/news/a/old.md", "/srv/news/b/new.md"],
        );
        assert_eq!(m.paths, vec!["a/old.md", "b/new.md"]);
        let m = map(
            EventKind::Remove(RemoveKind::Folder),
            &["/srv/news/politics"],
        );
        assert_eq!(m.paths, vec!["politics"]);
        assert!(
            map(EventKind::Create(CreateKind::File), &["/elsewhere/x.md"])
                .paths
                .is_empty()
        );
    }

    #[test]
    fn lost_events_and_root_changes_ask_for_a_rescan() {
        let e = Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert!(
            map_event(
                &e,
                Path::new("/srv/news"),
                Path::new("/etc/herald/herald.toml"),
                &cfg()
            )
            .rescan
        );
        assert!(map(EventKind::Remove(RemoveKind::Folder), &["/srv/news"]).rescan);
    }

    #[test]
    fn the_content_dir_entry_itself_asks_for_a_rescan() {
        let dir = std::env::temp_dir().join("herald-watch-test-current");
        let cfg = Config::parse(
            Path::new("/etc/herald/herald.toml"),
            &format!(
                "[site]\ntitle = \"T\"\n[content]\ndir = \"{}\"\n",
                dir.display()
            ),
        )
        .unwrap();
        let link = declared_dir(&cfg.content.dir);
        let e = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::To))).add_path(link);
        assert!(
            map_event(
                &e,
                Path::new("/nonexistent/root"),
                Path::new("/etc/herald/herald.toml"),
                &cfg
            )
            .rescan
        );
    }

    #[test]
    fn config_file_events_are_flagged_whatever_the_save_style() {
        let m = map(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            &["/etc/herald/herald.toml"],
        );
        assert!(m.config && m.paths.is_empty());
        let m = map(
            EventKind::Create(CreateKind::File),
            &["/etc/herald/other.toml"],
        );
        assert!(!m.config);
    }
}
