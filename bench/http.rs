//! A minimal HTTP/1.1 client over one keep-alive connection, shared by the
//! benchmark helpers in `examples/` (`#[path = "../bench/http.rs"] mod http;`).
//! Std only, so the helpers build in seconds and a poll costs one write
//! and one read, without a runtime or a connection pool in the way.
//!
//! Enough for herald and nginx on loopback: `GET` with extra headers,
//! `Content-Length` or chunked bodies, and a reconnect when the server
//! closed the connection.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent (not decompressed).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A keep-alive connection to one server.
pub struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    timeout: Duration,
}

impl Conn {
    /// A connection to `addr` (`127.0.0.1:8080`), opened on first use.
    pub fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            stream: None,
            buf: Vec::with_capacity(1 << 16),
            timeout: Duration::from_secs(30),
        }
    }

    /// How long a read may wait for the server (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Conn {
        self.timeout = timeout;
        self
    }

    /// Opens the connection now. Fails when nothing listens.
    pub fn connect(&mut self) -> io::Result<()> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(self.timeout))?;
            self.stream = Some(s);
            self.buf.clear();
        }
        Ok(())
    }

    /// `GET path` with extra headers. A connection the server closed is
    /// reopened once; fails when that does not help.
    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
        let reused = self.stream.is_some();
        match self.try_get(path, headers) {
            Ok(r) => Ok(r),
            Err(_) if reused => {
                self.stream = None;
                self.try_get(path, headers)
            }
            Err(e) => Err(e),
        }
    }

    fn try_get(&mut self, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
        self.connect()?;
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (n, v) in headers {
            req.push_str(n);
            req.push_str(": ");
            req.push_str(v);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let result = self.exchange(req.as_bytes());
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange(&mut self, req: &[u8]) -> io::Result<Response> {
        let Conn { stream, buf, .. } = self;
        let stream = stream
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))?;
        stream.write_all(req)?;
        let head_end = loop {
            if let Some(i) = find(buf, b"\r\n\r\n") {
                break i + 4;
            }
            fill(stream, buf)?;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        buf.drain(..head_end);
        let value = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let close = value("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = if status == 304 || status == 204 || (100..200).contains(&status) {
            Vec::new()
        } else if let Some(len) = value("content-length") {
            let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
            while buf.len() < len {
                fill(stream, buf)?;
            }
            buf.drain(..len).collect()
        } else if value("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            read_chunked(stream, buf)?
        } else {
            // Body until the server closes.
            while fill(stream, buf).is_ok() {}
            std::mem::take(buf)
        };
        if close {
            self.stream = None;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            fill(stream, buf)?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                if let Some(i) = find(buf, b"\r\n") {
                    let empty = i == 0;
                    buf.drain(..i + 2);
                    if empty {
                        return Ok(body);
                    }
                } else {
                    fill(stream, buf)?;
                }
            }
        }
        while buf.len() < size + 2 {
            fill(stream, buf)?;
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 1 << 16];
    let n = stream.read(&mut chunk)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Percent-encodes every byte of a path segment outside the RFC 3986
/// unreserved set (category names may be Chinese).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}
