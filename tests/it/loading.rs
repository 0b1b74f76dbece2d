//! Loading components: every refusal carries the exact error the admin API will answer
//! (status, code and the details that say why), a refused component changes nothing that
//! is already served, configuration can withhold capabilities or disable operations, a
//! bad file in an operations directory does not stop the good ones, and the compile cache
//! survives a corrupted artifact.

use std::path::Path;
use std::sync::Arc;

use arsenal::http::ApiError;
use arsenal::{Added, CompileCache, Host, LoadError, LoadedOperation, OperationEngine, Source};
use arsenal_testing::TestHost;
use arsenal_tests::read;
use serde_json::Value;

use crate::{guests, settings, test_host, test_host_with};

/// Add `path` to the registry of `host` as a component from `source`.
async fn add(host: &Host, path: &str, source: Source) -> Result<Added, LoadError> {
    host.registry().add(&read(path), source, path).await
}

/// The API error a load refusal maps to (what the admin API will answer), after checking
/// its status and code; panics if the component loaded.
#[track_caller]
fn refusal(outcome: Result<Added, LoadError>, status: u16, code: &str) -> ApiError {
    let error = match outcome {
        Ok(added) => panic!("expected a `{code}` refusal, but it loaded: {added:?}"),
        Err(error) => ApiError::from(error),
    };
    assert_eq!(error.status().as_u16(), status, "{error:?}");
    assert_eq!(error.code(), code, "{error:?}");
    assert!(!error.message().is_empty(), "{error:?}");
    error
}

/// The operation `add` published.
#[track_caller]
fn published(outcome: Result<Added, LoadError>) -> Arc<LoadedOperation> {
    match outcome {
        Ok(Added::Published(operation)) => operation,
        other => panic!("expected the operation to be published: {other:?}"),
    }
}

