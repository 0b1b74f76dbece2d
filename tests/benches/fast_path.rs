//! The request fast path, in process (criterion): a fresh instance of the built-in `echo`
//! running `execute`, a fresh instance running `describe` (instantiation with the least
//! guest work `echo` allows), a fresh instance of the hand-written `greet-wat` running
//! `execute` (the floor: the smallest operation the contract allows) and the same
//! instantiation by wasmtime alone, `execute` on a warm instance (`echo`, and the
//! JavaScript and Python greets), validation of a typical parameter set, route lookup
//! among 1,000 routes, and server start — the built-ins loaded from the compile cache or
//! compiled, to the first request served through the router. Figures and targets are in
//! BENCHMARKS.md.
//!
//! `cargo bench -p arsenal-tests --bench fast_path` (`-- --test` runs each once, for CI).
//! The JavaScript and Python greets are the components the integration tests build
//! (`target/tmp/greet-js.wasm`, `target/tmp/greet-py.wasm`); without them their cases are
//! skipped, saying so, unless `ARSENAL_BENCH_LANGUAGES=required` (CI) makes that an error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::config::{OperationOverride, Settings};
use arsenal::{
    Caller, Host, LoadedOperation, Location, OperationEngine, OperationSpec, ParamType,
    ParamValidator, RawConfig, RawInput, RawParam, RouteMatch, RouteTable,
};
use axum::body::Body;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use http::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Settings of a bench host (defaults and `ARSENAL_*` variables): its own compile cache, no state kept between runs, a fixed
/// admin token (so none is generated and written), roomy rate limits and the host
/// services as `serve` has them.
fn settings(cache: &std::path::Path) -> Settings {
    // `ARSENAL_*` variables apply, so pool settings can be compared:
    // `ARSENAL_LIMITS__KEEP_RESIDENT_KIB=1024 cargo bench -p arsenal-tests --bench fast_path`.
    let mut settings = Settings::load(None)
        .expect("valid ARSENAL_* settings")
        .with_cache_dir(cache);
    settings.server.persist = false;
    settings.auth.admin_token = Some("bench-admin-token".to_owned());
    // One principal sends every request of the router bench: the buckets are turned on
    // (local mode leaves them off), with room for all of them, so that the figures
    // include counting each request as a keyed server does.
    settings.rate_limits.in_local_mode = true;
    let roomy = arsenal::config::RateQuota {
        burst: u32::MAX,
        replenish_ms: 1,
    };
    settings.rate_limits.per_key = roomy;
    settings.rate_limits.per_operation = roomy;
    // `echo` is measured with a fresh instance per call here (built-ins reuse theirs by
    // default); `warm_settings` turns reuse on where a bench measures it.
    let fresh = OperationOverride {
        warm_instance_calls: Some(0),
        ..OperationOverride::default()
    };
    settings
        .operations
        .overrides
        .insert("echo".to_owned(), fresh);
    settings
}

/// Settings whose operations named in `warm` run in warm-instance mode, an instance
/// serving as many calls as the bench makes.
fn warm_settings(warm: &[&str]) -> Settings {
    let mut settings = settings(kept_cache());
    for name in warm {
        let warm = OperationOverride {
            warm_instance_calls: Some(u32::MAX),
            ..OperationOverride::default()
        };
        settings
            .operations
            .overrides
            .insert((*name).to_owned(), warm);
    }
    settings
}

fn bench_caller() -> Caller {
    Caller {
        principal: "bench".to_owned(),
        roles: vec!["viewer".to_owned()],
        request_id: "bench-request".to_owned(),
        onward: Default::default(),
    }
}

fn greet_params() -> Map<String, Value> {
    json!({ "name": "ann", "times": 2 })
        .as_object()
        .cloned()
        .expect("an object")
}

/// The built-in `echo` as `host` loaded it.
fn builtin_echo(host: &Host) -> Arc<LoadedOperation> {
    host.registry()
        .snapshot()
        .get("echo")
        .cloned()
        .expect("the built-in echo is loaded")
}

