//! The load generator: a closed loop of N keep-alive connections on one thread (a
//! single-threaded actix/tokio runtime, non-blocking sockets), sending pre-built requests and
//! reading each response by its Content-Length (or chunked framing). Bounded by count (the
//! pool of requests) and by time (the window).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_rt::net::TcpStream;

use crate::procs;

/// Reconnects one connection may make in one window before it gives up.
const MAX_RECONNECTS: u32 = 50;
/// A response larger than this is refused (the scenarios answer at most a few KiB).
const MAX_RESPONSE: usize = 4 * 1024 * 1024;
/// One request's time limit; a stuck server fails the window instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub io_errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub elapsed: Duration,
    /// Sorted latencies in microseconds.
    pub latencies_us: Vec<u32>,
    pub body_bytes: u64,
    pub first_failure: Option<String>,
    /// CPU seconds this process (the generator) used in the window.
    pub generator_cpu: f64,
    /// CPU seconds the server used in the window.
    pub server_cpu: f64,
    /// Whether the pool ran out before the window closed.
    pub exhausted: bool,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.ok as f64 / s
        } else {
            0.0
        }
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let n = self.latencies_us.len();
        let idx = ((n as f64 * p / 100.0).ceil() as usize).clamp(1, n) - 1;
        f64::from(self.latencies_us[idx]) / 1000.0
    }

    pub fn mean_body(&self) -> usize {
        self.body_bytes
            .checked_div(self.requests)
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or(0)
    }

    /// Generator CPU microseconds per request.
    pub fn generator_us_per_request(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.generator_cpu * 1e6 / self.requests as f64
        }
    }
}

struct Shared {
    requests: Arc<Vec<Vec<u8>>>,
    next: Cell<usize>,
    deadline: Instant,
    result: RefCell<LoadResult>,
}

/// Sends `requests` over `connections` keep-alive connections until the pool is used up or
/// `window` has passed.
pub fn run(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    connections: usize,
    window: Duration,
    server_pid: Option<u32>,
) -> Result<LoadResult, String> {
    let system = actix_rt::System::new();
    system.block_on(async move {
        let mut streams = Vec::with_capacity(connections);
        for _ in 0..connections {
            streams.push(connect(addr).await?);
        }
        let cpu0 = procs::cpu_seconds(None);
        let server0 = server_pid.map(|p| procs::cpu_seconds(Some(p)));
        let started = Instant::now();
        let shared = Rc::new(Shared {
            requests,
            next: Cell::new(0),
            deadline: started + window,
            result: RefCell::new(LoadResult::default()),
        });
        let mut tasks = Vec::with_capacity(connections);
        for stream in streams {
            let shared = shared.clone();
            tasks.push(actix_rt::spawn(connection(addr, stream, shared)));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            if let Ok(mut l) = t.await {
                latencies.append(&mut l);
            }
        }
        let elapsed = started.elapsed();
        let cpu1 = procs::cpu_seconds(None);
        let server1 = server_pid.map(|p| procs::cpu_seconds(Some(p)));
        latencies.sort_unstable();
        let mut result = shared.result.borrow().clone();
        result.elapsed = elapsed;
        result.latencies_us = latencies;
        result.generator_cpu = cpu1 - cpu0;
        result.server_cpu = match (server0, server1) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        result.exhausted = shared.next.get() >= shared.requests.len();
        Ok(result)
    })
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = actix_rt::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connect to {addr} timed out"))?
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    s.set_nodelay(true)
        .map_err(|e| format!("set_nodelay: {e}"))?;
    Ok(s)
}

/// One closed-loop connection; returns its latencies.
async fn connection(addr: SocketAddr, mut stream: TcpStream, shared: Rc<Shared>) -> Vec<u32> {
    let mut latencies = Vec::with_capacity(4096);
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut reconnects = 0u32;
    loop {
        let now = Instant::now();
        if now >= shared.deadline {
            break;
        }
        let i = shared.next.get();
        let Some(request) = shared.requests.get(i) else {
            break;
        };
        shared.next.set(i + 1);
        let outcome =
            actix_rt::time::timeout(REQUEST_TIMEOUT, exchange(&stream, request, &mut buf))
                .await
                .unwrap_or_else(|_| Err("request timed out".to_string()));
        let micros = u32::try_from(now.elapsed().as_micros()).unwrap_or(u32::MAX);
        let close = match outcome {
            Ok(resp) => {
                latencies.push(micros);
                record(&shared, &resp);
                resp.close
            }
            Err(e) => {
                record_error(&shared, e);
                buf.clear();
                true
            }
        };
        if close {
            match reconnect(addr, &mut reconnects).await {
                Some(s) => stream = s,
                None => break,
            }
        }
    }
    latencies
}

