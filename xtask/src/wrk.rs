//! What the HTTP benches share: a server process killed when dropped, waiting for a
//! server's first 2xx, one request's answer, and reading `wrk --latency`'s report.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What `wrk --latency` reported for one server.
pub(crate) struct Measured {
    pub(crate) requests_per_sec: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    /// Non-2xx answers plus socket errors.
    pub(crate) errors: u64,
}

/// A server process a bench started; killed when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until `addr` answers `GET path` with a 2xx status, for at most `patience`.
pub(crate) fn wait_ready(addr: &str, path: &str, patience: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        if get(addr, path).is_ok_and(|answer| answer.succeeded()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server at {addr} did not answer 2xx within {patience:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One answer of a server: its status line and body.
pub(crate) struct Answer {
    pub(crate) status: String,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn succeeded(&self) -> bool {
        self.status
            .split_whitespace()
            .nth(1)
            .is_some_and(|code| code.starts_with('2'))
    }
}

/// `GET path` from `addr` on a connection of its own. HTTP/1.0, so that the body comes
/// whole (never chunked), up to the end of the connection.
pub(crate) fn get(addr: &str, path: &str) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(addr)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Ok(Answer {
        status: head.lines().next().unwrap_or_default().to_owned(),
        body: body.to_owned(),
    })
}

/// Read a `wrk --latency` report.
pub(crate) fn parse(report: &str) -> anyhow::Result<Measured> {
    let mut requests_per_sec = None;
    let (mut p50, mut p99) = (None, None);
    let mut errors = 0;
    for line in report.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => requests_per_sec = Some(value.parse()?),
            ["50%", value] => p50 = Some(duration(value)?),
            ["99%", value] => p99 = Some(duration(value)?),
            ["Non-2xx", "or", "3xx", "responses:", count] => errors += count.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                errors += rest
                    .iter()
                    .filter_map(|word| word.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    Ok(Measured {
        requests_per_sec: requests_per_sec.context("no Requests/sec line")?,
        p50: p50.context("no 50% line")?,
        p99: p99.context("no 99% line")?,
        errors,
    })
}

/// A wrk duration: `303.00us`, `1.20ms`, `2.00s`.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in `{text}`"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse()?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        other => bail!("unknown unit `{other}`"),
    };
    Ok(Duration::from_secs_f64(seconds))
}