/// `Registry::call` of `operation` on `host` as bench `name` of `group`.
fn bench_call(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    host: &Host,
    operation: &Arc<LoadedOperation>,
    params: &Map<String, Value>,
    caller: &Caller,
) {
    group.bench_function(name, |b| {
        b.to_async(runtime).iter(|| async {
            host.registry()
                .call(operation, params, caller)
                .await
                .unwrap_or_else(|error| panic!("{name} answers: {error}"))
        })
    });
}

/// A compile cache kept between runs of the benches, so that only `builtins_compiled`
/// compiles.
fn kept_cache() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/bench-compile-cache"))
}

fn guest_calls(c: &mut Criterion) {
    let runtime = runtime();
    let mut host = runtime
        .block_on(Host::start(settings(kept_cache())))
        .expect("the host starts");
    // The floor: `greet` written by hand in WebAssembly text (examples/greet-wat), the
    // smallest operation the contract allows — one memory, no WASI, no allocator, one
    // host call (`log`). What a fresh instance costs with this engine when the guest
    // brings nothing of its own.
    let Some(arsenal::Added::Published(greet_wat)) =
        runtime.block_on(host.load_file(std::path::Path::new(arsenal_tests::guests::GREET_WAT)))
    else {
        panic!("greet-wat loads: {:?}", host.problems());
    };
    let echo = builtin_echo(&host);
    let caller = bench_caller();
    let params: Map<String, Value> = json!({ "id": "42", "color": "blue" })
        .as_object()
        .cloned()
        .expect("an object");

    let mut group = c.benchmark_group("guest");
    bench_call(
        &mut group,
        &runtime,
        "fresh_instance_execute_echo",
        &host,
        &echo,
        &params,
        &caller,
    );
    let greet_params = greet_params();
    bench_call(
        &mut group,
        &runtime,
        "fresh_instance_execute_wat_floor",
        &host,
        &greet_wat,
        &greet_params,
        &caller,
    );
    // The same call through the whole router (every layer, validation, telemetry), in
    // process: the HTTP bench's cost without sockets and hyper.
    let router = arsenal::http::router(Arc::new(host_for_router(&runtime)));
    group.bench_function("router_get_echo", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/api/v1/echo/42?color=blue")
                .body(Body::empty())
                .expect("a request");
            let response = router.clone().oneshot(request).await.expect("an answer");
            assert_eq!(response.status(), StatusCode::OK);
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body")
        })
    });
    group.bench_function("fresh_instance_describe_echo", |b| {
        b.to_async(&runtime).iter(|| async {
            host.registry()
                .instantiate(&echo, "bench-request")
                .await
                .expect("echo instantiates")
        })
    });
    // Warm-instance mode: a host keeping `echo` instances between calls (one at a time
    // here, so the same instance serves every call).
    let warm = runtime
        .block_on(Host::start(warm_settings(&["echo"])))
        .expect("the warm host starts");
    let warm_echo = builtin_echo(&warm);
    bench_call(
        &mut group,
        &runtime,
        "warm_instance_execute_echo",
        &warm,
        &warm_echo,
        &params,
        &caller,
    );
    group.finish();
    wasmtime_floor(c, &runtime);
}

/// wasmtime alone, on an engine configured as the host's (`OperationEngine`: pooling,
/// `pagemap_scan`, keep-resident, epochs): a fresh instance of `greet-wat`, and of the
/// built-in `echo`, from an `InstancePre` in a bare `Store<()>`, dropped at once — no store
/// data, no limiter, no deadline callback, no call (imports are stubs that would trap).
/// No host on this engine makes a fresh instance of these components for less; the
/// `fresh_instance_execute_*` cases minus these are what the call and Arsenal add (its
/// store, `execute`, the request and the response).
fn wasmtime_floor(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    use wasmtime::component::{Component, Linker};

    let limits = Settings::load(None)
        .expect("valid ARSENAL_* settings")
        .limits;
    let engine = OperationEngine::new(&limits).expect("the operation engine");
    let engine = engine.engine();
    let echo = arsenal::builtin_components()
        .iter()
        .find(|(name, _)| *name == "echo")
        .map(|(_, bytes)| *bytes)
        .expect("echo is built in");
    let components = [
        (
            "wat_floor",
            arsenal_tests::read(arsenal_tests::guests::GREET_WAT),
        ),
        ("echo", echo.to_vec()),
    ];
    let mut group = c.benchmark_group("guest");
    for (name, bytes) in components {
        let component = Component::new(engine, &bytes).expect("the component compiles");
        let mut linker = Linker::<()>::new(engine);
        linker
            .define_unknown_imports_as_traps(&component)
            .expect("every import stubbed");
        let pre = linker
            .instantiate_pre(&component)
            .expect("the component links");
        group.bench_function(format!("wasmtime_instantiate_{name}"), |b| {
            b.to_async(runtime).iter(|| async {
                let mut store = wasmtime::Store::new(engine, ());
                store.set_epoch_deadline(u64::MAX / 2);
                pre.instantiate_async(&mut store)
                    .await
                    .expect("the component instantiates");
                store
            })
        });
    }
    group.finish();
}