fn record(shared: &Shared, resp: &Response) {
    let mut r = shared.result.borrow_mut();
    r.requests += 1;
    r.body_bytes += resp.body_len as u64;
    *r.statuses.entry(resp.status).or_default() += 1;
    if (200..300).contains(&resp.status) {
        r.ok += 1;
    } else {
        r.failed += 1;
        if r.first_failure.is_none() {
            r.first_failure = Some(format!("HTTP {}: {}", resp.status, resp.snippet));
        }
    }
}

fn record_error(shared: &Shared, error: String) {
    let mut r = shared.result.borrow_mut();
    r.io_errors += 1;
    if r.first_failure.is_none() {
        r.first_failure = Some(error);
    }
}

async fn reconnect(addr: SocketAddr, count: &mut u32) -> Option<TcpStream> {
    *count += 1;
    if *count > MAX_RECONNECTS {
        return None;
    }
    connect(addr).await.ok()
}

pub struct Response {
    pub status: u16,
    pub body_len: usize,
    pub close: bool,
    /// The start of the body, for error reports.
    pub snippet: String,
    pub body: Vec<u8>,
}

async fn exchange(
    stream: &TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<Response, String> {
    write_all(stream, request).await?;
    read_response(stream, buf).await
}

async fn write_all(stream: &TcpStream, mut data: &[u8]) -> Result<(), String> {
    while !data.is_empty() {
        match stream.try_write(data) {
            Ok(0) => return Err("connection closed while writing".into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                stream.writable().await.map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(())
}

/// Reads one response.
async fn read_response(stream: &TcpStream, buf: &mut Vec<u8>) -> Result<Response, String> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(head) = parse_head(buf)? {
            let total = match head.framing {
                Framing::Length(n) => (head.len + n <= buf.len()).then_some(head.len + n),
                Framing::Chunked => chunked_end(&buf[head.len..]).map(|e| head.len + e),
            };
            if let Some(total) = total {
                let body = &buf[head.len..total];
                let snippet = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                let resp = Response {
                    status: head.status,
                    body_len: body.len(),
                    close: head.close,
                    snippet,
                    body: Vec::new(),
                };
                buf.drain(..total);
                return Ok(resp);
            }
        }
        if buf.len() > MAX_RESPONSE {
            return Err("response too large".into());
        }
        match stream.try_read(&mut chunk) {
            Ok(0) => return Err("connection closed by the server".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                stream.readable().await.map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

enum Framing {
    Length(usize),
    Chunked,
}

struct Head {
    len: usize,
    status: u16,
    framing: Framing,
    close: bool,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| "response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut framing = Framing::Length(0);
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            framing = Framing::Length(value.parse().map_err(|_| "bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.eq_ignore_ascii_case("chunked")
        {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    Ok(Some(Head {
        len: end + 4,
        status,
        framing,
        close,
    }))
}

/// Where a complete chunked body ends (after the last chunk and its trailer), if it is complete.
fn chunked_end(body: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let line_end = pos + find(&body[pos..], b"\r\n")?;
        let size_text = std::str::from_utf8(&body[pos..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        pos = line_end + 2;
        if size == 0 {
            // Trailers end with an empty line.
            let end = pos + find(&body[pos..], b"\r\n")?;
            if end == pos {
                return Some(pos + 2);
            }
            pos = end + 2;
            continue;
        }
        if body.len() < pos + size + 2 {
            return None;
        }
        pos += size + 2;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request on a fresh blocking connection, outside any window: setup calls and the
/// cold-start probe.
pub fn call(addr: SocketAddr, request: &[u8]) -> Result<Response, String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    stream
        .write_all(request)
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(head) = parse_head(&buf)? {
            let total = match head.framing {
                Framing::Length(n) => (head.len + n <= buf.len()).then_some(head.len + n),
                Framing::Chunked => chunked_end(&buf[head.len..]).map(|e| head.len + e),
            };
            if let Some(total) = total {
                let body = buf[head.len..total].to_vec();
                return Ok(Response {
                    status: head.status,
                    body_len: body.len(),
                    close: head.close,
                    snippet: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
                    body,
                });
            }
        }
        if buf.len() > MAX_RESPONSE {
            return Err("response too large".into());
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err("connection closed by the server".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_end_after_the_last_chunk() {
        assert_eq!(chunked_end(b"3\r\nabc\r\n0\r\n\r\n"), Some(13));
        assert_eq!(chunked_end(b"3\r\nabc\r\n0\r\n"), None);
        assert_eq!(chunked_end(b"3\r\nab"), None);
    }

    #[test]
    fn heads_parse_status_and_length() {
        let h = parse_head(b"HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\n\r\nxx")
            .unwrap()
            .unwrap();
        assert_eq!(h.status, 404);
        assert!(matches!(h.framing, Framing::Length(12)));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n").unwrap().is_none());
    }
}
