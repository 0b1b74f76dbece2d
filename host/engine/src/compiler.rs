//! Compiling code that came from outside the binary (uploads, watched and configured
//! directories) with a time bound and a bound on how many compile at once.
//!
//! Cranelift cannot be interrupted once it starts on a component, so a compilation that
//! must be stoppable runs in a child process: the `arsenal` binary runs itself with the
//! hidden `compile-child` command, hands it the component on stdin and the engine's
//! [`EngineRecipe`], and kills it when the bound passes. The child writes only an
//! artifact file; the server stores it in its own compile cache and loads it from there,
//! checked against the recorded hash. Waiting on a child is asynchronous, so serving never
//! stalls while something compiles.
//!
//! A host embedded in another program (a test, an application using the library) has no
//! `arsenal` executable to run; it compiles on a blocking thread instead, still bounded in
//! number, and still answers `compile_timeout` at the bound — but that thread runs on to
//! the end of its compilation, holding its slot, because a thread cannot be killed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::engine::EngineRecipe;
use crate::settings::CompileSettings;

/// The hidden subcommand the compiler child runs.
pub(crate) const CHILD_COMMAND: &str = "compile-child";

/// Why a compilation produced no artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("compilation took longer than its bound of {} s and was stopped", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("{0}")]
    Failed(String),
    #[error("the compiler process could not run: {0}")]
    Child(String),
}

/// Where compilations run.
#[derive(Debug, Clone)]
enum Isolation {
    /// In a child process running this executable.
    Child(PathBuf),
    /// On a blocking thread of this process.
    Thread,
}

/// Compiles components to artifacts for an engine, bounded in time and concurrency.
#[derive(Debug)]
pub struct Compiler {
    isolation: Isolation,
    timeout: Duration,
    max_concurrent: usize,
    slots: Arc<Semaphore>,
    load: Arc<Load>,
}

/// How busy the compiler is and has been.
#[derive(Debug, Default)]
struct Load {
    running: AtomicUsize,
    waiting: AtomicUsize,
    most_at_once: AtomicUsize,
}

/// What the compiler reports about its bound on concurrent compilations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CompilerFacts {
    /// `compile.max_concurrent`.
    pub max_concurrent: usize,
    /// Compilations holding a slot now (for a thread, until its work is done).
    pub running: usize,
    /// Compilations waiting for a slot now.
    pub waiting: usize,
    /// The most that ever held a slot at the same time.
    pub most_at_once: usize,
}

/// A compilation holding one of the slots; counted as running until dropped.
struct Running {
    load: Arc<Load>,
    _slot: OwnedSemaphorePermit,
}

