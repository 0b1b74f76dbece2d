//! The `arsenal` command line, driven through `arsenal::cli::run` with the output captured:
//! client commands in-process (a fresh host per command) and against a real server on a
//! loopback port (`--url`), and `check` on good and bad components.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arsenal::Host;
use arsenal::cli::Cli;
use clap::Parser as _;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{guests, settings};

/// A configuration file for in-process commands: the compile cache shared by the tests
/// and a small instance pool. The directory lives as long as the returned value.
struct Config {
    dir: TempDir,
}

impl Config {
    fn new() -> Config {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache");
        let state = dir.path().join("state");
        // The servers of these tests use the test hosts' admin token, which the CLI then
        // finds in the configuration (as it would `ARSENAL_ADMIN_TOKEN`).
        let token = arsenal_testing::ADMIN_TOKEN;
        let toml = format!(
            "[cache]\ndir = {cache:?}\n\n[limits]\nmax_instances = 8\n\n[server]\nstate_dir = {state:?}\n\n[auth]\nadmin_token = {token:?}\n"
        );
        std::fs::write(dir.path().join("arsenal.toml"), toml).expect("the config is written");
        Config { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("arsenal.toml")
    }

    /// A directory holding copies of `guests`, for `--operations`.
    fn operations(&self, guests: &[&str]) -> PathBuf {
        let dir = self.dir.path().join("operations");
        std::fs::create_dir_all(&dir).expect("the operations directory is made");
        for guest in guests {
            let name = Path::new(guest).file_name().expect("a file name");
            std::fs::copy(guest, dir.join(name)).expect("the guest is copied");
        }
        dir
    }
}

/// What one command did: its result (exit code, or the error for exit 2) and its output.
struct Outcome {
    code: Result<u8, String>,
    out: String,
}

impl Outcome {
    /// Assert the exit code and return the output.
    #[track_caller]
    fn expect(&self, code: u8) -> &str {
        assert_eq!(self.code, Ok(code), "output:\n{}", self.out);
        &self.out
    }

    /// Assert the exit code and parse the output as JSON.
    #[track_caller]
    fn json(&self, code: u8) -> Value {
        let out = self.expect(code);
        serde_json::from_str(out).unwrap_or_else(|error| panic!("not JSON ({error}):\n{out}"))
    }
}

/// Run `arsenal <args> --config <config>`.
async fn arsenal(config: &Config, args: &[&str]) -> Outcome {
    let config = config.path();
    let argv = std::iter::once("arsenal")
        .chain(args.iter().copied())
        .chain(["--config", config.to_str().expect("a UTF-8 path")]);
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|error| panic!("{args:?}: {error}"));
    let mut out = Vec::new();
    let code = arsenal::cli::run(cli, &mut out)
        .await
        .map_err(|error| format!("{error:#}"));
    Outcome {
        code,
        out: String::from_utf8(out).expect("UTF-8 output"),
    }
}

/// A server on a loopback port, stopped (and awaited) by [`Server::stop`].
struct Server {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(guests: &[&str]) -> Server {
        Server::start_with(settings(), guests).await
    }

    async fn start_with(settings: arsenal::config::Settings, guests: &[&str]) -> Server {
        let mut host = Host::start(settings).await.expect("the host starts");
        for guest in guests {
            host.load_file(Path::new(guest)).await;
        }
        assert!(host.problems().is_empty(), "{:?}", host.problems());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        // Settled before serving (as `arsenal serve` does), so a client finds the token.
        host.access()
            .prepare(listener.local_addr().unwrap())
            .expect("a loopback address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(arsenal::http::serve(Arc::new(host), listener, async {
            let _ = stopped.await;
        }));
        Server { url, stop, task }
    }

    async fn stop(self) {
        self.stop.send(()).expect("the server is still running");
        crate::within("the server's stop", self.task)
            .await
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
    }
}

