//! The commands. Each writes its result to `out` and returns the process exit code
//! (0 success, 1 the operation or a check failed, 2 usage or set-up error).

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use http::Method;
use serde_json::{Map, Value};

use super::args::{Cli, Command, KindArgs, ServerArgs, TargetArgs};
use super::target::{Answer, Target};
use arsenal_core::config::Settings;
use arsenal_core::host::Host;

/// Run a parsed command line.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> anyhow::Result<u8> {
    if let Command::CompileChild { recipe, out } = &cli.command {
        return Ok(arsenal_core::compiler::child_main(recipe, out));
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    if settings.compile.program.is_none() {
        settings.compile.program = cli.compiler_program;
    }
    match cli.command {
        Command::Serve {
            addr,
            operations,
            workers,
            watch,
            print_config,
        } => {
            settings.operations.worker_dirs.extend(workers);
            settings.operations.watch_dirs.extend(watch);
            serve(settings, addr, operations, print_config, out).await
        }
        Command::List {
            target,
            category,
            q,
            json,
        } => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            if let Some(category) = &category {
                query.append_pair("category", category);
            }
            if let Some(q) = &q {
                query.append_pair("q", q);
            }
            let query = query.finish();
            let path = if query.is_empty() {
                "/api/v1/operations".to_owned()
            } else {
                format!("/api/v1/operations?{query}")
            };
            let answer = ask(&target, settings, Method::GET, &path, None).await?;
            if json || !answer.ok() {
                return print_answer(&answer, out);
            }
            print_table(&answer.body["data"], out)?;
            Ok(0)
        }
        Command::Load {
            file,
            worker,
            name,
            method,
            path,
            server,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("failed to read {}", file.display()))?;
            let token = super::credentials::bearer(server.token.as_deref(), &settings)?;
            let server = Target::remote(&server.url, token);
            // A worker is named by whoever loads it: `PUT` loads or replaces it.
            if let Some(name) = worker {
                let path = format!("/api/v1/admin/workers/{}", encode(&name));
                return print_answer(&server.send_wasm(Method::PUT, &path, bytes).await?, out);
            }
            // A wasi:http handler's declared route travels in the query.
            let route = match (&method, &path) {
                (Some(method), Some(path)) => {
                    format!("method={}&path={}", encode(method), encode(path))
                }
                _ => String::new(),
            };
            let upload = match &name {
                Some(name) => format!("/api/v1/admin/operations?name={}&{route}", encode(name)),
                None => "/api/v1/admin/operations".to_owned(),
            };
            let added = server
                .send_wasm(Method::POST, &upload, bytes.clone())
                .await?;
            // Loaded already: replace it.
            if added.status == 409 && added.body["error"]["code"] == "operation_exists" {
                let name = added.body["error"]["details"]["name"]
                    .as_str()
                    .unwrap_or_default();
                let mut path = format!("/api/v1/admin/operations/{}", encode(name));
                if !route.is_empty() {
                    path.push('?');
                    path.push_str(&route);
                }
                return print_answer(&server.send_wasm(Method::PUT, &path, bytes).await?, out);
            }
            print_answer(&added, out)
        }
        Command::Unload { name, kind, server } => {
            let path = admin_path(kind, &name, "");
            admin(&server, &settings, Method::DELETE, &path, out).await
        }
        Command::Rollback { name, kind, server } => {
            let path = admin_path(kind, &name, "/rollback");
            admin(&server, &settings, Method::POST, &path, out).await
        }
        Command::Restore { name, kind, server } => {
            let path = admin_path(kind, &name, "/restore");
            admin(&server, &settings, Method::POST, &path, out).await
        }
        Command::Versions { name, kind, server } => {
            let path = admin_path(kind, &name, "/versions");
            admin(&server, &settings, Method::GET, &path, out).await
        }
        Command::Describe { name, target } => {
            let path = format!("/api/v1/operations/{}", encode(&name));
            print_answer(
                &ask(&target, settings, Method::GET, &path, None).await?,
                out,
            )
        }
        Command::Call {
            name,
            params,
            target,
        } => {
            let body = parse_params(&params)?;
            let path = format!("/api/v1/operations/{}/execute", encode(&name));
            print_answer(
                &ask(
                    &target,
                    settings,
                    Method::POST,
                    &path,
                    Some(Value::Object(body)),
                )
                .await?,
                out,
            )
        }
        Command::Openapi { target } => print_answer(
            &ask(&target, settings, Method::GET, "/api/v1/openapi.json", None).await?,
            out,
        ),
        Command::HashKey { key } => super::credentials::hash_key(key.as_deref(), out),
        Command::New { name, lang, dir } => {
            let dir = dir.unwrap_or_else(|| std::path::PathBuf::from(&name));
            super::scaffold::new_project(&name, lang, &dir, out)?;
            Ok(0)
        }
        Command::Check { files, source } => {
            super::check::check(settings, &files, source, out).await
        }
        Command::CompileChild { .. } => unreachable!("handled before the settings load"),
    }
}

