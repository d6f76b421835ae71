//! rcp: a drop-in GNU cp that copies each file by the cheapest kernel path that works
//! (reflink, copy_file_range, splice, read/write) and reports which one it took.
//! `run` is the whole program; `main.rs` only maps its result to the exit status.

mod app;
mod args;
mod cp;
pub mod engine;
mod error;
mod quote;
mod report;
mod sched;
mod sys;
mod walk;

pub use app::run;
