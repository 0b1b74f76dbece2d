//! Compile-cache lookups of operation components, counted by the loader where it asks the
//! cache and read at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};

/// Hits and misses of one host's compile cache.
#[derive(Debug, Default)]
pub struct CacheLookups {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheLookups {
    /// Count one lookup: a verified artifact was found, or the component must compile.
    pub fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}
