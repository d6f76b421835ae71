//! The rcp command: argv → parse → resolve → plan → walk → exit status (0, or 1 if
//! anything failed; 130/143 when interrupted), with the process-wide setup the copy needs.

use std::ffi::OsString;

use crate::cli::{self, ParseError};
use crate::console::{BarSlot, Console};
use crate::decide::{self, Request};
use crate::generate;
use crate::launcher;
use crate::progress::{Monitor, Show};
use crate::totals::Sources;
use cptree::options::{Backup, Options};
use cptree::plan::{self, Plan, PlanError};
use cptree::report::{self, Reporter};
use cptree::spread::Spread;
use cptree::{UsageError, signals as interrupt};

/// Runs rcp with `args` (argv, program name first) and returns the exit status.
pub(crate) fn run(args: Vec<OsString>) -> i32 {
    cptree::run_began();
    let stdout_closed = stdout_was_closed();
    let program =
        args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_else(|| "rcp".into());
    let launched = launcher::ranks(|name| std::env::var(name).ok());
    // Of several ranks, rank 0 speaks for all (every rank reads the same argv).
    let speaks = launched.as_ref().is_none_or(|ranks| ranks.rank == 0);
    let opts = match parse(&program, &args, speaks) {
        Ok(opts) => opts,
        Err(status) => return status,
    };
    match launched {
        Some(ranks) => run_ranks(program, opts, &ranks, stdout_closed),
        None => run_copy(program, opts, stdout_closed, None),
    }
}

/// N ranks of a launcher, each copying everything: refused before anything is touched.
#[cfg(not(feature = "mpi"))]
fn run_ranks(program: String, _: Options, ranks: &launcher::Ranks, _: bool) -> i32 {
    report::message(&program, &launcher::refusal(ranks));
    1
}

/// One rank of a copy spread over a launcher's ranks: rank 0 runs rcp as a single process
/// would, sharing its walk with the others (`cptree::spread`); the others copy the trees
/// they are given and print nothing themselves.
#[cfg(feature = "mpi")]
fn run_ranks(program: String, opts: Options, ranks: &launcher::Ranks, stdout_closed: bool) -> i32 {
    if let Some(refusal) = launcher::refusal_of(&opts) {
        if ranks.rank == 0 {
            report::message(&program, &refusal);
        }
        return 1;
    }
    let name = program.clone();
    let spread = move |ranks| {
        let spread = cptree::spread::Spread::new(ranks, &opts);
        match spread.rank() {
            0 => run_copy(program, opts, stdout_closed, Some(spread)),
            _ => copy_as_rank(program, &opts, spread),
        }
    };
    crate::transport::run(spread).unwrap_or_else(|| {
        if ranks.rank == 0 {
            report::message(&name, "cannot initialise MPI");
        }
        1
    })
}

/// A rank other than 0: copies what it is given; its output goes to rank 0, which says
/// how the job went (this rank's status is 0).
#[cfg(feature = "mpi")]
fn copy_as_rank(program: String, opts: &Options, mut spread: cptree::spread::Spread) -> i32 {
    let _ = interrupt::install();
    if opts.recursive {
        cptree::raise_open_file_limit();
    }
    let out = Reporter::new(program, opts, spread.relay());
    spread.copy(opts, None, &out, None);
    0
}

/// Rank 0 ends before copying: the other ranks are told so.
fn end_early(spread: Option<Spread>, status: i32) -> i32 {
    if let Some(spread) = spread {
        spread.abandon();
    }
    status
}

/// rcp as one process (or as rank 0 of a `spread` copy): resolve → plan → walk → exit
/// status.
fn run_copy(program: String, opts: Options, stdout_closed: bool, spread: Option<Spread>) -> i32 {
    // GNU checks this before it looks at the operands.
    if opts.preserve.require_context && !selinux_enabled() {
        let text = "cannot preserve security context without an SELinux-enabled kernel";
        report::message(&program, text);
        return end_early(spread, 1);
    }
    if opts.resume && !opts.preserve.timestamps {
        let text = "warning: --resume without preserved timestamps (-a, -p, \
                    --preserve=timestamps) skips no file: every one is copied again";
        report::message(&program, text);
    }
    // The operands are looked at before the report is opened: it may be none of them.
    let planned = plan::plan(&opts);
    if let Some(report) = &opts.report_file {
        let pairs = planned.as_ref().ok().map(|plan| plan.pairs.as_slice());
        if let Some(refusal) = report::clash::clash(report, &opts, pairs) {
            report::message(&program, &refusal);
            return end_early(spread, 1);
        }
    }
    let bar = BarSlot::default();
    let out = match Console::new(program.clone(), &opts, bar.clone()) {
        Ok(console) => {
            let console = console.stdout_closed(stdout_closed);
            Reporter::new(program.clone(), &opts, Box::new(console))
        }
        Err((what, e)) => {
            let errno = rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO);
            report::message(&program, &format!("{what}: {}", cptree::strerror(errno)));
            return end_early(spread, 1);
        }
    };
    let mut plan = match planned {
        Ok(plan) => plan,
        // Nothing is copied; a report still ends with its summary.
        Err(PlanError::Usage(usage)) => {
            out.usage(&usage);
            return end_early(spread, out.finish(1));
        }
        Err(PlanError::Target(error)) => {
            out.printer().error(&error);
            return end_early(spread, out.finish(1));
        }
    };
    let opts = onto_own_backup(&mut plan, opts);
    if let Err(e) = interrupt::install() {
        let errno = rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO);
        out.printer().message(&format!("cannot handle signals: {}", cptree::strerror(errno)));
    }
    if opts.recursive {
        cptree::raise_open_file_limit();
    }
    copy_watched(&opts, &plan, &out, (bar, spread));
    let status = match interrupt::stopped_by() {
        Some((name, status)) => {
            out.printer().message(&format!("interrupted by {name}"));
            status
        }
        None => i32::from(out.failed()),
    };
    out.finish(status)
}

