//! The `arsenal` binary as operators run it, in its own OS process: killed hard in the
//! middle of an upload and restarted, and compiling uploaded code in a child process that
//! it kills at the time bound.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arsenal_tests::guests;
use serde_json::Value;

/// The admin token every server here is started with.
const TOKEN: &str = "server-process-test-token";
/// How long a server may take to start before the test gives up on it.
const START_BOUND: Duration = Duration::from_secs(120);

/// A running `arsenal serve`.
struct Server {
    child: Child,
    url: String,
}

/// How a server is started: the admin token it is given (none: it makes its own), the log
/// filter, and arguments before `serve`.
struct Launch<'a> {
    admin_token: Option<&'a str>,
    log: &'a str,
    args: &'a [&'a str],
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            admin_token: Some(TOKEN),
            log: "warn",
            args: &[],
        }
    }
}

/// Write the configuration of a server keeping its state in `dir`, with `extra` settings
/// (TOML) appended.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let config = dir.join("arsenal.toml");
    let cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"127.0.0.1:0\"\nstate_dir = {state:?}\nsandbox_dir = {sandboxes:?}\nhost_services = false\n\n[cache]\ndir = {cache:?}\n\n{extra}",
            state = dir.join("state"),
            sandboxes = dir.join("sandboxes"),
        ),
    )
    .expect("config written");
    config
}

impl Server {
    /// Start the binary on a free loopback port with its state in `dir` and `extra`
    /// settings (TOML) appended; returns once it says it is serving.
    fn start(dir: &Path, extra: &str) -> Server {
        Server::launch(dir, extra, &Launch::default()).0
    }