async fn serve(
    mut settings: Settings,
    addr: Option<std::net::SocketAddr>,
    operations: Vec<std::path::PathBuf>,
    print_config: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u8> {
    if let Some(addr) = addr {
        settings.server.addr = addr;
    }
    settings.operations.dirs.extend(operations);
    if print_config {
        write!(out, "{}", toml::to_string_pretty(&settings.redacted())?)?;
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let host = Host::start(settings).await?;
    let addr = host.settings().server.addr;
    // Refuse a non-loopback address in local mode before binding, and settle the token.
    host.access().prepare(addr)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr}"))?;
    // Port 0 asks for any free port: say the one given.
    let addr = listener.local_addr().unwrap_or(addr);
    let operations = host.registry().snapshot().operations().len();
    tracing::info!(%addr, operations, startup_ms = started.elapsed().as_millis() as u64, "arsenal serving");
    writeln!(
        out,
        "arsenal serving {operations} operations on http://{addr}"
    )?;
    out.flush()?;
    // The watched directories are watched by the host from its start (`Host::watch_dir`).
    arsenal_http::serve(Arc::new(host), listener, arsenal_http::shutdown_signal()).await?;
    Ok(0)
}

async fn ask(
    target: &TargetArgs,
    settings: Settings,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Answer> {
    Target::new(target, settings)
        .await?
        .send(method, path, body)
        .await
}

/// The admin API path of the component `name` of `kind`, then `action` (`/rollback`, ...).
fn admin_path(kind: KindArgs, name: &str, action: &str) -> String {
    format!(
        "/api/v1/admin/{}/{}{action}",
        kind.collection(),
        encode(name)
    )
}

/// Send an admin request without a body to a running server and print the answer.
async fn admin(
    server: &ServerArgs,
    settings: &Settings,
    method: Method,
    path: &str,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u8> {
    let token = super::credentials::bearer(server.token.as_deref(), settings)?;
    let answer = Target::remote(&server.url, token)
        .send(method, path, None)
        .await?;
    print_answer(&answer, out)
}

fn print_answer(answer: &Answer, out: &mut (dyn Write + Send)) -> anyhow::Result<u8> {
    writeln!(out, "{}", serde_json::to_string_pretty(&answer.body)?)?;
    Ok(if answer.ok() { 0 } else { 1 })
}

fn print_table(operations: &Value, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let rows: Vec<[String; 4]> = operations
        .as_array()
        .map(|ops| {
            ops.iter()
                .map(|op| {
                    let text = |key: &str| op[key].as_str().unwrap_or_default().to_owned();
                    [text("name"), text("method"), text("path"), text("summary")]
                })
                .collect()
        })
        .unwrap_or_default();
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].len())
            .max()
            .unwrap_or(0)
            .max(4)
    };
    let (name, method, path) = (width(0), width(1), width(2));
    writeln!(
        out,
        "{:name$}  {:method$}  {:path$}  SUMMARY",
        "NAME", "METHOD", "PATH"
    )?;
    for row in &rows {
        writeln!(
            out,
            "{:name$}  {:method$}  {:path$}  {}",
            row[0], row[1], row[2], row[3]
        )?;
    }
    Ok(())
}

/// `key=value` is text; `key:=json` is a JSON value.
fn parse_params(params: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut object = Map::new();
    for param in params {
        if let Some((key, json)) = param.split_once(":=")
            && !key.contains('=')
        {
            let value = serde_json::from_str(json)
                .with_context(|| format!("`{param}`: the value after `:=` is not JSON"))?;
            object.insert(key.to_owned(), value);
        } else if let Some((key, value)) = param.split_once('=') {
            object.insert(key.to_owned(), Value::String(value.to_owned()));
        } else {
            anyhow::bail!("`{param}` is not KEY=VALUE or KEY:=JSON");
        }
    }
    Ok(object)
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_text_or_json() {
        let params = parse_params(&["a=1".into(), "b:=[1,2]".into(), "c=x:=y".into()]).unwrap();
        assert_eq!(
            Value::Object(params),
            serde_json::json!({"a": "1", "b": [1, 2], "c": "x:=y"})
        );
        assert_eq!(
            parse_params(&["oops".into()]).unwrap_err().to_string(),
            "`oops` is not KEY=VALUE or KEY:=JSON"
        );
    }
}
