//! The watched directory: a `.wasm` file added loads, replaced replaces, deleted unloads;
//! a half-written or bad file is refused and the live version keeps serving; what the
//! directory holds comes back when the host starts again. The tests wait on the watcher's
//! own events, never on time.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use arsenal::{Host, LoadError};

use arsenal::watch::{WatchEvent, watch};
use arsenal_testing::TestHost;
use tokio::sync::broadcast::Receiver;

use crate::{LogCapture, guests, test_host};

/// The watcher's next event about `path` (others are skipped), within 10 s.
async fn next_about(events: &mut Receiver<WatchEvent>, path: &Path) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = events.recv().await.expect("the watcher runs");
            let about = match &event {
                WatchEvent::Loaded { path, .. }
                | WatchEvent::Replaced { path, .. }
                | WatchEvent::Unloaded { path, .. }
                | WatchEvent::Unchanged { path, .. }
                | WatchEvent::Refused { path, .. } => path.clone(),
            };
            if about == path {
                return event;
            }
        }
    })
    .await
    .expect("the watcher acts on the file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_added_replaced_and_deleted_are_applied() {
    let host = test_host(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    // The watcher logs where it was started from: here, into `log`.
    let log = LogCapture::default();
    let watching = {
        let _logging = tracing::subscriber::set_default(log.json_subscriber());
        watch(
            host.host().registry().clone(),
            dir.path(),
            Duration::from_millis(100),
        )
        .unwrap()
    };
    let mut events = watching.events();
    // A half-written component is refused; the built-in echo keeps serving.
    let bytes = arsenal_tests::read(guests::ECHO_V2);
    let half = dir.path().join("half.wasm");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        next_about(&mut events, &half).await,
        WatchEvent::Refused { .. }
    ));
    let echo = host.get("/api/v1/echo/x").await;
    assert_eq!(echo.header("x-operation-version"), "0.1.0");

    // Written whole (to a temporary name, then renamed, as deploys do), it replaces the
    // live echo.
    let file = dir.path().join("echo-next.wasm");
    let partial = dir.path().join("echo-next.part");
    std::fs::write(&partial, &bytes).unwrap();
    std::fs::rename(&partial, &file).unwrap();
    assert_eq!(
        next_about(&mut events, &file).await,
        WatchEvent::Replaced {
            name: "echo".to_owned(),
            path: file.clone()
        }
    );
    assert_eq!(
        host.get("/api/v1/echo/x")
            .await
            .header("x-operation-version"),
        "2.0.0"
    );
    // Reading a watched file — as the watcher itself just did to load it — changes
    // nothing: the next thing the watcher does is about a file written after the read.
    let mut after = watching.events();
    std::fs::read(&file).unwrap();
    let marker = dir.path().join("marker.wasm");
    std::fs::write(&marker, b"marker").unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), after.recv())
        .await
        .expect("the watcher acts on the marker")
        .expect("the watcher runs");
    assert!(
        matches!(&next, WatchEvent::Refused { path, .. } if *path == marker),
        "{next:?}"
    );
    let versions = host.get("/api/v1/admin/operations/echo/versions").await;
    assert_eq!(
        versions.body["data"]["versions"].as_array().map(Vec::len),
        Some(2),
        "echo was replaced once: {}",
        versions.body
    );

    // A new operation loads.
    let greet = dir.path().join("greet.wasm");
    let partial = dir.path().join("greet.part");
    std::fs::copy(guests::GREET, &partial).unwrap();
    std::fs::rename(&partial, &greet).unwrap();
    assert_eq!(
        next_about(&mut events, &greet).await,
        WatchEvent::Loaded {
            name: "greet".to_owned(),
            path: greet.clone()
        }
    );
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);

    // Deleted, it unloads.
    std::fs::remove_file(&greet).unwrap();
    assert_eq!(
        next_about(&mut events, &greet).await,
        WatchEvent::Unloaded {
            name: "greet".to_owned(),
            path: greet.clone()
        }
    );
    host.get("/api/v1/greet/ann")
        .await
        .assert_error(404, "operation_not_found");
    // Gone with its file, it has no version to restore.
    host.post(
        "/api/v1/admin/operations/greet/restore",
        serde_json::json!({}),
    )
    .await
    .assert_error(404, "nothing_to_restore");

    // Garbage is refused and changes nothing, and the log says so, naming the file.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not a component").unwrap();
    assert!(matches!(
        next_about(&mut events, &junk).await,
        WatchEvent::Refused { .. }
    ));
    let logged: Vec<serde_json::Value> = log
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .filter(|line: &serde_json::Value| line["fields"]["path"] == junk.display().to_string())
        .collect();
    assert_eq!(logged.len(), 1, "{}", log.text());
    assert_eq!(logged[0]["level"], "ERROR");
    assert_eq!(
        logged[0]["fields"]["message"],
        "watched file not loaded; the live version keeps serving"
    );
    assert!(
        logged[0]["fields"]["error"]
            .as_str()
            .is_some_and(|error| error.contains("not a WebAssembly binary")),
        "{}",
        logged[0]
    );
    assert_eq!(
        host.get("/api/v1/echo/x")
            .await
            .header("x-operation-version"),
        "2.0.0"
    );
}

