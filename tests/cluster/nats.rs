//! A real `nats-server` with JetStream on a free loopback port, its store in a temporary
//! directory, killed when dropped; it can be killed and started again on the same port
//! and store (NATS restarts).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) nats-server.
pub(crate) struct NatsServer {
    binary: PathBuf,
    port: u16,
    store: tempfile::TempDir,
    /// Further arguments: TLS, authorization.
    extra: Vec<std::ffi::OsString>,
    child: Option<Child>,
}

/// The nats-server binary. The cluster tests need it: `cargo xtask setup` installs it
/// (Debian's `nats-server` package); a machine without it fails these tests, saying so.
fn binary() -> PathBuf {
    let candidates = [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ];
    if let Some(found) = candidates.iter().map(Path::new).find(|path| path.is_file()) {
        return found.to_owned();
    }
    if let Ok(output) = Command::new("sh")
        .args(["-c", "command -v nats-server"])
        .output()
        && output.status.success()
    {
        return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    }
    panic!(
        "nats-server is not installed, and the cluster tests need a real one: \
         run `cargo xtask setup` (`cargo xtask test` does), or `apt-get install nats-server`"
    );
}

impl NatsServer {
    /// Start a server with JetStream on a free loopback port; returns once it accepts.
    pub(crate) fn start() -> NatsServer {
        NatsServer::start_with(Vec::<std::ffi::OsString>::new())
    }

    /// Start a server as [`NatsServer::start`] does, with further arguments (`--tls ...`,
    /// `--user ... --pass ...`).
    pub(crate) fn start_with<A: Into<std::ffi::OsString>>(
        extra: impl IntoIterator<Item = A>,
    ) -> NatsServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let mut server = NatsServer {
            binary: binary(),
            port,
            store: tempfile::tempdir().expect("a temporary directory"),
            extra: extra.into_iter().map(Into::into).collect(),
            child: None,
        };
        server.restart();
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stop the server (SIGKILL): clients see the connection drop.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again on the same port and store; returns once it accepts connections.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {}: {error}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not accept connections within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
