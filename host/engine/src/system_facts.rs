//! Facts about the host process and machine, read from `/proc` on Linux. Each reader
//! returns `None` where the fact is not available rather than guessing.

use std::fs;

/// Total memory of the machine, in bytes.
pub fn memory_total_bytes() -> Option<u64> {
    meminfo_field("MemTotal:")
}

/// Memory available for new work, in bytes.
pub fn memory_available_bytes() -> Option<u64> {
    meminfo_field("MemAvailable:")
}

fn meminfo_field(field: &str) -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Resident memory of this process, in bytes.
pub fn rss_bytes() -> Option<u64> {
    let text = fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    // `sysconf` would need `unsafe` (denied in this crate); 4 KiB is the page size of
    // every Linux target Arsenal is built for.
    4096
}

/// 1, 5 and 15 minute load averages.
pub fn load_average() -> Vec<f64> {
    fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The machine's host name.
pub fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Logical CPUs available to this process.
pub fn cpus() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}
