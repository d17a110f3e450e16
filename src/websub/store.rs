//! The built-in hub's subscriptions in SQLite (bundled with the binary),
//! on a thread of its own: SQLite calls block, and the hub never waits
//! for them. The hub keeps its subscriptions in memory and sends every
//! change here; each is committed on its own, so a restart — or a
//! SIGTERM — finds every subscription verified before it.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use rusqlite::{params, Connection};

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The feed's URL.
    pub topic: String,
    /// The subscriber's callback URL.
    pub callback: String,
    /// The secret deliveries are signed with.
    pub secret: Option<String>,
    /// When the lease ends, Unix seconds.
    pub lease_end: i64,
}

/// A change to the stored subscriptions.
#[derive(Debug)]
pub enum Op {
    /// Insert or replace a subscription.
    Put(Row),
    /// Remove one, by (topic, callback).
    Delete(String, String),
}

/// The database file inside `websub.state_dir`.
pub const FILE_NAME: &str = "websub.sqlite3";

/// The handle the hub writes through. A database that could not be
/// opened, or whose last write failed, is reported by [`Store::error`].
#[derive(Debug, Clone)]
pub struct Store {
    tx: mpsc::Sender<Op>,
    error: Arc<Mutex<Option<String>>>,
}

impl Store {
    /// Opens (creating) the database in `dir` on a new thread; returns the
    /// handle and the subscriptions stored. When it cannot be opened the
    /// handle reports why, and writes are dropped.
    pub fn open(dir: &Path) -> (Store, Vec<Row>) {
        let error = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel::<Op>();
        let (loaded_tx, loaded_rx) = mpsc::channel();
        let path = dir.join(FILE_NAME);
        let dir = dir.to_path_buf();
        let err = Arc::clone(&error);
        let spawned = std::thread::Builder::new()
            .name("herald-websub-db".into())
            .spawn(move || {
                let conn = match open_db(&dir, &path) {
                    Ok((conn, rows)) => {
                        let _ = loaded_tx.send(Ok(rows));
                        conn
                    }
                    Err(e) => {
                        let _ = loaded_tx.send(Err(e));
                        return;
                    }
                };
                for op in rx {
                    let result = apply(&conn, &op);
                    let mut slot = err.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(()) => *slot = None,
                        Err(e) => {
                            let msg = format!("{}: cannot write: {e}", path.display());
                            tracing::error!(error = %msg, "websub: subscription database");
                            *slot = Some(msg);
                        }
                    }
                }
            });
        let rows = match spawned {
            Ok(_) => loaded_rx
                .recv()
                .unwrap_or_else(|_| Err("the database thread ended".into())),
            Err(e) => Err(format!("cannot start the database thread: {e}")),
        };
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "websub: subscription database unavailable; the hub answers 503");
                *error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                Vec::new()
            }
        };
        (Store { tx, error }, rows)
    }

    /// Sends a change to the database thread.
    pub fn write(&self, op: Op) {
        let _ = self.tx.send(op);
    }

    /// Why the database cannot be used now, if it cannot.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn open_db(dir: &PathBuf, path: &Path) -> Result<(Connection, Vec<Row>), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: cannot open: {e}", path.display());
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    let conn = Connection::open(path).map_err(|e| fail(&e))?;
    // WAL: a commit is one append; NORMAL sync keeps every commit across a
    // crash of the process (only a power cut can lose the last ones).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA busy_timeout = 5000;
         CREATE TABLE IF NOT EXISTS subscriptions (
             topic TEXT NOT NULL,
             callback TEXT NOT NULL,
             secret TEXT,
             lease_end INTEGER NOT NULL,
             PRIMARY KEY (topic, callback)
         );",
    )
    .map_err(|e| fail(&e))?;
    let rows = {
        let mut stmt = conn
            .prepare("SELECT topic, callback, secret, lease_end FROM subscriptions")
            .map_err(|e| fail(&e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Row {
                    topic: r.get(0)?,
                    callback: r.get(1)?,
                    secret: r.get(2)?,
                    lease_end: r.get(3)?,
                })
            })
            .map_err(|e| fail(&e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| fail(&e))?
    };
    Ok((conn, rows))
}

fn apply(conn: &Connection, op: &Op) -> rusqlite::Result<()> {
    match op {
        Op::Put(row) => conn
            .prepare_cached(
                "INSERT OR REPLACE INTO subscriptions (topic, callback, secret, lease_end)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![row.topic, row.callback, row.secret, row.lease_end])
            .map(drop),
        Op::Delete(topic, callback) => conn
            .prepare_cached("DELETE FROM subscriptions WHERE topic = ?1 AND callback = ?2")?
            .execute(params![topic, callback])
            .map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cb: &str) -> Row {
        Row {
            topic: "https://f.example/a/atom.xml".into(),
            callback: cb.into(),
            secret: Some("s".into()),
            lease_end: 1_900_000_000,
        }
    }

    fn reopen(dir: &Path) -> Vec<Row> {
        // The writer thread ends once its handle is dropped and its queue drained.
        for _ in 0..200 {
            let (store, rows) = Store::open(dir);
            if store.error().is_none() {
                return rows;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("cannot reopen")
    }

    #[test]
    fn subscriptions_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (store, rows) = Store::open(dir.path());
        assert!(rows.is_empty());
        assert_eq!(store.error(), None);
        store.write(Op::Put(row("https://r.example/1")));
        store.write(Op::Put(row("https://r.example/2")));
        store.write(Op::Delete(
            "https://f.example/a/atom.xml".into(),
            "https://r.example/1".into(),
        ));
        drop(store);
        // The writer may still be applying the three changes: wait for
        // their end state (one row alone is also a state on the way).
        let want = vec![row("https://r.example/2")];
        let mut rows = Vec::new();
        for _ in 0..200 {
            rows = reopen(dir.path());
            if rows == want {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(rows, want);
    }

    #[test]
    fn a_state_dir_that_is_a_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state");
        std::fs::write(&file, "not a folder").unwrap();
        let (store, rows) = Store::open(&file);
        assert!(rows.is_empty());
        let err = store.error().expect("an error");
        assert!(err.contains("cannot open"), "{err}");
    }
}
