//! Raw sockets, for what a client library would refuse or normalise:
//! malformed, oversized, half-sent or pipelined requests, and clients
//! that go silent. Every normal request goes through [`super::http`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The longest wait for any one connect, write or read: a hang fails.
pub const IO_LIMIT: Duration = Duration::from_secs(10);

/// One response read off a raw connection.
#[derive(Debug)]
pub struct RawReply {
    /// The status line as sent.
    pub status_line: String,
    /// Status code.
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`, or up to the close).
    pub body: Vec<u8>,
}

impl RawReply {
    /// A header's value (`name` lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// At most 300 bytes of `bytes` as text, and the length, for messages.
pub fn lossy(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(300)];
    format!(
        "{:?} ({} bytes)",
        String::from_utf8_lossy(shown),
        bytes.len()
    )
}

/// A reply with this head and no body yet; panics when it is not one.
fn parse_head(head: &str) -> RawReply {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawReply {
        status_line,
        status,
        headers,
        body: Vec::new(),
    }
}

/// A raw HTTP/1 connection: writes bytes exactly as given and reads
/// responses one at a time by their `Content-Length` (herald always
/// sends one), keeping what arrived beyond the last one.
pub struct Conn {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes read and not yet taken as an answer.
    pub buf: Vec<u8>,
}

impl Conn {
    /// Connects within [`IO_LIMIT`].
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect_timeout(&addr, IO_LIMIT).expect("connect to the daemon");
        stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
        stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes `bytes`. Errors are ignored on purpose: a server that
    /// refuses a request may close (or reset) the connection before it
    /// has read all of it, and what it answered is then judged by the
    /// reads that follow, so a refused write shows as a missing answer.
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Reads more bytes into the buffer; `false` once the server closed
    /// the connection (EOF or reset). Panics when nothing happens within
    /// [`IO_LIMIT`].
    pub fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "the daemon neither sent nor closed within {IO_LIMIT:?}; so far {}",
                    lossy(&self.buf)
                )
            }
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next whole response, or `None` when the server closes before
    /// sending one (what it did send stays in the buffer).
    pub fn answer(&mut self) -> Option<RawReply> {
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut reply = parse_head(&head);
        let status_line = reply.status_line.clone();
        let len: usize = reply
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length in {head:?}"));
        let end = head_end + 4 + len;
        while self.buf.len() < end {
            assert!(
                self.fill(),
                "closed after {} of {len} body bytes of {status_line:?}",
                self.buf.len() - head_end - 4
            );
        }
        reply.body = self.buf[head_end + 4..end].to_vec();
        self.buf.drain(..end);
        Some(reply)
    }

    /// Waits until the server closes the connection; returns what it
    /// sent meanwhile that was not read as an answer. Panics if the
    /// connection stays open and silent for [`IO_LIMIT`].
    pub fn rest_until_closed(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }
}

/// Sends `request` (bytes exactly as given; it should ask for
/// `Connection: close`) and reads the reply until the server closes.
pub fn raw(addr: SocketAddr, request: &[u8]) -> RawReply {
    let mut c = Conn::open(addr);
    c.send(request);
    let buf = c.rest_until_closed();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut reply = parse_head(&head);
    reply.body = buf[split + 4..].to_vec();
    reply
}

/// A `GET` of `target` (raw bytes, not normalised) over a raw socket.
pub fn raw_get(addr: SocketAddr, target: &[u8]) -> RawReply {
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: feeds.herald.test\r\nConnection: close\r\n\r\n");
    raw(addr, &req)
}

/// How a connection ended while we waited for the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// The server closed it (EOF or reset) after this long.
    After(Duration),
    /// Still open at the deadline.
    StillOpen,
}

/// Waits until the server closes `s` (read returns 0 or an error), or
/// `limit` passes. Bytes the server sends (e.g. a 408) are skipped.
pub fn wait_closed(s: &TcpStream, limit: Duration) -> Closed {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Closed::StillOpen;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match (&*s).read(&mut buf) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Closed::StillOpen
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => return Closed::After(started.elapsed()),
            Ok(_) => continue,
        }
    }
}
