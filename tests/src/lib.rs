//! Test artifacts: the paths of the purpose-built test guests, built by this crate's build
//! script from `guests/` (Rust, for wasm32-wasip2) and `wat/`, plus a few hand-made files.
//!
//! Most guests misbehave on purpose (loop, allocate, recurse, panic, flood the output,
//! grow a table) or must be refused by the host (route conflict, invalid path, unknown or
//! forbidden import, future contract version, not a component, malformed); a few are
//! well-behaved fixtures (`typed`, `slow_ok`, `needs_system`, `echo_v2`). Each guest's
//! crate documentation says what it does and what the host should make of it.

/// One constant per guest holding the absolute path of its `.wasm`, named after the guest
/// in upper case (`LOOP_FOREVER`, `TABLE_BOMB`, ...), and `ALL`, every (name, path).
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// The bytes of a guest, e.g. `read(guests::LOOP_FOREVER)`.
///
/// # Panics
///
/// If the file cannot be read: the build script made it, so that is a broken build.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("failed to read test guest {path}: {error}"))
}

/// Resident memory of this process, in bytes (Linux).
///
/// # Panics
///
/// If `/proc/self/statm` cannot be read: the tests that measure memory need Linux.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm is readable");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .expect("statm has a resident field");
    pages * 4096
}

/// The `p` quantile (0 to 1) of `samples`, which it sorts. For the benches.
pub fn percentile(samples: &mut [std::time::Duration], p: f64) -> std::time::Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p) as usize]
}

/// `component` with a custom section named `arsenal-test` holding `tag` appended: the
/// same code under a different content hash, so it misses every compile cache.
pub fn distinct(component: &[u8], tag: &str) -> Vec<u8> {
    let mut out = component.to_vec();
    wasm_encoder::Section::append_to(
        &wasm_encoder::CustomSection {
            name: "arsenal-test".into(),
            data: tag.as_bytes().into(),
        },
        &mut out,
    );
    out
}

/// A bench's command line: whether it is the CI smoke run (`--test`, criterion's flag,
/// which the plain benches read too) and the numbers given, in order.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    pub smoke: bool,
    pub numbers: Vec<usize>,
}

impl BenchArgs {
    pub fn read() -> BenchArgs {
        let args: Vec<String> = std::env::args().skip(1).collect();
        BenchArgs {
            smoke: args.iter().any(|arg| arg == "--test"),
            numbers: args.iter().filter_map(|arg| arg.parse().ok()).collect(),
        }
    }

    /// The `index`th number given, else `smoke` in a smoke run, else `full`.
    pub fn size(&self, index: usize, full: usize, smoke: usize) -> usize {
        self.numbers
            .get(index)
            .copied()
            .unwrap_or(if self.smoke { smoke } else { full })
    }
}
