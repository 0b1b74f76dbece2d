//! The `arsenal` command line: argument definitions and the commands behind them.

mod args;
mod check;
mod commands;
mod credentials;
mod scaffold;
mod target;

pub use args::{Cli, Command, LogFormat};
pub use commands::run;
pub use scaffold::{Lang, typings};