    /// [`Server::start`] as `launch` says; also returns the server's stderr, line by line
    /// as it writes them (read on a thread of its own, so a chatty log never blocks it).
    fn launch(
        dir: &Path,
        extra: &str,
        launch: &Launch<'_>,
    ) -> (Server, std::sync::mpsc::Receiver<String>) {
        let config = write_config(dir, extra);
        let mut command = Command::new(env!("CARGO_BIN_EXE_arsenal"));
        command
            .args(launch.args)
            .args(["--config".as_ref(), config.as_os_str(), "serve".as_ref()])
            .env_remove("ARSENAL_ADMIN_TOKEN")
            .env("ARSENAL_LOG", launch.log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = launch.admin_token {
            command.env("ARSENAL_ADMIN_TOKEN", token);
        }
        let mut child = command.spawn().expect("the arsenal binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (wrote, written) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = wrote.send(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let (said, heard) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line
                    .split(" on ")
                    .nth(1)
                    .filter(|_| line.starts_with("arsenal serving"))
                {
                    let _ = said.send(url.trim().to_owned());
                }
            }
        });
        let url = match heard.recv_timeout(START_BOUND) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr: Vec<String> = written.try_iter().collect();
                panic!("the server did not start:\n{}", stderr.join("\n"));
            }
        };
        (Server { child, url }, written)
    }

    /// SIGKILL: no shutdown, no drain, no flush.
    fn kill_hard(mut self) {
        self.child.kill().expect("the server is killed");
        self.child.wait().expect("the server is reaped");
    }

    fn address(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a client")
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let response = Server::client()
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    fn upload(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> (u16, Value) {
        let response = Server::client()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/wasm")
            .body(body)
            .send()
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// The pids of this server's child processes (compilers), zombies included.
    fn children(&self) -> Vec<u32> {
        let tasks = PathBuf::from(format!("/proc/{}/task", self.child.id()));
        std::fs::read_dir(tasks)
            .expect("the server's tasks are listed")
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
            .flat_map(|children| {
                children
                    .split_whitespace()
                    .filter_map(|pid| pid.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `command` to its end and return its output; one still running after
/// [`START_BOUND`] (a server that should have refused to start, a client that hangs) is
/// killed and fails the test.
fn output_within(command: &mut Command) -> std::process::Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id().to_string();
    let (ended, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = ended.send(child.wait_with_output());
    });
    match output.recv_timeout(START_BOUND) {
        Ok(output) => output.expect("the binary's output is read"),
        Err(_) => {
            // Not reaped yet, so the pid is still the child's.
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("{command:?} still ran after {START_BOUND:?}");
        }
    }
}

/// Send a request head and `sent` bytes of a `body` announced whole, over a raw socket,
/// and return without reading an answer: the upload is in flight.
fn start_upload(server: &Server, path: &str, body: &[u8], sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(server.address()).expect("connected");
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/wasm\r\ncontent-length: {}\r\n\r\n",
        server.address(),
        body.len()
    )
    .expect("head sent");
    stream.write_all(&body[..sent]).expect("body sent");
    stream.flush().expect("flushed");
    stream
}

fn versions(server: &Server, name: &str) -> Vec<String> {
    let (status, body) = server.get(&format!("/api/v1/admin/operations/{name}/versions"));
    assert_eq!(status, 200, "{body}");
    body["data"]["versions"]
        .as_array()
        .expect("a list of versions")
        .iter()
        .map(|version| {
            version["content_hash"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Every kept component is whole: its bytes hash to its name, and nothing is left half
/// written beside them.
fn assert_state_whole(state: &Path) {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(state.join("operations.json")).expect("the manifest is there"),
    )
    .expect("the manifest parses");
    let components = state.join("components");
    for entry in std::fs::read_dir(&components)
        .expect("components listed")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let hash = name
            .strip_suffix(".wasm")
            .unwrap_or_else(|| panic!("a stray file in the state directory: {name}"));
        let bytes = std::fs::read(entry.path()).expect("component readable");
        assert_eq!(arsenal::content_hash(&bytes), hash, "torn component {name}");
    }
    for hash in [&manifest["live"], &manifest["workers"]["live"]]
        .into_iter()
        .filter_map(Value::as_object)
        .flatten()
        .map(|(_, hash)| hash)
    {
        let hash = hash.as_str().expect("a hash");
        assert!(
            components.join(format!("{hash}.wasm")).exists(),
            "the manifest names {hash}, which is not kept"
        );
    }
}

#[test]
fn a_hard_kill_in_the_middle_of_an_upload_leaves_the_state_before_or_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let echo_v2 = arsenal_tests::read(guests::ECHO_V2);
    let typed = arsenal_tests::read(guests::TYPED);

    let server = Server::start(dir.path(), "");
    let (status, body) = server.upload(
        reqwest::Method::POST,
        "/api/v1/admin/operations",
        typed.clone(),
    );
    assert_eq!(status, 201, "{body}");
    let typed_hash = arsenal::content_hash(&typed);
    // Half of a replacement of `echo` is sent, then the server dies.
    let _in_flight = start_upload(
        &server,
        "/api/v1/admin/operations/echo",
        &echo_v2,
        echo_v2.len() / 2,
    );
    server.kill_hard();

    let server = Server::start(dir.path(), "");
    assert_eq!(versions(&server, "typed"), vec![typed_hash.clone()]);
    let echo = versions(&server, "echo");
    assert_eq!(echo.len(), 1, "the half upload left no version: {echo:?}");
    assert_ne!(echo[0], arsenal::content_hash(&echo_v2));
    assert_state_whole(&dir.path().join("state"));

    // The whole body this time; the kill lands while the server reads, compiles or keeps it.
    let _in_flight = start_upload(
        &server,
        "/api/v1/admin/operations/echo",
        &echo_v2,
        echo_v2.len(),
    );
    server.kill_hard();

    let server = Server::start(dir.path(), "");
    let echo = versions(&server, "echo");
    let replaced = echo.first() == Some(&arsenal::content_hash(&echo_v2));
    assert_eq!(
        echo.len(),
        if replaced { 2 } else { 1 },
        "before or after, never between: {echo:?}"
    );
    assert_eq!(versions(&server, "typed"), vec![typed_hash]);
    assert_state_whole(&dir.path().join("state"));
    // And it keeps working: the replacement goes through now.
    let (status, body) = server.upload(
        reqwest::Method::PUT,
        "/api/v1/admin/operations/echo",
        echo_v2,
    );
    assert_eq!(status, 200, "{body}");
}

/// The versions of worker `name` (the start of each content hash), live first; none when
/// no worker has the name.
fn worker_versions(server: &Server, name: &str) -> Vec<String> {
    let (status, body) = server.get(&format!("/api/v1/admin/workers/{name}/versions"));
    if status == 404 {
        return Vec::new();
    }
    assert_eq!(status, 200, "{body}");
    body["data"]["versions"]
        .as_array()
        .expect("a list of versions")
        .iter()
        .map(|version| version["version"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_hard_kill_in_the_middle_of_a_worker_upload_leaves_the_state_before_or_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = arsenal_tests::read(guests::LEDGER_V1);
    let v2 = arsenal_tests::read(guests::LEDGER_V2);
    let version = |bytes: &[u8]| arsenal::content_hash(bytes)[..12].to_owned();

    let server = Server::start(dir.path(), "");
    let (status, body) = server.upload(
        reqwest::Method::PUT,
        "/api/v1/admin/workers/ledger",
        v1.clone(),
    );
    assert_eq!(status, 201, "{body}");
    let _in_flight = start_upload(&server, "/api/v1/admin/workers/ledger", &v2, v2.len() / 2);
    server.kill_hard();

    let server = Server::start(dir.path(), "");
    assert_eq!(
        worker_versions(&server, "ledger"),
        vec![version(&v1)],
        "the half upload left no version"
    );
    assert_state_whole(&dir.path().join("state"));

    let _in_flight = start_upload(&server, "/api/v1/admin/workers/ledger", &v2, v2.len());
    server.kill_hard();

    let server = Server::start(dir.path(), "");
    let kept = worker_versions(&server, "ledger");
    assert!(
        kept == vec![version(&v1)] || kept == vec![version(&v2), version(&v1)],
        "before or after, never between: {kept:?}"
    );
    assert_state_whole(&dir.path().join("state"));
    let (status, body) = server.upload(reqwest::Method::PUT, "/api/v1/admin/workers/ledger", v2);
    assert!(status == 200, "{body}");
}

#[test]
fn a_restart_does_not_recompile_what_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    // The uploaded component is distinct (a custom section), so only this server has it.
    let component = arsenal_tests::distinct(&arsenal_tests::read(guests::TYPED), "restart");
    let hash = arsenal::content_hash(&component);
    let server = Server::start(dir.path(), "");
    let (status, body) =
        server.upload(reqwest::Method::POST, "/api/v1/admin/operations", component);
    assert_eq!(status, 201, "{body}");
    let artifact = cached_artifact(&hash).expect("the upload is in the compile cache");
    let compiled_at = std::fs::metadata(&artifact).unwrap().modified().unwrap();
    server.kill_hard();

    let server = Server::start(dir.path(), "");
    assert_eq!(versions(&server, "typed"), vec![hash.clone()]);
    assert_eq!(
        std::fs::metadata(&artifact).unwrap().modified().unwrap(),
        compiled_at,
        "the kept component was loaded from the cache, not compiled again"
    );
}

/// The artifact the shared compile cache holds for `hash`, under any engine fingerprint.
fn cached_artifact(hash: &str) -> Option<PathBuf> {
    let cache = Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    std::fs::read_dir(cache)
        .ok()?
        .flatten()
        .map(|fingerprint| fingerprint.path().join(format!("{hash}.cwasm")))
        .find(|artifact| artifact.exists())
}

#[test]
fn compilation_past_its_bound_is_killed_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "[compile]\ntimeout_ms = 1\n");
    // Never compiled anywhere: a custom section makes its hash new.
    let fresh = arsenal_tests::distinct(
        &arsenal_tests::read(guests::TYPED),
        &format!("{:?}", std::time::SystemTime::now()),
    );
    let (status, body) = server.upload(reqwest::Method::POST, "/api/v1/admin/operations", fresh);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "compile_timeout", "{body}");
    assert_eq!(
        server.children(),
        Vec::<u32>::new(),
        "the compiler process was killed and reaped"
    );
    // Nothing changed, and the server goes on serving.
    let (status, body) = server.get("/api/v1/operations/typed");
    assert_eq!(status, 404, "{body}");
    let (status, _) = server.get("/api/v1/operations");
    assert_eq!(status, 200);
}

#[test]
fn uploaded_code_compiles_in_a_child_process_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "");
    let tag = format!("child {:?}", std::time::SystemTime::now());
    let fresh = arsenal_tests::distinct(&arsenal_tests::read(guests::ECHO_V2), &tag);
    let (status, body) =
        server.upload(reqwest::Method::PUT, "/api/v1/admin/operations/echo", fresh);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server.children(),
        Vec::<u32>::new(),
        "the compiler process is gone"
    );
    let (status, body) = server.get("/api/v1/echo/ping");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["v"], 2, "{body}");
}

