//! The web console in a real browser: headless Chromium driven over WebDriver
//! (`chromedriver`, from Debian's `chromium-driver`) against a real host served on a
//! loopback port. One walk through the console: sign in with the admin token, upload a
//! component and see it join the catalogue, run it through its generated form, see the
//! browser's and then the server's validation error, start a process and kill it from the
//! live list, see the supervision tree, sandboxes and stats views fill in, replace an
//! operation and roll it back, browse key-value storage (a secret's value hidden) and put
//! and delete a key, and browse as a viewer without the actions it may not take.
//!
//! Chromium and chromedriver must be installed (`cargo xtask setup` does); without them
//! this test fails and says what to install. With `ARSENAL_SCREENSHOTS=<dir>` it also
//! saves a PNG of each view there (`cargo xtask screenshots`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::Host;
use arsenal::config::Settings;
use arsenal_tests::guests;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ADMIN_TOKEN: &str = "console-test-admin-token";
/// How long any one thing may take to show up in the page.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser() {
    let driver = Driver::start();
    let server = Server::start().await;
    let browser = driver.session().await;
    let walk = Walk {
        browser: &browser,
        server: &server,
        shots: std::env::var_os("ARSENAL_SCREENSHOTS").map(PathBuf::from),
    };
    let outcome = walk.run().await;
    // The session ends whatever happened, so no browser outlives the test.
    let _ = browser.clone().close().await;
    outcome.unwrap_or_else(|error| panic!("{error}"));
}

/// The steps, each failing with what it was waiting for.
struct Walk<'a> {
    browser: &'a Client,
    server: &'a Server,
    shots: Option<PathBuf>,
}

type Step = Result<(), String>;

