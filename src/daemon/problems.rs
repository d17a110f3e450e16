//! Problems and health: what is wrong with which file, what is logged
//! (bounded during a load), and the `/healthz` state published with each
//! snapshot.

use std::sync::Arc;

use super::*;
use crate::content::watch::Mode;
use crate::diagnostics::{Diagnostic, Severity};
use crate::http::snapshot::{Health, Snapshot};
use crate::load;

impl Publisher {
    pub(super) fn health(&self) -> Health {
        let mut errors: Vec<String> = Vec::new();
        if let Some(e) = &self.problems.config {
            errors.push(e.clone());
        }
        if let Some(e) = &self.problems.content_dir {
            errors.push(e.clone());
        }
        for d in self
            .problems
            .scan
            .iter()
            .chain(self.problems.by_path.values().flatten())
        {
            if d.severity == Severity::Error {
                errors.push(d.to_string());
            }
        }
        Health {
            articles: self.catalog.published_count(None, self.rendered_at),
            categories: self.catalog.categories().count(),
            errors,
            watcher: self.mode.name().to_string(),
            last_regeneration: self
                .last_regeneration
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }

    pub(super) fn publish_health(&self) {
        let health = self.health();
        metrics::gauge!("herald_articles").set(health.articles as f64);
        metrics::gauge!("herald_categories").set(health.categories as f64);
        metrics::gauge!("herald_content_errors").set(health.errors.len() as f64);
        for m in [Mode::Events, Mode::Polling, Mode::Degraded] {
            metrics::gauge!("herald_watcher_mode", "mode" => m.name()).set(if m == self.mode {
                1.0
            } else {
                0.0
            });
        }
        self.shared.store(Arc::new(Snapshot {
            resources: self.resources.clone(),
            health,
            max_age: self.config.server.max_age,
        }));
    }

    /// Keeps what a walk of the whole tree found wrong (names that are not
    /// UTF-8, links leading out, loops, unreadable folders), logging what
    /// was not logged already: a periodic scan that finds the same says
    /// nothing, and one found again after it was fixed is said again.
    pub(super) fn set_scan_problems(&mut self, problems: Vec<Diagnostic>) {
        for d in problems
            .iter()
            .filter(|d| !self.problems.walk_logged.contains(*d))
        {
            log_walk_problem(d);
        }
        self.problems.walk_logged = problems.iter().cloned().collect();
        self.problems.scan = problems;
    }

    /// Logs what a walk of one folder found wrong, unless logged already.
    pub(super) fn log_folder_walk_problems(&mut self, problems: Vec<Diagnostic>) {
        for d in problems {
            if !self.problems.walk_logged.contains(&d) {
                log_walk_problem(&d);
                self.problems.walk_logged.insert(d);
            }
        }
    }

    /// Records what a successful full read of `rel` warned about: the
    /// warnings (logged) replace its problems, or none clears them.
    pub(super) fn record_warnings(&mut self, rel: &str, warnings: Vec<Diagnostic>) {
        if warnings.is_empty() {
            self.problems.by_path.remove(rel);
        } else {
            self.log_warnings(&warnings);
            self.problems.by_path.insert(rel.to_string(), warnings);
        }
    }

    /// Logs the duplicate ids and pages of the whole catalog, once per
    /// load, when every file is checked in full and the page index is
    /// built (within the load's bound, [`LOAD_WARNINGS_LOGGED`]). Until
    /// then a file's duplicates are not logged as it changes: this logs
    /// them all.
    pub(super) fn say_duplicates_once(&mut self) {
        if !self.check.all_checked || self.check.duplicates_said || self.catalog.is_deferred() {
            return;
        }
        self.check.duplicates_said = true;
        let mut bounded = LoadWarnings::default();
        bounded.log(&load::duplicate_warnings(&self.config, &self.catalog));
        if bounded.held > 0 {
            tracing::warn!(
                more = bounded.held,
                "{} more duplicate id or page warnings were not logged; `herald check` prints every one",
                bounded.held
            );
        }
    }

    /// Logs what the change of the article at `rel` makes it share with
    /// others (an id, a page), once this load's duplicates were logged.
    pub(super) fn say_duplicates_of(&self, rel: &str) {
        if self.check.duplicates_said {
            load::duplicate_warnings_of(&self.config, &self.catalog, rel)
                .iter()
                .for_each(log_problem);
        }
    }

    /// Logs a file's warnings: all of them once the load is checked in
    /// full, else within the load's bound ([`LOAD_WARNINGS_LOGGED`]).
    pub(super) fn log_warnings(&mut self, warnings: &[Diagnostic]) {
        if self.check.all_checked {
            warnings.iter().for_each(log_problem);
        } else {
            self.check.load_warnings.log(warnings);
        }
    }
}

pub(super) fn log_problem(d: &Diagnostic) {
    match d.severity {
        Severity::Error => {
            tracing::warn!(path = %d.path.display(), problem = %d, "article skipped")
        }
        Severity::Warning => {
            tracing::warn!(path = %d.path.display(), problem = %d, "article warning")
        }
    }
}

/// How many article warnings a load logs (the first load, a reload, and
/// the background check that follows): a newsroom whose every file has an
/// unknown key would otherwise log 100,000 lines at each start. Errors are
/// all logged, and so are the warnings of later edits.
pub const LOAD_WARNINGS_LOGGED: usize = 100;

/// The article warnings of one load, logged up to [`LOAD_WARNINGS_LOGGED`].
#[derive(Debug, Default)]
pub(super) struct LoadWarnings {
    logged: usize,
    pub(super) held: usize,
}

impl LoadWarnings {
    pub(super) fn log(&mut self, warnings: &[Diagnostic]) {
        for w in warnings {
            if self.logged < LOAD_WARNINGS_LOGGED {
                self.logged += 1;
                log_problem(w);
            } else {
                self.held += 1;
            }
        }
    }
}

pub(super) fn log_walk_problem(d: &Diagnostic) {
    tracing::warn!(path = %d.path.display(), problem = %d, "content directory problem");
}
