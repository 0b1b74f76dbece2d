//! The process runtime on its own, with real worker components (built by `arsenal-tests`):
//! the process table, supervisors and workers, without the host above them.

mod processes;
mod supervisors;
mod support;
mod workers;

pub(crate) use support::*;