/// `execute` of the JavaScript and Python greets on a warm instance, in process: the
/// guest's own work plus the host's call path, without HTTP. The ceiling of
/// `cargo xtask bench-languages`' warm figures.
fn language_guests(c: &mut Criterion) {
    let runtime = runtime();
    let caller = bench_caller();
    let params = greet_params();
    let required = std::env::var("ARSENAL_BENCH_LANGUAGES").is_ok_and(|value| value == "required");
    let mut group = c.benchmark_group("guest");
    for (language, file) in [("js", "greet-js.wasm"), ("py", "greet-py.wasm")] {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(file);
        if !path.is_file() {
            let missing = format!(
                "{} is missing (`cargo test -p arsenal-tests --test it languages::` builds it)",
                path.display()
            );
            assert!(!required, "{missing}");
            eprintln!("skipping guest/warm_instance_execute_greet_{language}: {missing}");
            continue;
        }
        let mut host = runtime
            .block_on(Host::start(warm_settings(&["greet"])))
            .expect("the host starts");
        let Some(arsenal::Added::Published(greet)) = runtime.block_on(host.load_file(&path)) else {
            panic!("{file} loads: {:?}", host.problems());
        };
        bench_call(
            &mut group,
            &runtime,
            &format!("warm_instance_execute_greet_{language}"),
            &host,
            &greet,
            &params,
            &caller,
        );
    }
    group.finish();
}

/// A second host for the router bench (the router takes its host by `Arc`).
fn host_for_router(runtime: &tokio::runtime::Runtime) -> Host {
    runtime
        .block_on(Host::start(settings(kept_cache())))
        .expect("the host starts")
}

/// A typical operation's parameters: a path id, paging and a filter in the query, a JSON
/// body with a bounded string, an enum, a number range and a list.
fn typical_spec() -> OperationSpec {
    let mut id = RawParam::new("id", Location::Path, ParamType::String);
    id.max_length = Some(64);
    let mut limit = RawParam::new("limit", Location::Query, ParamType::Integer);
    (limit.minimum, limit.maximum, limit.default) = (Some(1.0), Some(1000.0), Some("100".into()));
    let mut sort = RawParam::new("sort", Location::Query, ParamType::String);
    sort.one_of = vec![
        r#""name""#.into(),
        r#""created""#.into(),
        r#""size""#.into(),
    ];
    let mut name = RawParam::new("name", Location::Body, ParamType::String);
    (name.required, name.min_length, name.max_length) = (true, Some(1), Some(128));
    let mut ratio = RawParam::new("ratio", Location::Body, ParamType::Number);
    (ratio.minimum, ratio.maximum) = (Some(0.0), Some(1.0));
    let mut tags = RawParam::new("tags", Location::Body, ParamType::Array);
    tags.items = Some(ParamType::String);
    let verbose = RawParam::new("verbose", Location::Query, ParamType::Boolean);
    let raw = RawConfig::new(
        "update_item",
        "POST",
        "/api/v1/items/:id",
        vec![id, limit, sort, name, ratio, tags, verbose],
    );
    OperationSpec::parse(&raw).expect("a valid spec")
}