impl Running {
    fn new(load: &Arc<Load>, slot: OwnedSemaphorePermit) -> Running {
        let now = load.running.fetch_add(1, Ordering::AcqRel) + 1;
        load.most_at_once.fetch_max(now, Ordering::AcqRel);
        Running {
            load: load.clone(),
            _slot: slot,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Counted out before the slot is given back (fields drop after this), so the count
        // never shows more than the slots.
        self.load.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A compilation waiting for a slot; counted until dropped (also when its request goes).
struct Waiting<'a>(&'a Load);

impl<'a> Waiting<'a> {
    fn new(load: &'a Load) -> Waiting<'a> {
        load.waiting.fetch_add(1, Ordering::AcqRel);
        Waiting(load)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Compiler {
    pub fn new(settings: &CompileSettings) -> Compiler {
        Compiler {
            isolation: match &settings.program {
                Some(program) => Isolation::Child(program.clone()),
                None => Isolation::Thread,
            },
            timeout: Duration::from_millis(settings.timeout_ms),
            max_concurrent: settings.max_concurrent.max(1),
            slots: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
            load: Arc::default(),
        }
    }

    /// How many compilations run and wait now, and the most that ran at once.
    pub fn facts(&self) -> CompilerFacts {
        CompilerFacts {
            max_concurrent: self.max_concurrent,
            running: self.load.running.load(Ordering::Acquire),
            waiting: self.load.waiting.load(Ordering::Acquire),
            most_at_once: self.load.most_at_once.load(Ordering::Acquire),
        }
    }

    /// Whether compilations run in a child process that can be killed.
    pub fn isolated(&self) -> bool {
        matches!(self.isolation, Isolation::Child(_))
    }

    /// Compile `bytes` for the engine `recipe` describes; the artifact's bytes. The time
    /// bound counts from when a slot is free, not from the call.
    pub async fn compile(
        &self,
        recipe: EngineRecipe,
        bytes: &[u8],
    ) -> Result<Vec<u8>, CompileError> {
        let waiting = Waiting::new(&self.load);
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the compile slots are never closed");
        drop(waiting);
        let slot = Running::new(&self.load, slot);
        match &self.isolation {
            Isolation::Child(program) => {
                let compiled = in_child(program, recipe, bytes, self.timeout).await;
                drop(slot);
                compiled
            }
            Isolation::Thread => {
                let bytes = bytes.to_vec();
                let compiling = tokio::task::spawn_blocking(move || {
                    // The slot goes with the thread: it is free only when the work is.
                    let _slot = slot;
                    compile_here(recipe, &bytes)
                });
                match tokio::time::timeout(self.timeout, compiling).await {
                    Ok(Ok(compiled)) => compiled,
                    Ok(Err(panicked)) => Err(CompileError::Failed(format!(
                        "the compiler panicked: {panicked}"
                    ))),
                    Err(_) => Err(CompileError::Timeout(self.timeout)),
                }
            }
        }
    }
}

/// Compile in this process.
pub(crate) fn compile_here(recipe: EngineRecipe, bytes: &[u8]) -> Result<Vec<u8>, CompileError> {
    let engine = wasmtime::Engine::new(&recipe.config())
        .map_err(|error| CompileError::Child(format!("cannot build the engine: {error:#}")))?;
    engine
        .precompile_component(bytes)
        .map_err(|error| CompileError::Failed(format!("{error:#}")))
}

async fn in_child(
    program: &Path,
    recipe: EngineRecipe,
    bytes: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, CompileError> {
    let workspace = tempfile::tempdir()
        .map_err(|error| CompileError::Child(format!("no temporary directory: {error}")))?;
    let artifact = workspace.path().join("artifact.cwasm");
    let recipe_json = serde_json::to_string(&recipe).expect("a recipe serializes");
    let mut child = tokio::process::Command::new(program)
        .arg(CHILD_COMMAND)
        .arg("--recipe")
        .arg(&recipe_json)
        .arg("--out")
        .arg(&artifact)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("ARSENAL_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| CompileError::Child(format!("{}: {error}", program.display())))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let run = async {
        // A child that dies early closes its stdin; its exit status says why.
        let _ = stdin.write_all(bytes).await;
        drop(stdin);
        let mut said = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stderr, &mut said).await;
        child.wait().await.map(|status| (status, said))
    };
    let outcome = tokio::time::timeout(timeout, run).await;
    let (status, said) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(error)) => return Err(CompileError::Child(error.to_string())),
        Err(_) => {
            // Killed and reaped before answering: nothing of it outlives the request.
            let _ = child.kill().await;
            return Err(CompileError::Timeout(timeout));
        }
    };
    let said = String::from_utf8_lossy(&said).trim().to_owned();
    if !status.success() {
        return Err(match status.code() {
            Some(FAILED) => CompileError::Failed(said),
            _ => CompileError::Child(format!("the compiler process ended with {status}: {said}")),
        });
    }
    std::fs::read(&artifact)
        .map_err(|error| CompileError::Child(format!("the compiler wrote no artifact: {error}")))
}

/// The child's exit code for a component that does not compile (as opposed to a child
/// that could not do its work at all).
const FAILED: i32 = 3;

/// The compiler child's `main`: read a component from stdin, compile it for `recipe`, write
/// the artifact to `out`. Exit 0 on success, [`FAILED`] when the component does not
/// compile (the reason on stderr), 2 when the child itself could not work.
pub fn child_main(recipe: &str, out: &Path) -> u8 {
    let recipe: EngineRecipe = match serde_json::from_str(recipe) {
        Ok(recipe) => recipe,
        Err(error) => {
            eprintln!("invalid engine recipe: {error}");
            return 2;
        }
    };
    let mut bytes = Vec::new();
    if let Err(error) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes) {
        eprintln!("cannot read the component from stdin: {error}");
        return 2;
    }
    match compile_here(recipe, &bytes) {
        Ok(artifact) => {
            let written = std::fs::File::create(out).and_then(|mut file| {
                file.write_all(&artifact)?;
                file.sync_all()
            });
            match written {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!("cannot write {}: {error}", out.display());
                    2
                }
            }
        }
        Err(CompileError::Failed(reason)) => {
            eprintln!("{reason}");
            FAILED as u8
        }
        Err(error) => {
            eprintln!("{error}");
            2
        }
    }
}
