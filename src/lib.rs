//! rcp: a drop-in GNU cp that copies each regular file by the cheapest kernel path that
//! works — a reflink (`FICLONE`), `copy_file_range`, `splice` through a pipe, or
//! `read`/`write` — and reports which one it took, and why it fell back.
//!
//! The library has three ways in, smallest first:
//! - [`engine::copy`]: one open file's data to another open file, by the strategy chain,
//!   returning a [`Copied`] record;
//! - [`Copy`](struct@Copy): a whole copy (files, trees) with cp's rules, returning or streaming one
//!   [`Record`] per entry;
//! - [`run`]: the rcp command itself, from argv to exit status (what the binary calls).
//!
//! ```no_run
//! let summary = rcp::Copy::new(["src"], "dst").recursive(true).run()?;
//! let failed = summary.records.iter().filter(|r| r.error().is_some()).count();
//! println!("{} entries, {failed} failed", summary.records.len());
//! # Ok::<(), rcp::SetupError>(())
//! ```
#![deny(missing_docs)]

mod api;
mod app;
mod args;
mod cp;
mod error;
mod quote;
mod report;
mod sched;
mod sys;
mod walk;

pub use api::{Copy, Preserve, SetupError, Summary};
pub use app::run;
pub use copychain as engine;
pub use copychain::{Copied, Errno, Reflink, Sparse, Strategy};
pub use error::{Error, Op};
pub use report::{Kind, Outcome, Record, Skip};
