//! A fault-injecting TCP proxy between k12ctl and the test S3 server
//! (Garage), for the S3 fault tests: connections cut after some bytes,
//! connections that swallow everything and answer nothing, `503 SlowDown`
//! answered by the proxy itself, and responses dropped after the server has
//! processed the request (an ambiguous answer).
//!
//! Plain threads and blocking sockets: the proxy lives as long as its value
//! and stops accepting when dropped (connections in progress end with their
//! peers).

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A kind of S3 request, told from its method and query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `PUT ?partNumber=..&uploadId=..`
    UploadPart,
    /// `POST ?uploadId=..`
    CompleteUpload,
    /// `PUT` of a whole object (a manifest).
    PutObject,
}

/// What the proxy does wrong.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Every connection is closed once it has carried this many bytes
    /// (both directions together).
    CutEvery(u64),
    /// The first `n` connections are read and discarded: nothing reaches
    /// the server, nothing comes back, the socket stays open.
    SwallowFirst(usize),
    /// The first `n` requests of a kind are answered `503 SlowDown` by the
    /// proxy; nothing reaches the server.
    SlowDown(RequestKind, usize),
    /// The first `n` requests of a kind reach the server, which processes
    /// them; their answers are dropped and the connection closed.
    DropResponse(RequestKind, usize),
}

pub struct FaultProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// Requests answered or dropped by the proxy, by kind, and connections
    /// cut or swallowed: to show the fault did happen.
    injected: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// Start a proxy to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, fault: Fault) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let injected = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            upstream,
            fault,
            injected: injected.clone(),
            budget: Arc::new(AtomicUsize::new(match fault {
                Fault::SwallowFirst(n) | Fault::SlowDown(_, n) | Fault::DropResponse(_, n) => n,
                Fault::CutEvery(_) => 0,
            })),
            seen: seen.clone(),
        };
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = shared.serve(client);
                });
            }
        });
        Self {
            port,
            stop,
            injected,
            seen,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many times the fault was injected.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }

    /// "METHOD path?query" of every request the HTTP-aware modes saw.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    fault: Fault,
    injected: Arc<AtomicUsize>,
    /// Faults left to inject (for the counted kinds).
    budget: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    /// Take one from the budget; false once it is spent.
    fn take_one(&self) -> bool {
        let took = self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if took {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        took
    }

    fn serve(&self, client: TcpStream) -> io::Result<()> {
        match self.fault {
            Fault::CutEvery(limit) => self.pipe_with_cut(client, limit),
            Fault::SwallowFirst(_) => {
                if self.take_one() {
                    // Read everything, forward nothing, answer nothing.
                    io::copy(&mut &client, &mut io::sink())?;
                    return Ok(());
                }
                self.pipe_with_cut(client, u64::MAX)
            }
            Fault::SlowDown(kind, _) | Fault::DropResponse(kind, _) => {
                self.per_request(client, kind)
            }
        }
    }

    /// Forward bytes both ways; close both sockets once `limit` bytes have
    /// passed on this connection.
    fn pipe_with_cut(&self, client: TcpStream, limit: u64) -> io::Result<()> {
        let server = TcpStream::connect(&self.upstream)?;
        let passed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cut = Arc::new(AtomicBool::new(false));
        let pump = |mut from: TcpStream, mut to: TcpStream| {
            let passed = passed.clone();
            let cut = cut.clone();
            let injected = self.injected.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let before = passed.fetch_add(n as u64, Ordering::SeqCst);
                    let allowed = limit.saturating_sub(before).min(n as u64) as usize;
                    if to.write_all(&buf[..allowed]).is_err() {
                        break;
                    }
                    if allowed < n {
                        if !cut.swap(true, Ordering::SeqCst) {
                            injected.fetch_add(1, Ordering::SeqCst);
                        }
                        break;
                    }
                }
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(if cut.load(Ordering::SeqCst) {
                    Shutdown::Both
                } else {
                    Shutdown::Write
                });
            })
        };
        let up = pump(client.try_clone()?, server.try_clone()?);
        let down = pump(server, client);
        let _ = up.join();
        let _ = down.join();
        Ok(())
    }

    /// One request at a time: read it whole, then answer it ourselves,
    /// forward it and drop the answer, or forward it and relay the answer.
    /// Each forwarded request goes on its own upstream connection with
    /// `connection: close`, so the answer ends where the server closes.
    fn per_request(&self, client: TcpStream, kind: RequestKind) -> io::Result<()> {
        let mut reader = BufReader::new(client.try_clone()?);
        let mut client_w = client;
        loop {
            let Some(head) = read_head(&mut reader)? else {
                return Ok(());
            };
            let request_line = head.lines().next().unwrap_or_default().to_owned();
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let target = parts.next().unwrap_or_default().to_owned();
            self.seen.lock().unwrap().push(format!("{method} {target}"));
            let length = header(&head, "content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if header(&head, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
                client_w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body)?;
            let matches = classify(&method, &target) == Some(kind);
            match self.fault {
                Fault::SlowDown(..) if matches && self.take_one() => {
                    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                        <Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                    write!(
                        client_w,
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/xml\r\n\
                         content-length: {}\r\n\r\n{xml}",
                        xml.len()
                    )?;
                    continue;
                }
                _ => {}
            }
            let mut server = TcpStream::connect(&self.upstream)?;
            server.write_all(rewrite_head(&head).as_bytes())?;
            server.write_all(&body)?;
            let mut answer = Vec::new();
            server.read_to_end(&mut answer)?;
            if matches!(self.fault, Fault::DropResponse(..)) && matches && self.take_one() {
                // The server did the work; the client never hears of it.
                let _ = client_w.shutdown(Shutdown::Both);
                return Ok(());
            }
            client_w.write_all(&answer)?;
            let _ = client_w.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

fn classify(method: &str, target: &str) -> Option<RequestKind> {
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    match method {
        "PUT" if has("partNumber") && has("uploadId") => Some(RequestKind::UploadPart),
        "POST" if has("uploadId") => Some(RequestKind::CompleteUpload),
        "PUT" if !has("uploadId") => Some(RequestKind::PutObject),
        _ => None,
    }
}

/// The request head up to and including the blank line; `None` at a clean
/// end of the connection.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" {
            return Ok(Some(head));
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The same head without `connection` and `expect` headers, plus
/// `connection: close` (neither header is signed by SigV4 here).
fn rewrite_head(head: &str) -> String {
    let mut out = String::new();
    for line in head.lines().filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("expect") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("connection: close\r\n\r\n");
    out
}