fn served(host: Host) -> TestHost {
    TestHost::serving(host)
}

/// The one start-up problem: the bad file in the directory, reported and skipped.
fn only_the_junk_is_refused(host: &Host, dir: &Path) {
    let problems = host.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(Path::new(&problems[0].origin), dir.join("junk.wasm"));
    assert!(
        matches!(problems[0].error, LoadError::InvalidComponent(_)),
        "{problems:?}"
    );
}

/// A watched directory configured for the host (`operations.watch_dirs`): its files are
/// loaded at start — a replacement of a built-in included, a bad one reported — and come
/// back after a restart. Meanwhile a loaded file rewritten with garbage leaves its version
/// serving, a file written again with the same code changes nothing, and a file written
/// in two halves is refused at half and loads once whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_watched_directory_holds_comes_back_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let greet = dir.path().join("greet.wasm");
    std::fs::copy(guests::GREET, &greet).unwrap();
    std::fs::copy(guests::ECHO_V2, dir.path().join("echo-next.wasm")).unwrap();
    std::fs::write(dir.path().join("junk.wasm"), b"not a component").unwrap();
    let mut settings = crate::settings();
    settings.operations.watch_dirs = vec![dir.path().to_owned()];
    settings.operations.watch_debounce_ms = 100;

    let host = Host::start(settings.clone())
        .await
        .expect("the host starts");
    only_the_junk_is_refused(&host, dir.path());
    let host = served(host);
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
    assert_eq!(
        host.get("/api/v1/echo/x")
            .await
            .header("x-operation-version"),
        "2.0.0"
    );
    let mut events = host.host().watches()[0].events();

    // Rewritten with garbage, the loaded file is refused; its version keeps serving. (Both
    // rewrites go through a rename, so each is one change to the file.)
    let rewrite = |bytes: &[u8]| {
        let part = dir.path().join("greet.part");
        std::fs::write(&part, bytes).unwrap();
        std::fs::rename(&part, &greet).unwrap();
    };
    rewrite(b"garbage");
    assert!(matches!(
        next_about(&mut events, &greet).await,
        WatchEvent::Refused { .. }
    ));
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
    // Written again with the code that is live from it: nothing to do, nothing kept.
    rewrite(&arsenal_tests::read(guests::GREET));
    assert_eq!(
        next_about(&mut events, &greet).await,
        WatchEvent::Unchanged {
            name: "greet".to_owned(),
            path: greet.clone()
        }
    );
    let versions = host.get("/api/v1/admin/operations/greet/versions").await;
    assert_eq!(
        versions.body["data"]["versions"].as_array().map(Vec::len),
        Some(1),
        "{}",
        versions.body
    );

    // Half a file is refused and never loaded; the rest appended, it loads whole.
    let typed = dir.path().join("typed.wasm");
    let bytes = arsenal_tests::read(guests::TYPED);
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    let mut file = std::fs::File::create(&typed).unwrap();
    file.write_all(first).unwrap();
    file.sync_all().unwrap();
    assert!(matches!(
        next_about(&mut events, &typed).await,
        WatchEvent::Refused { .. }
    ));
    host.get("/api/v1/operations/typed")
        .await
        .assert_error(404, "operation_not_found");
    file.write_all(rest).unwrap();
    file.sync_all().unwrap();
    drop(file);
    // The first half may have come as more than one change, each refused.
    let loaded = loop {
        match next_about(&mut events, &typed).await {
            WatchEvent::Refused { .. } => continue,
            other => break other,
        }
    };
    assert_eq!(
        loaded,
        WatchEvent::Loaded {
            name: "typed".to_owned(),
            path: typed.clone()
        }
    );
    drop(events);
    drop(host);

    // After a restart, the directory's operations are back, from the files.
    let host = Host::start(settings).await.expect("the host starts again");
    only_the_junk_is_refused(&host, dir.path());
    let host = served(host);
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
    assert_eq!(host.get("/api/v1/operations/typed").await.status, 200);
    assert_eq!(
        host.get("/api/v1/echo/x")
            .await
            .header("x-operation-version"),
        "2.0.0"
    );
    // And the restarted host watches too: deleted, greet unloads.
    let mut events = host.host().watches()[0].events();
    std::fs::remove_file(&greet).unwrap();
    assert_eq!(
        next_about(&mut events, &greet).await,
        WatchEvent::Unloaded {
            name: "greet".to_owned(),
            path: greet.clone()
        }
    );
    host.get("/api/v1/greet/ann")
        .await
        .assert_error(404, "operation_not_found");
}
