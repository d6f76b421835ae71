//! rcp: a drop-in GNU cp that copies each file by the cheapest kernel path that works
//! (reflink, copy_file_range, splice, read/write) and reports which one it took.
//! `run` is the whole program; `main.rs` only maps its result to the exit status.

pub mod cli;
pub mod engine;
pub mod error;
pub mod file;
pub mod options;
pub mod plan;
pub mod quote;
pub mod report;
pub mod tree;

use std::ffi::OsString;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::Cli;
use crate::engine::Worker;
use crate::options::{Options, UsageError};
use crate::plan::PlanError;
use crate::report::Reporter;
use crate::tree::Ctx;

/// Runs rcp with `args` (argv, program name first) and returns the exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    let program =
        args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_else(|| "rcp".into());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&program, e),
    };
    let opts = match Options::resolve(cli) {
        Ok(opts) => opts,
        Err(error) => {
            report::usage(&program, &error);
            return 1;
        }
    };
    let out = match Reporter::new(program.clone(), &opts) {
        Ok(out) => out,
        Err((what, e)) => {
            let errno = rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO);
            report::message(&program, &format!("{what}: {}", error::strerror(errno)));
            return 1;
        }
    };
    let pairs = match plan::plan(&opts) {
        Ok(pairs) => pairs,
        Err(PlanError::Usage(usage)) => {
            out.usage(&usage);
            return 1;
        }
        Err(PlanError::Target(error)) => {
            out.error(&error);
            return 1;
        }
    };
    let mut ctx =
        Ctx { opts: &opts, worker: Worker::default(), out, umask: current_umask(), failed: false };
    for pair in &pairs {
        tree::copy_operand(pair, &mut ctx);
    }
    ctx.out.finish();
    i32::from(ctx.failed)
}

/// The process umask (read by setting it and putting it back, before any file is made).
fn current_umask() -> u32 {
    use rustix::fs::Mode;
    let old = rustix::process::umask(Mode::empty());
    rustix::process::umask(old);
    old.bits()
}

/// `--help` and `--version` exit 0; every other parse error is a usage error with status 1.
fn clap_exit(program: &str, e: clap::Error) -> i32 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            let message = first.strip_prefix("error: ").unwrap_or(first);
            report::usage(program, &UsageError::new(message));
            1
        }
    }
}