/// Two clients stream state changes; the server is killed hard in the middle. After a
/// restart, every change a client was told had succeeded is in the audit log.
#[test]
fn every_acknowledged_change_survives_a_hard_kill_in_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "");
    let (acked, acks) = std::sync::mpsc::channel::<String>();
    let clients: Vec<_> = (0..2)
        .map(|client| {
            let (url, acked) = (server.url.clone(), acked.clone());
            std::thread::spawn(move || {
                let http = Server::client();
                for n in 0.. {
                    let id = format!("kill-{client}-{n}");
                    let sent = http
                        .post(format!("{url}/api/v1/supervisors"))
                        .bearer_auth(TOKEN)
                        .header("x-request-id", &id)
                        .json(&serde_json::json!({ "name": format!("s{client}x{n}") }))
                        .send();
                    match sent {
                        Ok(response) if response.status().is_success() => {
                            if acked.send(id).is_err() {
                                return;
                            }
                        }
                        Ok(response) => panic!("a change was refused: {}", response.status()),
                        // The server is gone: what was not answered was not acknowledged.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    drop(acked);
    let mut acknowledged: Vec<String> = acks.iter().take(40).collect();
    server.kill_hard();
    for client in clients {
        client.join().expect("a client ran to the kill");
    }
    acknowledged.extend(acks.try_iter());

    let server = Server::start(dir.path(), "");
    let (status, body) = server.get("/api/v1/audit?limit=500&operation=start_supervisor");
    assert_eq!(status, 200, "{body}");
    let recorded: std::collections::BTreeSet<&str> = body["data"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|record| record["outcome"] == "succeeded")
        .filter_map(|record| record["request_id"].as_str())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !recorded.contains(id.as_str()))
        .collect();
    assert!(acknowledged.len() >= 40);
    assert!(
        lost.is_empty(),
        "acknowledged but not in the audit log: {lost:?}"
    );
    assert_eq!(body["data"]["durable"], true);
}

/// Local mode as an operator meets it: the first start generates the admin token, prints
/// it once on stderr and keeps it (0600) in the state directory; reads are open, a change
/// needs the token; a restart reuses the token without printing it; the CLI finds it by
/// itself; a non-loopback address is refused. With `--log-format json` at trace level,
/// every other line on stderr is a JSON log record, and none holds the token or the wrong
/// one sent.
#[test]
fn local_mode_generates_prints_and_keeps_its_admin_token() {
    const WRONG: &str = "not-the-admin-token-0123";
    let dir = tempfile::tempdir().unwrap();
    let launch = Launch {
        admin_token: None,
        log: "trace,wasmtime=info,cranelift=info,regalloc2=info",
        args: &["--log-format", "json"],
    };
    let (server, stderr) = Server::launch(dir.path(), "", &launch);

    // The announcement: printed once, before serving.
    let mut lines = Vec::new();
    let token = loop {
        let line = stderr
            .recv_timeout(START_BOUND)
            .unwrap_or_else(|_| panic!("no token announced:\n{}", lines.join("\n")));
        if let Some(token) = line.strip_prefix("arsenal: local admin token: ") {
            break token.trim().to_owned();
        }
        lines.push(line);
    };
    assert_eq!(token.len(), 64, "{token}");
    let kept = dir.path().join("state/admin-token");
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read_to_string(&kept).unwrap().trim(), token);

    let client = Server::client();
    let start = |credential: Option<&str>, name: &str| {
        let mut request = client
            .post(format!("{}/api/v1/supervisors", server.url))
            .header("cookie", format!("session={WRONG}"))
            .json(&serde_json::json!({ "name": name }));
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        let response = request.send().expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    let read = client
        .get(format!("{}/api/v1/processes", server.url))
        .send()
        .unwrap();
    assert_eq!(read.status().as_u16(), 200, "reads are open on loopback");
    let (status, body) = start(None, "anonymous");
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &Value::from("unauthenticated"))
    );
    let (status, body) = start(Some(WRONG), "wrong");
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &Value::from("unauthenticated"))
    );
    let (status, body) = start(Some(&token), "first");
    assert_eq!(status, 201, "{body}");

    // The CLI, told only where the server is, finds the kept token.
    let config = dir.path().join("arsenal.toml");
    let cli = output_within(
        Command::new(env!("CARGO_BIN_EXE_arsenal"))
            .args(["--config".as_ref(), config.as_os_str()])
            .args(["versions", "echo", "--url", &server.url])
            .env_remove("ARSENAL_ADMIN_TOKEN")
            .env_remove("ARSENAL_TOKEN"),
    );
    assert!(
        cli.status.success(),
        "{}{}",
        String::from_utf8_lossy(&cli.stdout),
        String::from_utf8_lossy(&cli.stderr)
    );

    server.kill_hard();
    let first_run: Vec<String> = lines.into_iter().chain(stderr.iter()).collect();

    // A restart keeps the token, and does not print it again.
    let (server, stderr) = Server::launch(dir.path(), "", &launch);
    let (status, body) = start_on(&server, &token, "second");
    assert_eq!(status, 201, "{body}");
    drop(server);
    let second_run: Vec<String> = stderr.iter().collect();
    assert!(
        !second_run
            .iter()
            .any(|line| line.contains("local admin token:")),
        "{second_run:#?}"
    );

    // Every line but the announcement is a JSON record, and none carries a credential.
    let mut records = 0;
    for line in first_run.iter().chain(&second_run) {
        if line.starts_with("         kept in ") {
            continue;
        }
        let record: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON log line ({error}): {line}"));
        assert!(record["level"].is_string(), "{line}");
        records += 1;
        assert!(!line.contains(&token), "the admin token in the log: {line}");
        assert!(!line.contains(WRONG), "a credential in the log: {line}");
    }
    assert!(
        first_run
            .iter()
            .any(|line| line.contains(r#""path":"/api/v1/supervisors""#)),
        "the requests were logged: {first_run:#?}"
    );
    assert!(records > 10, "{records} records");

    // Without keys, only loopback: another address is refused before anything is served.
    let refused = output_within(
        Command::new(env!("CARGO_BIN_EXE_arsenal"))
            .args(["--config".as_ref(), config.as_os_str()])
            .args(["serve", "--addr", "0.0.0.0:0"])
            .env("ARSENAL_LOG", "warn"),
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("binds only to loopback"), "{said}");
}

/// `POST /api/v1/supervisors {"name": name}` on `server` with `token`.
fn start_on(server: &Server, token: &str, name: &str) -> (u16, Value) {
    let response = Server::client()
        .post(format!("{}/api/v1/supervisors", server.url))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": name }))
        .send()
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}