impl Walk<'_> {
    async fn run(&self) -> Step {
        self.sign_in().await?;
        self.upload_a_component().await?;
        self.run_an_operation_through_its_form().await?;
        self.see_validation_errors().await?;
        self.kill_a_process_from_the_live_list().await?;
        self.see_the_other_views().await?;
        self.browse_storage().await?;
        self.browse_as_a_viewer().await?;
        Ok(())
    }

    async fn sign_in(&self) -> Step {
        self.browser
            .goto(&self.server.url("/"))
            .await
            .map_err(|e| format!("load the console: {e}"))?;
        // A 1280×800 page, whatever the browser's own frame takes.
        let frame = self
            .browser
            .execute("return window.outerHeight - window.innerHeight", Vec::new())
            .await
            .map_err(text)?
            .as_u64()
            .unwrap_or(0);
        self.browser
            .set_window_size(1280, 800 + frame as u32)
            .await
            .map_err(text)?;
        let token = self.visible("#token").await?;
        self.shot("sign-in").await?;
        token.send_keys(ADMIN_TOKEN).await.map_err(text)?;
        self.click("#sign-in-button").await?;
        self.text_is("#role", "admin").await?;
        // The catalogue arrived: the built-ins are listed by category.
        self.visible("#op-list button[data-op=\"list_processes\"]")
            .await?;
        Ok(())
    }

    async fn upload_a_component(&self) -> Step {
        self.tab("components").await?;
        let file = self.visible("#upload-file").await?;
        file.send_keys(guests::TYPED).await.map_err(text)?;
        self.click("#upload-button").await?;
        let answer = self.visible("#upload-response").await?;
        let shown = answer.text().await.map_err(text)?;
        if !shown.contains("\"typed\"") {
            return Err(format!("the upload answered {shown}"));
        }
        // The event stream brings the new catalogue: `typed` appears under `test`.
        self.tab("operations").await?;
        self.visible("#op-list button[data-op=\"typed\"]").await?;
        Ok(())
    }

    async fn run_an_operation_through_its_form(&self) -> Step {
        // An operation's detail says what it imports and reaches.
        self.click("#op-list button[data-op=\"list_processes\"]")
            .await?;
        self.text_contains("#op-reach", "processes").await?;
        // And how its instances are reused: a built-in's, for one principal each; an
        // uploaded component's, fresh per call.
        self.text_contains(
            "#op-reuse",
            "instances reused: up to 128 calls each, one at a time, one principal each",
        )
        .await?;
        self.click("#op-list button[data-op=\"typed\"]").await?;
        self.text_is("#op-name", "typed v1.2.3").await?;
        self.text_contains("#op-reuse", "a fresh instance per call")
            .await?;
        self.type_into("#param-id", "7").await?;
        self.type_into("#param-name", "ann").await?;
        self.click("#op-run").await?;
        let response = self.visible("#op-response").await?;
        let body: Value = serde_json::from_str(&response.text().await.map_err(text)?)
            .map_err(|e| format!("the response shown is not JSON: {e}"))?;
        let data = &body["data"];
        if data["id"] != 7 || data["name"] != "ann" || data["mode"] != "fast" || data["count"] != 1
        {
            return Err(format!("the form sent the wrong values: {body}"));
        }
        let curl = self.visible("#op-curl").await?.text().await.map_err(text)?;
        let expected = format!("{}/api/v1/test/typed/7", self.server.origin());
        if !curl.contains(&expected) || curl.contains(ADMIN_TOKEN) {
            return Err(format!("the curl command is wrong: {curl}"));
        }
        self.shot("operations").await
    }

    async fn see_validation_errors(&self) -> Step {
        // The browser's check: a value that is not an integer is never sent.
        self.type_into("#param-id", "abc").await?;
        self.click("#op-run").await?;
        let invalid = self.visible("#op-invalid").await?;
        let message = invalid.text().await.map_err(text)?;
        if !message.contains("id: \"abc\" is not an integer") {
            return Err(format!("the browser said {message}"));
        }
        self.type_into("#param-id", "5000").await?;
        self.click("#op-run").await?;
        self.text_contains("#op-invalid", "id: must be at most 1000")
            .await?;
        // The server's check of the same value, with its code and request id.
        self.click("#op-unchecked").await?;
        self.click("#op-run").await?;
        self.text_is("#op-error .error-code", "validation_error")
            .await?;
        let request_id = self.visible("#op-error .request-id").await?;
        if request_id.text().await.map_err(text)?.is_empty() {
            return Err("the server's error shows no request id".to_owned());
        }
        self.shot("validation-error").await
    }

    async fn kill_a_process_from_the_live_list(&self) -> Step {
        let started = self
            .server
            .call(
                reqwest::Method::POST,
                "/api/v1/processes",
                json!({ "worker": "counter", "name": "doomed" }),
            )
            .await?;
        let pid = started["data"]["pid"]
            .as_str()
            .ok_or_else(|| format!("start_process answered {started}"))?
            .to_owned();
        self.tab("processes").await?;
        let row = format!("#proc-rows tr[data-pid=\"{pid}\"]");
        self.visible(&row).await?;
        self.shot("processes").await?;
        self.click(&format!("{row} button[data-action=\"kill_process\"]"))
            .await?;
        self.browser
            .accept_alert()
            .await
            .map_err(|e| format!("confirm the kill: {e}"))?;
        self.gone(&row).await?;
        // And the server agrees.
        let after = self
            .server
            .call(
                reqwest::Method::GET,
                "/api/v1/processes?name=doomed",
                Value::Null,
            )
            .await?;
        if after["data"]["total"] != 0 {
            return Err(format!("the process is still listed: {after}"));
        }
        Ok(())
    }

    async fn see_the_other_views(&self) -> Step {
        // A sandbox to draw, and a supervision tree (the host's own services).
        self.server
            .call(
                reqwest::Method::POST,
                "/api/v1/sandboxes",
                json!({
                    "id": "tenant-a",
                    "supervisor": { "children": [
                        { "id": "ledger", "worker": "counter", "name": "ledger" },
                        { "id": "mailer", "worker": "counter", "name": "mailer" }
                    ] },
                    "limits": { "total_memory_mib": 64, "max_processes": 8 },
                }),
            )
            .await?;
        self.tab("supervisors").await?;
        self.visible("#tree ul.tree .node").await?;
        self.shot("supervisors").await?;
        self.tab("sandboxes").await?;
        self.visible("#sandbox-list [data-sandbox=\"tenant-a\"] .bar")
            .await?;
        // Three of its eight processes (the supervisor and two children): a bar 37.5 % full.
        let widths = self
            .browser
            .execute(
                "return [...document.querySelectorAll('[data-sandbox=\"tenant-a\"] .fill')].map((f) => f.style.width)",
                Vec::new(),
            )
            .await
            .map_err(text)?;
        if widths[1] != "37.5%" {
            return Err(format!("the sandbox's bars are {widths}"));
        }
        self.shot("sandboxes").await?;
        self.tab("stats").await?;
        self.visible("#stats-list tr[data-op=\"typed\"] svg.spark")
            .await?;
        self.shot("stats").await?;
        self.tab("components").await?;
        self.select("#version-op", "typed").await?;
        self.visible("#versions table").await?;
        self.shot("components").await?;
        self.replace_and_roll_back().await
    }

    /// `echo` replaced by its version 2.0.0 from the components view, the versions listed,
    /// and a roll back to the built-in 0.1.0.
    async fn replace_and_roll_back(&self) -> Step {
        self.select("#version-op", "echo").await?;
        self.text_contains("#versions tbody tr:first-child", "live")
            .await?;
        let file = self.visible("#upload-file").await?;
        file.clear().await.map_err(text)?;
        file.send_keys(guests::ECHO_V2).await.map_err(text)?;
        self.click("#replace-button").await?;
        self.text_contains("#upload-response", "\"2.0.0\"").await?;
        self.text_contains("#versions tbody tr:first-child", "2.0.0live")
            .await?;
        self.click("#rollback-button").await?;
        self.browser
            .accept_alert()
            .await
            .map_err(|e| format!("confirm the roll back: {e}"))?;
        self.text_contains("#versions tbody tr:first-child", "0.1.0live")
            .await?;
        let echo = self
            .server
            .call(reqwest::Method::GET, "/api/v1/operations/echo", Value::Null)
            .await?;
        if echo["data"]["version"] != "0.1.0" {
            return Err(format!("after the roll back echo is {echo}"));
        }
        // A worker component, loaded under a name of its own, with its versions.
        let file = self.visible("#worker-file").await?;
        file.send_keys(guests::COUNTER_WORKER).await.map_err(text)?;
        self.type_into("#worker-name", "tally").await?;
        self.click("#worker-put").await?;
        self.text_contains("#worker-response", "\"tally\"").await?;
        self.text_contains("#worker-version-table tbody tr:first-child", "live")
            .await?;
        // What its processes reach, from `GET /api/v1/admin/workers`.
        self.text_contains("#worker-reach", "Reach outside a sandbox")
            .await?;
        Ok(())
    }

    /// The Storage view: a bucket, its keys (the secret one marked), a value, a secret
    /// shown as hidden, and a key put and deleted from the page.
    async fn browse_storage(&self) -> Step {
        for (key, value) in [("greeting", "hello"), ("db_password", "hunter2")] {
            self.server
                .call(
                    reqwest::Method::PUT,
                    "/api/v1/storage/key",
                    json!({ "bucket": "shared/team", "key": key, "value": value }),
                )
                .await?;
        }
        self.tab("storage").await?;
        let bucket = "#bucket-table tr[data-bucket=\"shared/team\"]";
        self.text_contains(bucket, "2").await?;
        self.click(&format!("{bucket} button.link")).await?;
        self.visible("#key-table tr[data-key=\"db_password\"] .badge.secret")
            .await?;
        self.click("#key-table tr[data-key=\"greeting\"] button.link")
            .await?;
        self.text_is("#value-shown", "hello").await?;
        self.click("#key-table tr[data-key=\"db_password\"] button.link")
            .await?;
        self.text_contains("#value-hidden", "7 bytes").await?;
        let leaked = self
            .browser
            .execute(
                "return document.documentElement.outerHTML.includes('hunter2')",
                Vec::new(),
            )
            .await
            .map_err(text)?;
        if leaked == Value::Bool(true) {
            return Err("the secret's value is in the page".to_owned());
        }
        self.shot("storage").await?;
        // An admin puts a key through the form, and deletes it from the list.
        self.type_into("#put-key", "note").await?;
        self.type_into("#put-value", "written in the browser")
            .await?;
        self.click("#put-submit").await?;
        let row = "#key-table tr[data-key=\"note\"]";
        self.visible(row).await?;
        let stored = self
            .server
            .call(
                reqwest::Method::GET,
                "/api/v1/storage/key?bucket=shared/team&key=note",
                Value::Null,
            )
            .await?;
        if stored["data"]["value"] != "written in the browser" {
            return Err(format!("the put stored {stored}"));
        }
        self.click(&format!("{row} button[data-action=\"delete_key\"]"))
            .await?;
        self.browser
            .accept_alert()
            .await
            .map_err(|e| format!("confirm the delete: {e}"))?;
        self.gone(row).await
    }

    /// Signed out, then browsing without a token (local mode: a viewer): the views show,
    /// the actions a viewer may not take do not, and sandboxes say why they are empty.
    async fn browse_as_a_viewer(&self) -> Step {
        self.click("#sign-out").await?;
        self.visible("#token").await?;
        self.click("#browse").await?;
        self.text_is("#role", "viewer").await?;
        self.tab("processes").await?;
        self.visible("#proc-rows tr[data-pid]").await?;
        for action in ["kill_process", "suspend_process", "restart_process"] {
            self.gone(&format!("#proc-rows button[data-action=\"{action}\"]"))
                .await?;
        }
        if self.shown_now("#start-process").await? {
            return Err("a viewer is offered to start a process".to_owned());
        }
        // An operation it may not call shows its form without the Run button.
        self.tab("operations").await?;
        self.click("#op-list button[data-op=\"kill_process\"]")
            .await?;
        self.text_is(
            "#op-not-allowed",
            "Running kill_process needs the operator role.",
        )
        .await?;
        if self.shown_now("#op-run").await? {
            return Err("a viewer is offered to run kill_process".to_owned());
        }
        self.tab("sandboxes").await?;
        self.text_is("#sandbox-list .error-code", "unauthenticated")
            .await?;
        self.tab("storage").await?;
        self.visible("#storage-notice").await?;
        if self.shown_now("#storage-body").await? {
            return Err("a viewer is shown other components' data".to_owned());
        }
        self.tab("components").await?;
        self.visible("#components-notice").await?;
        if self.shown_now("#components-admin").await? {
            return Err("a viewer is offered the admin API".to_owned());
        }
        Ok(())
    }

    // Helpers: each waits at most `PATIENCE` and says what it waited for.

    /// Switch to `view`: it shows, and no other view does.
    async fn tab(&self, view: &str) -> Step {
        self.click(&format!("#tabs [data-view=\"{view}\"]")).await?;
        self.visible(&format!("#view-{view}")).await?;
        for section in self
            .browser
            .find_all(Locator::Css("main > section.view"))
            .await
            .map_err(text)?
        {
            let id = section.attr("id").await.map_err(text)?.unwrap_or_default();
            if id != format!("view-{view}") && section.is_displayed().await.map_err(text)? {
                return Err(format!("`#{id}` still shows on the {view} tab"));
            }
        }
        Ok(())
    }

    async fn visible(&self, css: &str) -> Result<Element, String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(element) = self.browser.find(Locator::Css(css)).await
                && element.is_displayed().await.unwrap_or(false)
            {
                return Ok(element);
            }
            if Instant::now() > deadline {
                return Err(format!("`{css}` did not show within {PATIENCE:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether `css` is on the page and displayed, now.
    async fn shown_now(&self, css: &str) -> Result<bool, String> {
        match self.browser.find(Locator::Css(css)).await {
            Ok(element) => element.is_displayed().await.map_err(text),
            Err(_) => Ok(false),
        }
    }

    async fn gone(&self, css: &str) -> Step {
        let deadline = Instant::now() + PATIENCE;
        while self.browser.find(Locator::Css(css)).await.is_ok() {
            if Instant::now() > deadline {
                return Err(format!("`{css}` did not go within {PATIENCE:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn text_is(&self, css: &str, expected: &str) -> Step {
        self.text_matches(css, expected, |shown| shown == expected)
            .await
    }

    async fn text_contains(&self, css: &str, expected: &str) -> Step {
        self.text_matches(css, expected, |shown| shown.contains(expected))
            .await
    }

    async fn text_matches(&self, css: &str, expected: &str, test: impl Fn(&str) -> bool) -> Step {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // An element replaced while read reads as empty: read again.
            let shown = self.visible(css).await?.text().await.unwrap_or_default();
            if test(shown.trim()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("`{css}` shows {shown:?}, not {expected:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Click `css` once it shows. A view that re-renders (the storage tables refresh) may
    /// replace the element between finding and clicking it: it is found again, within
    /// the same patience.
    async fn click(&self, css: &str) -> Step {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.visible(css).await?.click().await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => {}
                Err(e) => return Err(format!("click `{css}`: {e}")),
            }
        }
    }

    async fn type_into(&self, css: &str, value: &str) -> Step {
        let input = self.visible(css).await?;
        input.clear().await.map_err(text)?;
        input
            .send_keys(value)
            .await
            .map_err(|e| format!("type into `{css}`: {e}"))
    }

    async fn select(&self, css: &str, value: &str) -> Step {
        self.visible(css)
            .await?
            .select_by_value(value)
            .await
            .map_err(|e| format!("choose {value} in `{css}`: {e}"))
    }

    /// Save the page as `<name>.png` when screenshots are asked for.
    async fn shot(&self, name: &str) -> Step {
        let Some(dir) = &self.shots else {
            return Ok(());
        };
        // Let the next event redraw the live views first (a picture, not a check).
        tokio::time::sleep(Duration::from_millis(1200)).await;
        self.browser
            .execute("window.scrollTo(0, 0)", Vec::new())
            .await
            .map_err(text)?;
        let png = self.browser.screenshot().await.map_err(text)?;
        std::fs::create_dir_all(dir).map_err(text)?;
        std::fs::write(dir.join(format!("{name}.png")), png).map_err(text)
    }
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

/// A host with the built-ins, its service tree and the counter worker, served on a
/// loopback port until dropped.
struct Server {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
    http: reqwest::Client,
}

impl Server {
    async fn start() -> Server {
        let mut settings = Settings::default()
            .with_cache_dir(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
        settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
        settings.server.persist = false;
        settings.server.shutdown_grace_ms = 2_000;
        // Tests run side by side in this one process: a small worker pool each keeps them
        // far from the kernel's mappings per OS process.
        settings.limits.worker_slots = 1_024;
        settings.rate_limits = arsenal::config::RateLimitSettings::off();
        let host = Host::start(settings).await.expect("the host starts");
        let bytes = std::fs::read(guests::COUNTER_WORKER).expect("the counter worker is built");
        host.workers()
            .load(
                "counter",
                &bytes,
                arsenal::Source::Builtin,
                guests::COUNTER_WORKER,
            )
            .await
            .expect("the counter worker loads");
        let host = Arc::new(host);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(arsenal::http::serve(host, listener, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            _stop: stop,
            http: reqwest::Client::new(),
        }
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// An API call with the admin token, outside the browser.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(text)?;
        let status = response.status();
        let body: Value = response.json().await.map_err(text)?;
        if !status.is_success() {
            return Err(format!("{path} answered {status}: {body}"));
        }
        Ok(body)
    }
}

/// `chromedriver` on a free loopback port, killed when dropped, and a fresh profile.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "the console's browser test needs {path}: install Debian's `chromium` and \
                 `chromium-driver` (`cargo xtask setup` installs them), \
                 `{package}` is missing"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {CHROMEDRIVER}: {error}"));
        Driver {
            child,
            port,
            profile: tempfile::tempdir().expect("a profile directory"),
        }
    }

    /// A browser session, once chromedriver answers.
    async fn session(&self) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
            &format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let capabilities = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object"),
        };
        let url = format!("http://127.0.0.1:{}", self.port);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let attempt = ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => return client,
                Err(error) if Instant::now() > deadline => {
                    panic!("chromedriver at {url} gave no browser session: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
