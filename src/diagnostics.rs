//! Problems with input files, printed as `path:line:col: error: message`
//! (the form editors and terminals link to). Every reader of content
//! reports through [`Diagnostic`]; the daemon, `herald check` and
//! `/healthz` print them.

use std::fmt;
use std::path::{Path, PathBuf};

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The article is left out (or its last good version kept).
    Error,
    /// The article is published; something was adjusted.
    Warning,
}

/// A problem with a content file, printed as `path:line:col: error: message`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The file, as the user knows it (content dir joined with the relative path).
    pub path: PathBuf,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// An error at `path` (and `position`, 1-based line and column).
    pub fn error(
        path: &Path,
        position: Option<(usize, usize)>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            position,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    /// A warning at `path` (and `position`).
    pub fn warning(
        path: &Path,
        position: Option<(usize, usize)>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            position,
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.position {
            Some((l, c)) => write!(
                f,
                "{}:{}:{}: {}: {}",
                self.path.display(),
                l,
                c,
                sev,
                self.message
            ),
            None => write!(f, "{}: {}: {}", self.path.display(), sev, self.message),
        }
    }
}
