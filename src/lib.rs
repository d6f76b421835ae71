//! rcp: a drop-in GNU cp that copies each file by the cheapest kernel path that works
//! (reflink, copy_file_range, splice, read/write) and reports which one it took.
//! `run` is the whole program; `main.rs` only maps its result to the exit status.

mod args;
mod cp;
pub mod engine;
mod error;
mod quote;
mod report;
mod sched;
mod sys;

use std::ffi::OsString;

use crate::args::cli::ParseError;
use crate::args::options::{Backup, Options};
use crate::args::plan::{Pair, PlanError};
use crate::args::{cli, generate, options, plan};
use crate::cp::Ctx;
use crate::cp::parents;
use crate::report::Reporter;
use crate::report::progress;
use crate::sys::interrupt;

/// Runs rcp with `args` (argv, program name first) and returns the exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    let stdout_closed = stdout_was_closed();
    let program =
        args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_else(|| "rcp".into());
    let parsed = match cli::parse(&args) {
        Ok(parsed) => parsed,
        Err(ParseError::Exit(e)) => {
            let _ = e.print();
            return 0;
        }
        Err(ParseError::Usage(message)) => {
            report::usage(&program, &options::UsageError::new(message));
            return 1;
        }
    };
    if parsed.cli.help {
        return report::print_stdout(&program, cli::help_text(&program).as_bytes());
    }
    if parsed.cli.version {
        return report::print_stdout(&program, cli::version_text().as_bytes());
    }
    if let Some(what) = parsed.cli.generate.clone() {
        return generate::generate(&program, &what);
    }
    let opts = match Options::resolve(parsed) {
        Ok(opts) => opts,
        Err(error) => {
            report::usage(&program, &error);
            return 1;
        }
    };
    if let Some(warning) = &opts.context_warning {
        report::message(&program, warning);
    }
    let out = match Reporter::new(program.clone(), &opts) {
        Ok(out) => out.stdout_closed(stdout_closed),
        Err((what, e)) => {
            let errno = rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO);
            report::message(&program, &format!("{what}: {}", error::strerror(errno)));
            return 1;
        }
    };
    let plan = match plan::plan(&opts) {
        Ok(plan) => plan,
        Err(PlanError::Usage(usage)) => {
            out.usage(&usage);
            return 1;
        }
        Err(PlanError::Target(error)) => {
            out.error(&error);
            return 1;
        }
    };
    // `cp -fb f f` copies to the backup name without a further backup.
    let no_backup;
    let opts = if plan.pairs.iter().any(|p| p.no_backup) {
        no_backup = Options { backup: Backup::None, ..opts.clone() };
        &no_backup
    } else {
        &opts
    };
    if let Err(e) = interrupt::install() {
        out.message(&format!("cannot handle signals: {e}"));
    }
    if opts.recursive {
        raise_open_file_limit();
    }
    let umask = current_umask();
    let root = rustix::process::geteuid().is_root();
    std::thread::scope(|scope| {
        let bar = opts.progress.then(|| progress::Bar::start(scope, known_total(&plan.pairs)));
        let out = match &bar {
            Some(b) => out.with_bar(b.bar.clone()),
            None => out,
        };
        let pool = sched::Pool::new(scope, opts, opts.jobs, umask, root);
        let mut ctx = Ctx::new(opts, out, umask, root, plan.track_operands, Some(Box::new(pool)));
        for pair in &plan.pairs {
            if interrupt::stopping() {
                break;
            }
            copy_pair(pair, &mut ctx);
        }
        ctx.close_pool();
        if let Some(bar) = &bar {
            bar.finish();
        }
        if let Some((name, status)) = interrupt::stopped_by() {
            ctx.out.message(&format!("interrupted by {name}"));
            ctx.out.finish();
            return status;
        }
        let written = ctx.out.finish();
        i32::from(ctx.failed || !written)
    })
}

/// The bytes to copy, when every source is a regular file (for the progress bar's ETA).
fn known_total(pairs: &[Pair]) -> Option<u64> {
    pairs.iter().try_fold(0u64, |sum, pair| {
        let st = rustix::fs::stat(&pair.src).ok()?;
        let regular =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
        regular.then_some(sum + st.st_size as u64)
    })
}

/// Copies one operand, making and then fixing up its `--parents` directories.
fn copy_pair(pair: &Pair, ctx: &mut Ctx) {
    let Some(target) = &pair.parents_under else {
        return ctx.copy_operand(&pair.src, &pair.dst, pair.nonexistent);
    };
    let rel = sys::path::strip_slashes(&pair.src);
    let Some(made) = parents::make_parents(ctx, target, &rel) else {
        ctx.failed = true;
        return;
    };
    ctx.copy_operand(&pair.src, &pair.dst, pair.nonexistent);
    ctx.drain();
    if !parents::protect(ctx, &made) {
        ctx.failed = true;
    }
}

/// Whether standard output was closed when rcp started. Rust's runtime puts /dev/null
/// (opened read-write) on closed fds 0-2 before `main`, so no file rcp opens can become
/// "standard output"; a redirection to /dev/null by a shell is write-only. GNU cp fails
/// (`write error: Bad file descriptor`, exit status 1) when it writes to a closed stdout, and
/// so does rcp.
fn stdout_was_closed() -> bool {
    use rustix::fs::{FileType, OFlags, fcntl_getfl, fstat, major, minor};
    let stdout = std::io::stdout();
    let std::result::Result::Ok(st) = fstat(&stdout) else { return true };
    let null = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
        && (major(st.st_rdev), minor(st.st_rdev)) == (1, 3);
    null && fcntl_getfl(&stdout).is_ok_and(|f| f & OFlags::ACCMODE == OFlags::RDWR)
}

/// The process umask (read by setting it and putting it back, before any file is made).
fn current_umask() -> u32 {
    use rustix::fs::Mode;
    let old = rustix::process::umask(Mode::empty());
    rustix::process::umask(old);
    old.bits()
}

/// The walk holds two directory fds per level of the tree: lift the soft limit on open
/// files to the hard one, so a deep tree is not cut short at 500 levels by the default 1024.
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit { current: limit.maximum, ..limit },
        );
    }
}
