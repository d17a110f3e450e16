//! The other side of WebSub, on loopback: a subscriber's callback server
//! and a stub external hub. One small HTTP/1.1 server (std::net, a
//! thread per connection, one request per connection) records every
//! request it gets — method, target, headers, body, when — and answers
//! as the test says, changeable while it runs:
//!
//! - a verification `GET` (one with `hub.challenge`) by [`Verify`]: echo
//!   the challenge, echo a wrong one, or answer a status;
//! - any other `GET` (a denial) with 200;
//! - everything else (content distribution, publish pings) by
//!   [`Answer`]: a status, 500 a number of times then 200, or no answer
//!   at all.
//!
//! Written from the WebSub contract, not from herald: the form encoding,
//! the query parsing and the HMAC here are the tests' own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{eventually, pct};

/// The longest a connection may take to send its request, or a reply
/// may take to write.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// The longest [`Answer::Hang`] holds a connection when the server is
/// not stopped first: past any timeout of the hub, short enough that no
/// thread outlives a test binary by much.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// The largest request body read (a feed is far smaller).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// How a verification of intent (a `GET` carrying `hub.challenge`) is
/// answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// 200 with the challenge as the whole body: the subscriber confirms.
    Echo,
    /// 200 with the challenge and one more character: not a confirmation.
    WrongChallenge,
    /// This status with an empty body.
    Status(u16),
    /// 307 to the same path and query on 127.0.0.1 at this port.
    Redirect(u16),
}

/// How every request other than a `GET` (content distribution, publish
/// pings) is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// This status with an empty body.
    Status(u16),
    /// Read the request, then never answer: the connection stays open
    /// until the server is dropped (or [`HANG_LIMIT`] passes).
    Hang,
    /// 500 this many more times, then 200.
    FailThen(usize),
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target: path and query, as sent.
    pub target: String,
    /// Header names lower-cased, values as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// When the whole request had arrived.
    pub at: Instant,
    /// The status answered; `None` for [`Answer::Hang`].
    pub answered: Option<u16>,
}

impl Request {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query's name/value pairs, form-decoded, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        self.target
            .split_once('?')
            .map(|(_, q)| form_decode(q))
            .unwrap_or_default()
    }

    /// The first query parameter `name`, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The first header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (lower-case), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body read as a form (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> Vec<(String, String)> {
        form_decode(&String::from_utf8_lossy(&self.body))
    }

    /// The first form field `name` of the body.
    pub fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body as text, lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether this is a `GET` with `hub.mode` = `mode`.
    pub fn is_get_mode(&self, mode: &str) -> bool {
        self.method == "GET" && self.param("hub.mode").as_deref() == Some(mode)
    }

    /// Whether this is a `POST` (a content distribution, or a ping).
    pub fn is_post(&self) -> bool {
        self.method == "POST"
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        let body = self.text();
        let shown: String = body.chars().take(80).collect();
        format!(
            "{} {} → {:?} ({} body bytes: {shown:?})",
            self.method,
            self.target,
            self.answered,
            self.body.len()
        )
    }
}

/// What the accept thread and the connection threads share.
struct Shared {
    stop: AtomicBool,
    log: Mutex<Vec<Request>>,
    verify: Mutex<Verify>,
    answer: Mutex<Answer>,
}

/// A loopback HTTP server standing for WebSub subscribers (one callback
/// per path) or for an external hub; stopped when dropped.
pub struct Subscriber {
    /// The address it listens on (127.0.0.1, an ephemeral port).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Subscriber {
    /// A subscriber that confirms every verification ([`Verify::Echo`])
    /// and accepts every delivery with 200.
    pub fn start() -> Subscriber {
        Subscriber::with(Verify::Echo, Answer::Status(200))
    }

    /// A stub external hub: answers every publish ping with 204.
    pub fn stub_hub() -> Subscriber {
        Subscriber::with(Verify::Echo, Answer::Status(204))
    }