fn validation(c: &mut Criterion) {
    let validator = ParamValidator::compile(&typical_spec());
    let body: Map<String, Value> =
        json!({ "name": "widget", "ratio": 0.25, "tags": ["a", "b", "c"] })
            .as_object()
            .cloned()
            .expect("an object");
    let input = || RawInput {
        path: vec![("id".to_owned(), "item-42".to_owned())],
        query: vec![
            ("limit".to_owned(), "50".to_owned()),
            ("sort".to_owned(), "created".to_owned()),
            ("verbose".to_owned(), "true".to_owned()),
        ],
        body: body.clone(),
    };
    c.bench_function("validate_typical_params", |b| {
        b.iter_batched(
            input,
            |input| validator.from_http(input).expect("valid parameters"),
            criterion::BatchSize::SmallInput,
        )
    });
}

fn route_lookup(c: &mut Criterion) {
    // 1,000 routes: 250 resources, each with a collection and an item template, the item
    // answering GET, PUT and DELETE.
    let mut specs = Vec::new();
    for resource in 0..250 {
        let collection = format!("/api/v1/resource{resource}");
        let item = format!("{collection}/:id");
        for (method, path) in [
            ("GET", &collection),
            ("GET", &item),
            ("PUT", &item),
            ("DELETE", &item),
        ] {
            let name = format!("op_{resource}_{}", method.to_lowercase());
            let name = if path == &collection {
                format!("{name}_all")
            } else {
                name
            };
            let params = if path == &item {
                vec![RawParam::new("id", Location::Path, ParamType::String)]
            } else {
                Vec::new()
            };
            let raw = RawConfig::new(&name, method, path, params);
            specs.push(OperationSpec::parse(&raw).expect("a valid spec"));
        }
    }
    let (table, conflicts) = RouteTable::build(specs.iter().enumerate());
    assert!(conflicts.is_empty(), "no conflicts: {conflicts:?}");
    let mut group = c.benchmark_group("route_lookup_1000");
    group.bench_function("hit_with_param", |b| {
        b.iter(|| {
            let found = table.lookup(&Method::PUT, "/api/v1/resource137/item-42");
            assert!(matches!(found, RouteMatch::Found { .. }));
            found
        })
    });
    group.bench_function("miss", |b| {
        b.iter(|| table.lookup(&Method::GET, "/api/v1/nothing/here"))
    });
    group.finish();
}

/// `Host::start` with every built-in, then the first `GET /api/v1/echo/:id` through the
/// router: what a restart costs before the server answers.
async fn start_to_first_request(cache: &std::path::Path) -> Duration {
    let started = Instant::now();
    let host = Arc::new(Host::start(settings(cache)).await.expect("the host starts"));
    let router = arsenal::http::router(host.clone());
    let request = Request::get("/api/v1/echo/first")
        .body(Body::empty())
        .expect("a request");
    let response = router.oneshot(request).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let elapsed = started.elapsed();
    drop(response);
    // Stop the host services, as `serve` does at shutdown.
    host.processes().shutdown(Duration::from_secs(5)).await;
    elapsed
}

fn server_start(c: &mut Criterion) {
    let runtime = runtime();
    // Fill the cache (if an earlier run did not): every later start deserializes.
    runtime.block_on(start_to_first_request(kept_cache()));
    let mut group = c.benchmark_group("server_start");
    // Each start reserves its engine's pool (~2 TiB of address space), given back only once
    // the dropped host's processes have ended; the number of starts is kept to the
    // minimum criterion allows: ten samples of one start each, a short warm-up.
    group
        .sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("builtins_from_cache", |b| {
        b.to_async(&runtime).iter_custom(|iterations| {
            let cache = kept_cache();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    total += start_to_first_request(cache).await;
                }
                total
            }
        })
    });
    group.bench_function("builtins_compiled", |b| {
        b.to_async(&runtime).iter_custom(|iterations| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let cold = tempfile::tempdir().expect("a temporary directory");
                total += start_to_first_request(cold.path()).await;
            }
            total
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    guest_calls,
    language_guests,
    validation,
    route_lookup,
    server_start
);
criterion_main!(benches);