/// Copies `plan`, with the progress thread watching (the bar under `--progress`, status
/// lines on SIGUSR1) once the copy is worth watching.
fn copy_watched(
    opts: &Options,
    plan: &Plan,
    out: &Reporter,
    (bar, spread): (BarSlot, Option<Spread>),
) {
    std::thread::scope(|scope| {
        // A tree spread over ranks may be too big to walk twice: no count of what is to come.
        let sources = match spread {
            Some(_) => Sources::uncounted(opts),
            None => Sources::new(opts, plan.pairs.iter().map(|p| p.src.clone()).collect()),
        };
        let show = Show::choose(opts.progress);
        // Links and attributes move no data: SIGUSR1 has no bytes to tell of, and no
        // thread (its stack counts against `ulimit -v`) waits to be asked.
        let moves_nothing = opts.hard_link || opts.symbolic_link || !opts.data;
        let mut monitor = if show == Show::OnRequest && moves_nothing {
            None
        } else {
            Monitor::new(scope, show, sources, out, bar)
        };
        let watch = monitor.as_mut().map(|m| m as &mut dyn cptree::Watch);
        match spread {
            Some(mut spread) => spread.copy(opts, Some(plan), out, watch),
            None => cptree::copy_all(opts, plan, out, watch),
        }
        if let Some(monitor) = monitor {
            monitor.finish();
        }
    });
}

/// The options argv asks for; `Err` holds the exit status when rcp is done already
/// (`--help`, `--version`, `--generate`, a usage error).
/// Only a process that `speaks` prints (of several ranks, rank 0).
fn parse(program: &str, args: &[OsString], speaks: bool) -> Result<Options, i32> {
    let parsed = match cli::parse(args) {
        Ok(parsed) => parsed,
        Err(ParseError::Exit(e)) => {
            if speaks {
                let _ = e.print();
            }
            return Err(0);
        }
        Err(ParseError::Usage(message)) => {
            if speaks {
                report::usage(program, &UsageError::new(message));
            }
            return Err(1);
        }
    };
    // GNU's option loop: its warnings as it meets them, then what it asks for.
    let decided = decide::decide(parsed);
    for warning in decided.warnings.iter().filter(|_| speaks) {
        report::message(program, warning);
    }
    match decided.request {
        Ok(Request::Copy(opts)) => Ok(*opts),
        // Rank 0 prints it, for every rank.
        Ok(_) if !speaks => Err(0),
        Err(_) if !speaks => Err(1),
        Ok(Request::Help) => Err(report::print_stdout(program, cli::help_text(program).as_bytes())),
        Ok(Request::Version) => Err(report::print_stdout(program, cli::version_text().as_bytes())),
        Ok(Request::Generate(what)) => Err(match generate::generate(&what) {
            Ok(text) => report::print_stdout(program, &text),
            Err(usage) => {
                report::usage(program, &usage);
                1
            }
        }),
        Err(usage) => {
            report::usage(program, &usage);
            Err(1)
        }
    }
}

/// `cp -fb f f` copies to the backup name, without a further backup.
fn onto_own_backup(plan: &mut Plan, opts: Options) -> Options {
    let mut any = false;
    for pair in plan.pairs.iter_mut().filter(|p| p.onto_own_backup) {
        pair.dst = cptree::backup_name(&pair.dst, opts.backup, &opts.suffix);
        any = true;
    }
    let mut opts = opts;
    if any {
        opts.backup = Backup::None;
    }
    opts
}

/// Whether the kernel runs SELinux (libselinux's test: selinuxfs is mounted). rcp copies no
/// security contexts; with SELinux on, `--preserve=context` is accepted and does nothing.
fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
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
