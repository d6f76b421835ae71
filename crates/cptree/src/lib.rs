//! cptree: GNU cp's rules over files and trees — the decisions per entry (same file,
//! backups, `-n`/`-u`/`-i`, links, attributes), the walk relative to open directories, the
//! scheduler of `-j`, `--dry-run`, `--resume`, `--atomic`, `--verify`, and one record per
//! entry — with every regular file's data copied by the `copychain` engine. The `rcp`
//! command is one user of it; it has no command line and prints only through a `Sink`.
//!
//! Three ways in:
//! - [`Copier`]: a whole copy (files, trees) set up field by field, returning or streaming
//!   one [`Record`] per entry;
//! - the run itself, as the `rcp` command drives it: [`options::Options`] (what a command
//!   line resolves to), [`plan::plan`] (operands to pairs), a [`report::Reporter`] in front
//!   of a [`report::Sink`], and [`copy_all`];
//! - one rank of a run spread over processes a launcher started ([`spread::Spread`]: the
//!   same run, its walk shared with the other ranks over a transport the caller provides).
//!
//! ```no_run
//! let summary = cptree::Copier::new(["src"], "dst").recursive(true).run()?;
//! let failed = summary.records.iter().filter(|r| r.error().is_some()).count();
//! println!("{} entries, {failed} failed", summary.records.len());
//! # Ok::<(), cptree::SetupError>(())
//! ```
#![deny(missing_docs)]

mod api;
mod cp;
mod error;
pub mod exclude;
pub mod options;
pub mod plan;
mod quote;
pub mod report;
mod sched;
pub mod select;
pub mod spread;
mod sys;
mod walk;

pub use api::{Copier, Preserve, SetupError, Summary};
pub use copychain as engine;
pub use copychain::{Copied, Errno, Reflink, Sparse, Stop, Strategy};
pub use cp::backup::backup_name;
pub use error::{Error, Op, UsageError, strerror};
pub use quote::{quote, quote_str};
pub use report::{Earlier, Kind, Outcome, Record, Skip};
pub use sys::interrupt as signals;
pub use sys::process::{raise_open_file_limit, run_began, terminals};
pub use walk::{Watch, copy_all};
