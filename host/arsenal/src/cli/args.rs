//! Argument definitions (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Arsenal: a WebAssembly plugin host that turns wasm components into REST operations.
#[derive(Debug, Parser)]
#[command(name = "arsenal", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML); `ARSENAL_*` environment variables override it.
    #[arg(long, global = true, env = "ARSENAL_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,

    /// The executable that compiles uploaded code in a child process, unless configured
    /// (`compile.program`): the `arsenal` binary sets itself; unset, compilation runs on a
    /// thread of this process.
    #[arg(skip)]
    pub compiler_program: Option<PathBuf>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the built-in operations and any configured ones over HTTP.
    Serve {
        /// Address to listen on (default 127.0.0.1:4000).
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// A directory of operation components (`.wasm`) to load; repeatable.
        #[arg(long = "operations", value_name = "DIR")]
        operations: Vec<PathBuf>,
        /// A directory of worker components (`.wasm`), each loaded under its file name;
        /// repeatable.
        #[arg(long = "workers", value_name = "DIR")]
        workers: Vec<PathBuf>,
        /// A directory to watch: `.wasm` files added, replaced or deleted there are loaded,
        /// replaced or unloaded while serving; repeatable.
        #[arg(long = "watch", value_name = "DIR")]
        watch: Vec<PathBuf>,
        /// Print the effective configuration as TOML and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// List operations.
    List {
        #[command(flatten)]
        target: TargetArgs,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        /// Search names and summaries.
        #[arg(long, short)]
        q: Option<String>,
        /// Print the JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Describe one operation: route, parameters, limits, capabilities.
    Describe {
        name: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Call an operation: `key=value` (text, coerced to the declared type) or
    /// `key:=json` (a raw JSON value).
    Call {
        name: String,
        #[arg(value_name = "KEY=VALUE")]
        params: Vec<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Print the OpenAPI document.
    Openapi {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Load a component into a running server (`--url`), replacing the live version of an
    /// operation of the same name; with `--worker NAME`, load or replace the worker
    /// component `NAME`. A `wasi:http` handler that does not describe itself is given its
    /// route with `--name`, `--method` and `--path`.
    Load {
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        /// Load it as the worker component of this name, not as an operation.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["name", "method", "path"])]
        worker: Option<String>,
        /// A `wasi:http` handler's operation name (with `--method` and `--path`).
        #[arg(long, value_name = "NAME", requires_all = ["method", "path"])]
        name: Option<String>,
        /// A `wasi:http` handler's method: GET, POST, PUT, PATCH or DELETE.
        #[arg(long, value_name = "METHOD", requires_all = ["name", "path"])]
        method: Option<String>,
        /// A `wasi:http` handler's path template, `:name` for a parameter segment.
        #[arg(long, value_name = "TEMPLATE", requires_all = ["name", "method"])]
        path: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Unload an operation (or, with `--worker`, a worker component) from a running server.
    Unload {
        name: String,
        #[command(flatten)]
        kind: KindArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Return an operation (or, with `--worker`, a worker component) of a running server to
    /// its previous version.
    Rollback {
        name: String,
        #[command(flatten)]
        kind: KindArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make an unloaded operation (or, with `--worker`, worker component) of a running
    /// server live again at the version it has on its own (built in, or from a directory).
    Restore {
        name: String,
        #[command(flatten)]
        kind: KindArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the versions of an operation (or, with `--worker`, a worker component) on a
    /// running server, the live one first.
    Versions {
        name: String,
        #[command(flatten)]
        kind: KindArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Internal: compile one component from stdin for the server that runs this (see the
    /// `compiler` module); not for people.
    #[command(name = "compile-child", hide = true)]
    CompileChild {
        /// The engine recipe, as JSON.
        #[arg(long)]
        recipe: String,
        /// Where to write the artifact.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the SHA-256 digest of an API key, for `[auth] keys`; without KEY, make a new
    /// key and print it with its digest; `-` reads the key from stdin.
    HashKey {
        #[arg(value_name = "KEY")]
        key: Option<String>,
    },
    /// Make a new operation project in DIR (default: ./NAME) that builds offline with
    /// the SDK and WIT this binary carries, with a test.
    New {
        /// The project's name: lowercase letters, digits, `-` and `_`.
        name: String,
        /// The language of the project.
        #[arg(long, value_enum, default_value = "rust")]
        lang: super::scaffold::Lang,
        /// Where to write it (created; must be empty if it exists).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Load, type-check and describe components, printing every problem found.
    Check {
        #[arg(required = true, value_name = "FILE.wasm")]
        files: Vec<PathBuf>,
        /// Check against the grants of this source.
        #[arg(long, value_enum, default_value = "directory")]
        source: CheckSource,
    },
}

/// The source whose capability grants `check` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckSource {
    Builtin,
    Directory,
    Upload,
}

/// A running server, for the commands that change one.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server, e.g. http://127.0.0.1:4000.
    #[arg(long, env = "ARSENAL_URL", required = true)]
    pub url: String,
    /// The bearer credential (an API key or the admin token). Default: the configured
    /// admin token (`ARSENAL_ADMIN_TOKEN`), else the one a local server keeps.
    #[arg(long, env = "ARSENAL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Which kind of component an admin command names.
#[derive(Debug, Clone, Copy, Args)]
pub struct KindArgs {
    /// The name is a worker component's (`/api/v1/admin/workers`), not an operation's.
    #[arg(long)]
    pub worker: bool,
}

impl KindArgs {
    /// The admin API's collection of this kind.
    pub fn collection(self) -> &'static str {
        if self.worker { "workers" } else { "operations" }
    }
}

/// Where a client command runs: against a server (`--url`), or in-process on a fresh
/// host runtime.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A running server, e.g. http://127.0.0.1:4000. Without it, the command runs on a
    /// fresh in-process host.
    #[arg(long, env = "ARSENAL_URL")]
    pub url: Option<String>,
    /// With `--url`: the bearer credential (an API key or the admin token). Default: the
    /// configured admin token (`ARSENAL_ADMIN_TOKEN`), else the one a local server keeps.
    #[arg(long, env = "ARSENAL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// In-process only: also load the components of this directory; repeatable.
    #[arg(long = "operations", value_name = "DIR")]
    pub operations: Vec<PathBuf>,
}