fn names(data: &Value) -> Vec<&str> {
    data.as_array()
        .expect("an array of operations")
        .iter()
        .map(|op| op["name"].as_str().expect("a name"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_prints_a_table_or_json() {
    let config = Config::new();
    let out = arsenal(&config, &["list"]).await;
    let table = out.expect(0);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(header, ["NAME", "METHOD", "PATH", "SUMMARY"], "{table}");
    let echo = lines
        .find(|line| line.starts_with("echo "))
        .unwrap_or_else(|| panic!("no echo row:\n{table}"));
    assert!(echo.contains("GET"), "{echo}");
    assert!(echo.contains("/api/v1/echo/:id"), "{echo}");

    let out = arsenal(&config, &["list", "--json", "--category", "messaging"]).await;
    let answer = out.json(0);
    assert_eq!(
        names(&answer["data"]),
        ["analyze_message_queue", "inspect_mailbox", "send_message"]
    );

    let out = arsenal(&config, &["list", "--q", "echo"]).await;
    let table = out.expect(0);
    assert_eq!(table.lines().count(), 2, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_prints_one_operation_or_fails() {
    let config = Config::new();
    let answer = arsenal(&config, &["describe", "echo"]).await.json(0);
    assert_eq!(answer["data"]["name"], json!("echo"));
    assert_eq!(answer["data"]["path"], json!("/api/v1/echo/:id"));
    assert_eq!(answer["data"]["method"], json!("GET"));

    let answer = arsenal(&config, &["describe", "nope"]).await.json(1);
    assert_eq!(answer["error"]["code"], json!("operation_not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_runs_an_operation_with_text_and_json_values() {
    let config = Config::new();
    let answer = arsenal(&config, &["call", "echo", "id=abc", "x=1"])
        .await
        .json(0);
    assert_eq!(
        answer["data"],
        json!({ "id": "abc", "query": { "x": "1" } })
    );

    let operations = config.operations(&[guests::GREET]);
    let operations = operations.to_str().unwrap();
    let answer = arsenal(
        &config,
        &[
            "call",
            "greet",
            "name=ann",
            "times:=2",
            "--operations",
            operations,
        ],
    )
    .await
    .json(0);
    assert_eq!(answer["data"]["greeting"], json!("hello, ann! hello, ann!"));
    // Text is coerced to the declared type too.
    let answer = arsenal(
        &config,
        &[
            "call",
            "greet",
            "name=ann",
            "times=3",
            "--operations",
            operations,
        ],
    )
    .await
    .json(0);
    assert_eq!(
        answer["data"]["greeting"],
        json!("hello, ann! hello, ann! hello, ann!")
    );
    // Without `--operations` there is no greet.
    let answer = arsenal(&config, &["call", "greet", "name=ann"])
        .await
        .json(1);
    assert_eq!(answer["error"]["code"], json!("operation_not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_reports_a_validation_error_with_exit_1() {
    let config = Config::new();
    let answer = arsenal(&config, &["call", "echo"]).await.json(1);
    assert_eq!(answer["error"]["code"], json!("validation_error"));
    assert_eq!(
        answer["error"]["details"]["fields"],
        json!([{ "field": "id", "message": "required parameter is missing" }])
    );

    let operations = config.operations(&[guests::GREET]);
    let answer = arsenal(
        &config,
        &[
            "call",
            "greet",
            "name=ann",
            "times:=9",
            "--operations",
            operations.to_str().unwrap(),
        ],
    )
    .await
    .json(1);
    assert_eq!(answer["error"]["code"], json!("validation_error"));
    assert_eq!(
        answer["error"]["details"]["fields"][0]["field"],
        json!("times")
    );

    // A parameter that is neither `k=v` nor `k:=json` is a usage error.
    let out = arsenal(&config, &["call", "echo", "oops"]).await;
    let error = out.code.expect_err("not a parameter");
    assert!(error.contains("`oops` is not KEY=VALUE"), "{error}");
    let out = arsenal(&config, &["call", "echo", "id:={"]).await;
    let error = out.code.expect_err("not JSON");
    assert!(error.contains("not JSON"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_prints_the_document() {
    let config = Config::new();
    let document = arsenal(&config, &["openapi"]).await.json(0);
    assert_eq!(document["openapi"], json!("3.1.0"));
    assert!(document["paths"]["/api/v1/echo/{id}"]["get"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_accepts_a_good_component() {
    let config = Config::new();
    let out = arsenal(&config, &["check", guests::GREET]).await;
    let text = out.expect(0);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with(guests::GREET), "{text}");
    assert!(lines[0].contains("ok: greet"), "{text}");
    assert!(lines[0].contains("GET /api/v1/greet/:name"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_every_bad_component() {
    let config = Config::new();
    let files = [guests::MALFORMED, guests::UNKNOWN_IMPORT, guests::BAD_PATH];
    let args: Vec<&str> = std::iter::once("check").chain(files).collect();
    let out = arsenal(&config, &args).await;
    let text = out.expect(1);

    // One `error[...]` line per file, in order, each followed by its detail lines.
    let mut reports: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("  - ") {
            Some(detail) => reports
                .last_mut()
                .unwrap_or_else(|| panic!("a detail before any report:\n{text}"))
                .1
                .push(detail),
            None => reports.push((line, Vec::new())),
        }
    }
    assert_eq!(reports.len(), 3, "{text}");
    for ((line, _), file) in reports.iter().zip(files) {
        assert!(line.starts_with(&format!("{file}: error[")), "{text}");
    }

    let (malformed, details) = &reports[0];
    assert!(malformed.contains("error[invalid_component]"), "{text}");
    assert!(details.is_empty(), "{text}");

    let (unknown, details) = &reports[1];
    assert!(unknown.contains("error[unsupported_imports]"), "{text}");
    assert_eq!(details.len(), 1, "{text}");
    assert!(details[0].starts_with("example:unknown/thing"), "{text}");

    let (bad_path, details) = &reports[2];
    assert!(bad_path.contains("error[invalid_config]"), "{text}");
    for detail in details.iter() {
        let (import, reason) = detail
            .split_once(": ")
            .unwrap_or_else(|| panic!("{detail}"));
        assert!(!import.is_empty() && !reason.is_empty(), "{detail}");
    }

    // A good file among bad ones is still reported as good, and the exit code is 1.
    let out = arsenal(&config, &["check", guests::GREET, guests::MALFORMED]).await;
    let text = out.expect(1);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("ok: greet"), "{text}");
    assert!(lines[1].contains("error[invalid_component]"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_reach_a_running_server() {
    let server = Server::start(&[guests::TYPED]).await;
    let config = Config::new();
    let url = server.url.as_str();

    // The server's catalogue, not a fresh in-process one: `typed` is loaded there only.
    let answer = arsenal(&config, &["list", "--json", "--url", url])
        .await
        .json(0);
    assert_eq!(names(&answer["data"]), crate::catalogue_with(&["typed"]));
    let table = arsenal(&config, &["list", "--url", url]).await;
    assert!(
        table
            .expect(0)
            .lines()
            .any(|line| line.starts_with("typed "))
    );

    let answer = arsenal(&config, &["call", "echo", "id=1", "--url", url])
        .await
        .json(0);
    assert_eq!(answer["data"], json!({ "id": "1", "query": {} }));

    let answer = arsenal(
        &config,
        &[
            "call",
            "typed",
            "id=3",
            "name=abc",
            "--url",
            &format!("{url}/"),
        ],
    )
    .await
    .json(0);
    assert_eq!(answer["data"]["id"], json!(3));
    assert_eq!(answer["data"]["mode"], json!("fast"));

    let answer = arsenal(&config, &["describe", "nope", "--url", url])
        .await
        .json(1);
    assert_eq!(answer["error"]["code"], json!("operation_not_found"));
    let answer = arsenal(
        &config,
        &["call", "typed", "id=0", "name=abc", "--url", url],
    )
    .await
    .json(1);
    assert_eq!(answer["error"]["code"], json!("validation_error"));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_an_error() {
    // Bind and drop a listener: the port is then known to be closed.
    let addr: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.local_addr().unwrap()
    };
    let config = Config::new();
    let url = format!("http://{addr}");
    let out = arsenal(&config, &["list", "--url", &url]).await;
    let error = out.code.expect_err("nothing listens there");
    assert!(error.contains("failed to reach"), "{error}");
    assert!(error.contains(&url), "{error}");
    assert!(out.out.is_empty(), "{}", out.out);

    let out = arsenal(&config, &["call", "echo", "id=1", "--url", &url]).await;
    let error = out.code.expect_err("nothing listens there");
    assert!(error.contains("failed to reach"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_versions_rollback_and_unload_against_a_running_server() {
    let server = Server::start(&[]).await;
    let config = Config::new();
    let url = server.url.as_str();

    let loaded = arsenal(&config, &["load", guests::GREET, "--url", url])
        .await
        .json(0);
    assert_eq!(loaded["data"]["name"], "greet");
    // Loading the same name again replaces it.
    let replaced = arsenal(&config, &["load", guests::ECHO_V2, "--url", url])
        .await
        .json(0);
    assert_eq!(replaced["data"]["live"]["version"], "2.0.0");
    assert_eq!(replaced["data"]["previous"]["version"], "0.1.0");
    let versions = arsenal(&config, &["versions", "echo", "--url", url])
        .await
        .json(0);
    assert_eq!(versions["data"]["versions"].as_array().unwrap().len(), 2);
    let rolled = arsenal(&config, &["rollback", "echo", "--url", url])
        .await
        .json(0);
    assert_eq!(rolled["data"]["live"]["version"], "0.1.0");
    let refused = arsenal(&config, &["rollback", "echo", "--url", url])
        .await
        .json(1);
    assert_eq!(refused["error"]["code"], "no_earlier_version");
    let unloaded = arsenal(&config, &["unload", "greet", "--url", url])
        .await
        .json(0);
    assert_eq!(unloaded["data"]["name"], "greet");
    let missing = arsenal(&config, &["unload", "greet", "--url", url])
        .await
        .json(1);
    assert_eq!(missing["error"]["code"], "operation_not_found");
    // A wasi:http handler, given its route; loading it again with another path moves it.
    let handler = [
        "load",
        guests::HTTP_ECHO,
        "--name",
        "http_echo",
        "--method",
        "POST",
    ];
    let loaded = arsenal(
        &config,
        &[&handler[..], &["--path", "/echo/:item", "--url", url]].concat(),
    )
    .await
    .json(0);
    assert_eq!(loaded["data"]["interface"], "http_handler");
    assert_eq!(loaded["data"]["path"], "/echo/:item");
    let moved = arsenal(
        &config,
        &[&handler[..], &["--path", "/moved/:item", "--url", url]].concat(),
    )
    .await
    .json(0);
    assert_eq!(moved["data"]["live"]["path"], "/moved/:item");
    let not_wasm = arsenal(&config, &["load", "/dev/null", "--url", url])
        .await
        .json(1);
    assert_eq!(not_wasm["error"]["code"], "invalid_component");
    server.stop().await;

    // These commands need a server (unless ARSENAL_URL names one).
    if std::env::var_os("ARSENAL_URL").is_none() {
        assert!(Cli::try_parse_from(["arsenal", "unload", "greet"]).is_err());
    }
}

/// A built-in unloaded through the CLI stays unloaded when the server restarts, until
/// `arsenal restore` brings it back; then it stays across the next restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_brings_back_an_unloaded_builtin_across_restarts() {
    let config = Config::new();
    let state = crate::fresh_state_dir();
    let start = || {
        let mut settings = settings();
        settings.server.state_dir = Some(state.clone());
        Server::start_with(settings, &[])
    };
    let server = start().await;
    let unloaded = arsenal(&config, &["unload", "echo", "--url", &server.url])
        .await
        .json(0);
    assert_eq!(unloaded["data"]["name"], "echo");
    server.stop().await;

    let server = start().await;
    let url = server.url.as_str();
    let gone = arsenal(&config, &["call", "echo", "id=1", "--url", url])
        .await
        .json(1);
    assert_eq!(gone["error"]["code"], "operation_not_found");
    let versions = arsenal(&config, &["versions", "echo", "--url", url])
        .await
        .json(0);
    assert_eq!(versions["data"]["loaded"], false);
    assert_eq!(versions["data"]["versions"][0]["source"], "builtin");
    let restored = arsenal(&config, &["restore", "echo", "--url", url])
        .await
        .json(0);
    assert_eq!(restored["data"]["name"], "echo");
    let again = arsenal(&config, &["restore", "echo", "--url", url])
        .await
        .json(1);
    assert_eq!(again["error"]["code"], "operation_exists");
    arsenal(&config, &["call", "echo", "id=1", "--url", url])
        .await
        .json(0);
    server.stop().await;

    let server = start().await;
    arsenal(&config, &["call", "echo", "id=1", "--url", &server.url])
        .await
        .json(0);
    server.stop().await;
}

/// With `--worker`, the same commands manage worker components: one from a directory
/// replaced by a loaded file, listed, rolled back, unloaded and restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_components_are_managed_with_the_same_commands() {
    let config = Config::new();
    let workers = config.dir.path().join("workers");
    std::fs::create_dir_all(&workers).unwrap();
    std::fs::copy(guests::COUNTER_WORKER, workers.join("counter.wasm")).unwrap();
    let mut settings = settings();
    settings.operations.worker_dirs = vec![workers];
    let server = Server::start_with(settings, &[]).await;
    let url = server.url.as_str();
    let run = async |args: &[&str], code: u8| {
        let args: Vec<&str> = args.iter().copied().chain(["--url", url]).collect();
        arsenal(&config, &args).await.json(code)
    };

    let replaced = run(&["load", guests::LEAKY_WORKER, "--worker", "counter"], 0).await;
    assert_eq!(replaced["data"]["previous"]["source"], "directory");
    assert_eq!(replaced["data"]["live"]["source"], "upload");
    let versions = run(&["versions", "counter", "--worker"], 0).await;
    assert_eq!(versions["data"]["versions"].as_array().unwrap().len(), 2);
    let rolled = run(&["rollback", "counter", "--worker"], 0).await;
    assert_eq!(rolled["data"]["live"]["source"], "directory");
    let unloaded = run(&["unload", "counter", "--worker"], 0).await;
    assert_eq!(unloaded["data"]["name"], "counter");
    let restored = run(&["restore", "counter", "--worker"], 0).await;
    assert_eq!(restored["data"]["source"], "directory");
    let again = run(&["restore", "counter", "--worker"], 1).await;
    assert_eq!(again["error"]["code"], "worker_exists");
    let missing = run(&["versions", "nobody", "--worker"], 1).await;
    assert_eq!(missing["error"]["code"], "worker_not_found");
    // Without `--worker` the name is an operation's.
    let not_an_operation = run(&["versions", "counter"], 1).await;
    assert_eq!(not_an_operation["error"]["code"], "operation_not_found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_find_the_local_admin_token_themselves() {
    let config = Config::new();
    // No token in the CLI's configuration: it must find the one the server made.
    let toml = std::fs::read_to_string(config.path()).unwrap();
    let without_token = toml.split("[auth]").next().unwrap().to_owned();
    std::fs::write(config.path(), without_token).unwrap();
    let mut settings = settings();
    settings.auth.admin_token = None;
    settings.server.state_dir = Some(config.dir.path().join("state"));
    let server = Server::start_with(settings, &[]).await;
    let url = server.url.as_str();

    let versions = arsenal(&config, &["versions", "echo", "--url", url])
        .await
        .json(0);
    assert_eq!(versions["data"]["versions"].as_array().unwrap().len(), 1);
    let refused = arsenal(
        &config,
        &["versions", "echo", "--url", url, "--token", "wrong"],
    )
    .await
    .json(1);
    assert_eq!(refused["error"]["code"], "unauthenticated");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_key_prints_the_digest_configuration_holds() {
    let config = Config::new();
    let out = arsenal(&config, &["hash-key", "abc"]).await;
    assert_eq!(
        out.expect(0).trim(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let out = arsenal(&config, &["hash-key"]).await;
    let text = out.expect(0);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_owned()
    };
    let key = field("key:");
    assert_eq!(key.len(), 64);
    assert_eq!(field("sha256:"), arsenal::hash_key(&key));
}
