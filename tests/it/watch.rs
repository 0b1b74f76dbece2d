//! The watched directory: a `.wasm` file added loads, replaced replaces, deleted unloads;
//! a half-written or bad file is refused and the live version keeps serving. The test
//! waits on the watcher's own events, never on time.

use std::path::Path;
use std::time::Duration;

use arsenal::watch::{WatchEvent, watch};
use tokio::sync::broadcast::Receiver;

use crate::{TestHost, guests};

/// The watcher's next event about `path` (others are skipped), within 10 s.
async fn next_about(events: &mut Receiver<WatchEvent>, path: &Path) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = events.recv().await.expect("the watcher runs");
            let about = match &event {
                WatchEvent::Loaded { path, .. }
                | WatchEvent::Replaced { path, .. }
                | WatchEvent::Unloaded { path, .. }
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
    let host = TestHost::new(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let watching = watch(
        host.host.registry().clone(),
        dir.path(),
        Duration::from_millis(100),
    )
    .unwrap();
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

    // Garbage is refused and changes nothing.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not a component").unwrap();
    assert!(matches!(
        next_about(&mut events, &junk).await,
        WatchEvent::Refused { .. }
    ));
    assert_eq!(
        host.get("/api/v1/echo/x")
            .await
            .header("x-operation-version"),
        "2.0.0"
    );
}