/// The `import` names of an `unsupported_imports` error, with their reasons.
fn refused_imports(error: &ApiError) -> Vec<(String, String)> {
    let details = error.details().expect("unsupported_imports has details");
    details["imports"]
        .as_array()
        .unwrap_or_else(|| panic!("no imports in {details}"))
        .iter()
        .map(|problem| {
            (
                problem["import"].as_str().unwrap().to_owned(),
                problem["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Serve an already started host through the real router (the harness's constructors
/// insist that nothing failed to load, which the directory test needs to inspect).
fn serve(host: Host) -> TestHost {
    TestHost::serving(host)
}

async fn assert_serves(host: &TestHost, uri: &str) -> Value {
    let reply = host.get(uri).await;
    assert_eq!(reply.status.as_u16(), 200, "GET {uri}: {}", reply.body);
    reply.body["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_memory_over_the_cap_is_refused_at_load() {
    // A private cache, so `describe` really runs here (see the next test for a cached one).
    let cache = tempfile::tempdir().unwrap();
    let host = host_with_cache(cache.path());
    let error = refusal(
        add(&host, guests::BIG_MEMORY, Source::Directory).await,
        422,
        "invalid_component",
    );
    // More than the 128 MiB of `.bss`; the exact figure depends on the toolchain.
    assert!(
        error.message().contains("initial linear memory of 1"),
        "{error:?}"
    );
    assert!(
        error.message().contains("over the memory cap of 64 MiB"),
        "{error:?}"
    );
    assert!(host.registry().snapshot().operations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_memory_over_the_cap_is_refused_even_when_a_roomier_host_cached_it() {
    let cache = tempfile::tempdir().unwrap();
    let mut roomy = settings().with_cache_dir(cache.path());
    roomy.limits.memory_mib = 256;
    let roomy = Host::empty(roomy).expect("the host starts");
    published(add(&roomy, guests::BIG_MEMORY, Source::Directory).await);
    drop(roomy);

    // The cached `describe()` result must not bypass the cap: the 64 MiB host still
    // refuses the component at load rather than failing every call.
    let host = host_with_cache(cache.path());
    let error = refusal(
        add(&host, guests::BIG_MEMORY, Source::Directory).await,
        422,
        "invalid_component",
    );
    assert!(
        error.message().contains("over the memory cap of 64 MiB"),
        "{error:?}"
    );
    assert!(host.registry().snapshot().operations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_override_lets_a_large_operation_load_and_serve() {
    let mut settings = settings();
    settings.operations.overrides.insert(
        "big_memory".to_owned(),
        arsenal::config::OperationOverride {
            memory_mib: Some(256),
            ..arsenal::config::OperationOverride::default()
        },
    );
    let host = test_host_with(settings, &[guests::BIG_MEMORY]).await;
    let reply = host.get("/api/v1/test/big-memory").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_no_host_provides_is_named() {
    let host = test_host(&[]).await;
    let error = refusal(
        add(host.host(), guests::UNKNOWN_IMPORT, Source::Directory).await,
        422,
        "unsupported_imports",
    );
    assert_eq!(
        refused_imports(&error),
        [(
            "example:unknown/thing@0.1.0".to_owned(),
            "not an interface this host provides".to_owned()
        )]
    );
    assert_serves(&host, "/api/v1/echo/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filesystem_is_linked_closed_for_every_source() {
    // Language runtimes import `wasi:filesystem`: a component doing so loads from any
    // source, and finds no directory at all.
    for source in [Source::Upload, Source::Directory, Source::Builtin] {
        let host = test_host(&[]).await;
        published(add(host.host(), guests::FS_IMPORT, source).await);
        let reply = host.get("/api/v1/test/fs-import").await;
        reply.assert_error(503, "unavailable");
        assert!(
            reply.message().starts_with("cannot list `/`: "),
            "{source:?}: {}",
            reply.body
        );
        assert_serves(&host, "/api/v1/echo/x").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capability_withheld_from_directories_is_refused() {
    let mut settings = settings();
    settings.capabilities.directory = vec![];
    let host = test_host_with(settings, &[]).await;
    let error = refusal(
        add(host.host(), guests::NEEDS_SYSTEM, Source::Directory).await,
        422,
        "unsupported_imports",
    );
    assert_eq!(
        refused_imports(&error),
        [(
            "arsenal:runtime/system@0.1.0".to_owned(),
            "capability `system` is not granted to directory components".to_owned()
        )]
    );
    let reply = host.get("/api/v1/test/needs-system").await;
    reply.assert_error(404, "operation_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_capability_is_granted_to_directories_by_default() {
    let host = test_host(&[guests::NEEDS_SYSTEM]).await;
    let data = assert_serves(&host, "/api/v1/test/needs-system").await;
    assert_eq!(data["node"], "local");
    assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_builtin_gets_every_capability_it_imports() {
    let mut settings = settings();
    settings.capabilities.directory = vec![];
    settings.capabilities.upload = vec![];
    let host = test_host_with(settings, &[]).await;
    let operation = published(add(host.host(), guests::NEEDS_SYSTEM, Source::Builtin).await);
    assert_eq!(operation.spec.name, "needs_system");
    assert_serves(&host, "/api/v1/test/needs-system").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_contract_version_is_refused_naming_both_versions() {
    let host = test_host(&[]).await;
    let error = refusal(
        add(host.host(), guests::FUTURE_CONTRACT, Source::Directory).await,
        422,
        "unsupported_contract_version",
    );
    assert!(error.message().contains("0.9.0"), "{error:?}");
    assert!(error.message().contains("0.1.0, 0.2.0"), "{error:?}");
    assert_eq!(
        error.details(),
        Some(&serde_json::json!({ "found": "0.9.0", "supported": ["0.1.0", "0.2.0"] }))
    );
    assert_serves(&host, "/api/v1/echo/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_no_component_are_invalid() {
    let host = test_host(&[]).await;
    let malformed = refusal(
        add(host.host(), guests::MALFORMED, Source::Upload).await,
        422,
        "invalid_component",
    );
    assert!(malformed.message().contains("malformed"), "{malformed:?}");

    let core = refusal(
        add(host.host(), guests::CORE_MODULE, Source::Upload).await,
        422,
        "invalid_component",
    );
    assert!(
        core.message().contains("core WebAssembly module"),
        "{core:?}"
    );

    let random = refusal(
        host.host()
            .registry()
            .add(b"PK\x03\x04 definitely not wasm", Source::Upload, "upload")
            .await,
        422,
        "invalid_component",
    );
    assert!(
        random.message().contains("not a WebAssembly binary"),
        "{random:?}"
    );
    assert_serves(&host, "/api/v1/echo/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_conflict_names_both_operations_and_keeps_the_first() {
    let host = test_host(&[guests::ROUTE_A]).await;
    let error = refusal(
        add(host.host(), guests::ROUTE_B, Source::Directory).await,
        409,
        "route_conflict",
    );
    let details = error.details().expect("route_conflict has details");
    assert_eq!(details["operation"], "route_b", "{details}");
    assert_eq!(details["other"], "route_a", "{details}");
    assert!(error.message().contains("`route_a`"), "{error:?}");
    assert!(error.message().contains("`route_b`"), "{error:?}");

    let data = assert_serves(&host, "/api/v1/test/conflict/q").await;
    assert_eq!(data["operation"], "route_a");
    assert_eq!(data["x"], "q");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_path_is_an_invalid_config() {
    let host = test_host(&[]).await;
    let error = refusal(
        add(host.host(), guests::BAD_PATH, Source::Directory).await,
        422,
        "invalid_config",
    );
    let details = error.details().expect("invalid_config has details");
    assert_eq!(details["problems"][0]["field"], "path", "{details}");
    assert_serves(&host, "/api/v1/echo/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_operation_with_a_taken_name_is_refused() {
    let host = test_host(&[]).await;
    let error = refusal(
        add(host.host(), guests::ECHO_V2, Source::Directory).await,
        409,
        "operation_exists",
    );
    assert_eq!(
        error.details(),
        Some(&serde_json::json!({ "name": "echo" }))
    );
    // The built-in still answers, not version 2.
    let reply = host.get("/api/v1/echo/x").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["data"].get("v"), None, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_builtin_is_not_served() {
    let mut settings = settings();
    settings.operations.disabled = vec!["echo".to_owned()];
    let host = test_host_with(settings, &[]).await;
    host.get("/api/v1/echo/x")
        .await
        .assert_error(404, "operation_not_found");
    assert!(host.host().registry().snapshot().get("echo").is_none());
    assert_serves(&host, "/api/v1/system/info").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_directory_operation_is_not_served() {
    let mut settings = settings();
    settings.operations.disabled = vec!["slow_ok".to_owned()];
    let host = test_host_with(settings, &[]).await;
    match add(host.host(), guests::SLOW_OK, Source::Directory).await {
        Ok(Added::Disabled(name)) => assert_eq!(name, "slow_ok"),
        other => panic!("expected slow_ok to be disabled: {other:?}"),
    }
    host.get("/api/v1/test/slow?ms=0")
        .await
        .assert_error(404, "operation_not_found");
    assert_serves(&host, "/api/v1/echo/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_in_a_directory_does_not_stop_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guests::GREET, dir.path().join("greet.wasm")).unwrap();
    std::fs::copy(guests::MALFORMED, dir.path().join("malformed.wasm")).unwrap();
    let mut settings = settings();
    settings.operations.dirs = vec![dir.path().to_owned()];
    let host = Host::start(settings).await.expect("the host starts");

    let problems = host.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        Path::new(&problems[0].origin),
        dir.path().join("malformed.wasm")
    );
    assert!(
        matches!(&problems[0].error, LoadError::InvalidComponent(message) if message.contains("malformed")),
        "{:?}",
        problems[0].error
    );

    let host = serve(host);
    let data = assert_serves(&host, "/api/v1/greet/ann").await;
    assert_eq!(data["greeting"], "hello, ann!");
}

/// A host with no operations whose compile cache is under `dir`, and nowhere else. Without
/// the built-ins, only the components a test adds are compiled into the fresh cache.
fn host_with_cache(dir: &Path) -> Host {
    Host::empty(settings().with_cache_dir(dir)).expect("the host starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_component_has_the_same_hash_in_every_host() {
    let bytes = read(guests::GREET);
    let mut hashes = Vec::new();
    for _ in 0..2 {
        let host = Host::start(settings()).await.expect("the host starts");
        let operation = published(
            host.registry()
                .add(&bytes, Source::Directory, "greet")
                .await,
        );
        hashes.push(operation.content_hash.clone());
    }
    assert_eq!(hashes[0], hashes[1]);
    assert_eq!(hashes[0], arsenal::content_hash(&bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_cache_artifact_is_detected_and_replaced() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = read(guests::GREET);
    let hash = arsenal::content_hash(&bytes);

    // A first host compiles the component and stores the artifact.
    let first = host_with_cache(cache.path());
    published(
        first
            .registry()
            .add(&bytes, Source::Directory, "greet")
            .await,
    );
    let dir = first
        .registry()
        .loader()
        .cache()
        .dir()
        .expect("the cache is enabled")
        .to_owned();
    assert!(dir.starts_with(cache.path()), "{}", dir.display());
    let artifact = dir.join(format!("{hash}.cwasm"));
    assert!(artifact.is_file(), "no artifact at {}", artifact.display());
    drop(first);

    // Same length, different bytes: only the recorded hash can tell.
    let garbage = vec![0x5a; std::fs::metadata(&artifact).unwrap().len() as usize];
    std::fs::write(&artifact, &garbage).unwrap();

    let second = host_with_cache(cache.path());
    let operation = published(
        second
            .registry()
            .add(&bytes, Source::Directory, "greet")
            .await,
    );
    assert_eq!(operation.content_hash, hash);
    assert_ne!(
        std::fs::read(&artifact).unwrap(),
        garbage,
        "the corrupted artifact is recompiled and replaced"
    );

    let second = serve(second);
    let data = assert_serves(&second, "/api/v1/greet/ann?times=2").await;
    assert_eq!(data["greeting"], "hello, ann! hello, ann!");

    // The replacement is a verified entry: a fresh cache over the same directory, for an
    // engine built from the same limits, uses it instead of compiling.
    let engine = OperationEngine::new(&settings().limits).expect("the engine builds");
    let fresh = CompileCache::new(Some(cache.path()), engine.fingerprint());
    assert_eq!(fresh.dir(), Some(dir.as_path()));
    let (_, hit) = fresh
        .component(engine.engine(), &hash, &bytes)
        .expect("the cached component loads");
    assert!(hit, "the replaced artifact is served from the cache");
}

/// The recorded hash is what stands between the cache and foreign code: an entry whose
/// artifact was swapped for another component's — a valid artifact for this very engine,
/// which wasmtime would load without complaint — is refused, recompiled and replaced, and
/// the operation runs its own code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_artifact_swapped_for_another_components_is_never_loaded() {
    let cache = tempfile::tempdir().unwrap();
    let greet = read(guests::GREET);
    let echo = read(guests::ECHO_V2);
    let first = host_with_cache(cache.path());
    for (bytes, origin) in [(&greet, "greet"), (&echo, "echo")] {
        published(first.registry().add(bytes, Source::Directory, origin).await);
    }
    let dir = first
        .registry()
        .loader()
        .cache()
        .dir()
        .expect("the cache is enabled")
        .to_owned();
    drop(first);
    let artifact = |bytes: &[u8]| dir.join(format!("{}.cwasm", arsenal::content_hash(bytes)));
    let foreign = std::fs::read(artifact(&echo)).unwrap();
    std::fs::copy(artifact(&echo), artifact(&greet)).unwrap();

    let second = host_with_cache(cache.path());
    published(
        second
            .registry()
            .add(&greet, Source::Directory, "greet")
            .await,
    );
    let second = serve(second);
    let data = assert_serves(&second, "/api/v1/greet/ann").await;
    assert_eq!(
        data,
        serde_json::json!({ "greeting": "hello, ann!" }),
        "greet runs its own code"
    );
    assert_ne!(
        std::fs::read(artifact(&greet)).unwrap(),
        foreign,
        "the swapped artifact was replaced by greet's own"
    );
}
