//! The baseline WASI p2 every component gets: cli, io, clocks and random, with nothing
//! inherited — an empty environment and arguments, a closed stdin, and stdout/stderr
//! captured into a bounded buffer that the host writes to its log after the call.
//!
//! `wasi:filesystem` and `wasi:sockets` are linked closed: language runtimes import them
//! whether or not the component uses them (CPython does), so they are there, and reach
//! nothing — no directory is opened (but a sandbox's private one, for its workers), and
//! every socket, address and name lookup is denied (wasmtime's defaults, kept).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream, WasiCli, WasiCliView as _};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
use wasmtime_wasi::p2::bindings::{cli, clocks, random};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiView};

/// Bytes of stdout + stderr kept per call; the rest is counted and dropped, never an error
/// to the guest (a Rust guest's `println!` panics when a write fails).
const OUTPUT_CAP: usize = 16 * 1024;

/// Link the baseline WASI interfaces, filesystem and sockets closed.
pub fn add_baseline_to_linker<T: WasiView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
    use wasmtime_wasi::p2::bindings::{filesystem, sockets};
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};
    use wasmtime_wasi_io::bindings::wasi::io;
    io::error::add_to_linker::<T, HasIo>(linker, |t| t.ctx().table)?;
    io::poll::add_to_linker::<T, HasIo>(linker, |t| t.ctx().table)?;
    io::streams::add_to_linker::<T, HasIo>(linker, |t| t.ctx().table)?;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(linker, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(linker, T::clocks)?;
    random::random::add_to_linker::<T, WasiRandom>(linker, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<T, WasiRandom>(linker, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(linker, |t| t.ctx().ctx.random())?;
    cli::exit::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(linker, T::cli)?;
    filesystem::types::add_to_linker::<T, WasiFilesystem>(linker, T::filesystem)?;
    filesystem::preopens::add_to_linker::<T, WasiFilesystem>(linker, T::filesystem)?;
    let network = sockets::network::LinkOptions::default();
    sockets::network::add_to_linker::<T, WasiSockets>(linker, &network, T::sockets)?;
    sockets::instance_network::add_to_linker::<T, WasiSockets>(linker, T::sockets)?;
    sockets::tcp::add_to_linker::<T, WasiSockets>(linker, T::sockets)?;
    sockets::tcp_create_socket::add_to_linker::<T, WasiSockets>(linker, T::sockets)?;
    sockets::udp::add_to_linker::<T, WasiSockets>(linker, T::sockets)?;
    sockets::udp_create_socket::add_to_linker::<T, WasiSockets>(linker, T::sockets)?;
    sockets::ip_name_lookup::add_to_linker::<T, WasiSockets>(linker, T::sockets)?;
    Ok(())
}

/// Projects the store data onto the resource table for `wasi:io`.
struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// A WASI context that grants nothing: no environment, no arguments, no preopens, no
/// socket or name lookup, a closed stdin, and output into `output`.
pub fn wasi_ctx(output: &GuestOutput) -> WasiCtx {
    WasiCtxBuilder::new()
        .stdout(output.stream("stdout"))
        .stderr(output.stream("stderr"))
        .build()
}

/// Where a sandboxed worker's private directory appears to it.
const PRIVATE_DIR: &str = "/data";

/// As [`wasi_ctx`], with `dir` opened (through cap-std, so nothing outside it is
/// reachable) as the worker's only directory, at [`PRIVATE_DIR`].
pub fn wasi_ctx_with_dir(output: &GuestOutput, dir: &std::path::Path) -> wasmtime::Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(output.stream("stdout"))
        .stderr(output.stream("stderr"))
        .preopened_dir(dir, PRIVATE_DIR, wasmtime_wasi::FsPerms::ReadWrite)?;
    Ok(builder.build())
}

/// What a guest wrote to stdout and stderr during one call.
#[derive(Debug, Clone, Default)]
pub struct GuestOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Debug, Default)]
struct Captured {
    lines: Vec<(&'static str, String)>,
    partial: [Vec<u8>; 2],
    kept: usize,
    dropped: usize,
}

impl GuestOutput {
    fn stream(&self, name: &'static str) -> CaptureStream {
        CaptureStream {
            output: self.clone(),
            name,
        }
    }

    /// Take what was written, complete lines first, then any unterminated tail, and the
    /// count of bytes dropped beyond the cap.
    pub fn take(&self) -> (Vec<(&'static str, String)>, usize) {
        let mut captured = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for (index, name) in ["stdout", "stderr"].into_iter().enumerate() {
            let tail = std::mem::take(&mut captured.partial[index]);
            if !tail.is_empty() {
                captured
                    .lines
                    .push((name, String::from_utf8_lossy(&tail).into_owned()));
            }
        }
        let dropped = std::mem::take(&mut captured.dropped);
        captured.kept = 0;
        (std::mem::take(&mut captured.lines), dropped)
    }

    fn write(&self, name: &'static str, bytes: &[u8]) {
        let mut captured = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let room = OUTPUT_CAP.saturating_sub(captured.kept);
        let (kept, dropped) = bytes.split_at(bytes.len().min(room));
        captured.kept += kept.len();
        captured.dropped += dropped.len();
        let index = usize::from(name == "stderr");
        for &byte in kept {
            if byte == b'\n' {
                let line = std::mem::take(&mut captured.partial[index]);
                captured
                    .lines
                    .push((name, String::from_utf8_lossy(&line).into_owned()));
            } else {
                captured.partial[index].push(byte);
            }
        }
    }
}

struct CaptureStream {
    output: GuestOutput,
    name: &'static str,
}

impl IsTerminal for CaptureStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CaptureStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(CaptureStream {
            output: self.output.clone(),
            name: self.name,
        })
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASI p3 guests use this path; the baseline is p2, so writes go nowhere.
        Box::new(tokio::io::sink())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CaptureStream {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CaptureStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.output.write(self.name, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_split_into_lines_per_stream_and_bounded() {
        let output = GuestOutput::default();
        output.write("stdout", b"one\ntw");
        output.write("stderr", b"err\n");
        output.write("stdout", b"o\n");
        output.write("stdout", b"tail");
        let (lines, dropped) = output.take();
        assert_eq!(
            lines,
            [
                ("stdout", "one".to_owned()),
                ("stderr", "err".to_owned()),
                ("stdout", "two".to_owned()),
                ("stdout", "tail".to_owned())
            ]
        );
        assert_eq!(dropped, 0);

        output.write("stdout", &vec![b'x'; OUTPUT_CAP + 10]);
        let (lines, dropped) = output.take();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].1.len(), OUTPUT_CAP);
        assert_eq!(dropped, 10);
    }
}