    /// A server answering verifications by `verify` and everything else
    /// by `answer`.
    pub fn with(verify: Verify, answer: Answer) -> Subscriber {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
            verify: Mutex::new(verify),
            answer: Mutex::new(answer),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("websub-subscriber".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if shared.stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let shared = Arc::clone(&shared);
                        // Detached: a connection thread ends when its
                        // request is answered, or, hanging, once `stop`
                        // is set.
                        let _ = std::thread::Builder::new()
                            .name("websub-subscriber-conn".into())
                            .spawn(move || {
                                let _ = serve(stream, &shared);
                            });
                    }
                })
                .expect("spawn the subscriber's accept thread")
        };
        Subscriber {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT` + `path_and_query`: a callback URL.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// Answers verifications by `verify` from now on.
    pub fn set_verify(&self, verify: Verify) {
        *self.shared.verify.lock().unwrap() = verify;
    }

    /// Answers deliveries and pings by `answer` from now on.
    pub fn set_answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.lock().unwrap().clone()
    }

    /// How many requests have arrived: a mark for [`Subscriber::since`].
    pub fn mark(&self) -> usize {
        self.shared.log.lock().unwrap().len()
    }

    /// The requests that arrived after `mark`.
    pub fn since(&self, mark: usize) -> Vec<Request> {
        self.shared.log.lock().unwrap()[mark..].to_vec()
    }

    /// Waits (up to `timeout`) until `pick` finds something among the
    /// requests that arrived after `mark`, and returns it; panics with
    /// `what` and those requests.
    pub fn wait<T>(
        &self,
        what: &str,
        mark: usize,
        timeout: Duration,
        mut pick: impl FnMut(&[Request]) -> Option<T>,
    ) -> T {
        eventually(what, timeout, || {
            let seen = self.since(mark);
            pick(&seen).ok_or_else(|| describe(&seen))
        })
    }

    /// Waits (up to `timeout`) for the first request after `mark` that
    /// `want` accepts.
    pub fn wait_request(
        &self,
        what: &str,
        mark: usize,
        timeout: Duration,
        want: impl Fn(&Request) -> bool,
    ) -> Request {
        self.wait(what, mark, timeout, |seen| {
            seen.iter().find(|r| want(r)).cloned()
        })
    }

    /// Returns once no request has arrived for `quiet` (at most
    /// `timeout`): for a test that next asserts on what comes after.
    pub fn wait_quiet(&self, quiet: Duration, timeout: Duration) {
        let mut last = self.mark();
        let mut since = Instant::now();
        eventually(&format!("{quiet:?} without a request"), timeout, || {
            let now = self.mark();
            if now != last {
                last = now;
                since = Instant::now();
            }
            if since.elapsed() >= quiet {
                Ok(())
            } else {
                Err(describe(&self.requests()))
            }
        });
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees `stop`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// The requests, one line each, for failure messages.
pub fn describe(requests: &[Request]) -> String {
    if requests.is_empty() {
        return "no requests".into();
    }
    requests
        .iter()
        .map(Request::summary)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Reads one request, records it, answers it, closes.
fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_LIMIT))?;
    stream.set_write_timeout(Some(IO_LIMIT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(()); // a wake-up connect, or a client that went away
    }
    let mut words = line.trim_end().splitn(3, ' ');
    let method = words.next().unwrap_or_default().to_string();
    let target = words.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Ok(());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v): &(String, String)| v.clone())
    };
    let body = if header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        read_chunked(&mut reader)?
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if len > MAX_BODY {
            return Ok(());
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    };
    let mut request = Request {
        method,
        target,
        headers,
        body,
        at: Instant::now(),
        answered: None,
    };
    let reply = decide(&request, shared);
    request.answered = reply.as_ref().map(|(status, _)| *status);
    shared.log.lock().unwrap().push(request);
    let mut stream = stream;
    match reply {
        Some((status, body)) => {
            // A redirect's "body" is its target.
            let location = if (300..400).contains(&status) {
                format!("location: {body}\r\n")
            } else {
                String::new()
            };
            let head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
                 {location}connection: close\r\n\r\n",
                reason(status),
                body.len()
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(body.as_bytes())?;
            stream.flush()?;
            let _ = stream.shutdown(std::net::Shutdown::Write);
        }
        None => {
            // Hang: hold the connection without a byte of answer.
            let started = Instant::now();
            while !shared.stop.load(Ordering::SeqCst) && started.elapsed() < HANG_LIMIT {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Ok(())
}

/// The status and body to answer `request` with; `None` to hang.
fn decide(request: &Request, shared: &Shared) -> Option<(u16, String)> {
    if request.method == "GET" {
        let Some(challenge) = request.param("hub.challenge") else {
            return Some((200, String::new())); // a denial, or anything else
        };
        return Some(match *shared.verify.lock().unwrap() {
            Verify::Echo => (200, challenge),
            Verify::WrongChallenge => (200, format!("{challenge}0")),
            Verify::Status(s) => (s, String::new()),
            Verify::Redirect(port) => (307, format!("http://127.0.0.1:{port}{}", request.target)),
        });
    }
    let mut answer = shared.answer.lock().unwrap();
    match *answer {
        Answer::Status(s) => Some((s, String::new())),
        Answer::Hang => None,
        Answer::FailThen(0) => Some((200, String::new())),
        Answer::FailThen(n) => {
            *answer = Answer::FailThen(n - 1);
            Some((500, String::new()))
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = size.trim_end();
        let size = size.split(';').next().unwrap_or_default().trim();
        let n = usize::from_str_radix(size, 16).map_err(|_| bad("chunk size"))?;
        if n == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t)? == 0 || t.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + n > MAX_BODY {
            return Err(bad("body too large"));
        }
        let start = body.len();
        body.resize(start + n, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        307 => "Temporary Redirect",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

// ------------------------------------------------------------ encodings

/// `application/x-www-form-urlencoded` text of `fields`, every byte
/// outside the unreserved set percent-encoded.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes form or query text: `&`-separated `name=value` pairs, `+` a
/// space, `%XX` a byte (invalid UTF-8 replaced).
pub fn form_decode(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The lower-case hex HMAC-SHA256 of `body` under `key`: what
/// `X-Hub-Signature: sha256=…` should carry.
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC key");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
