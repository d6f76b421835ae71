//! The library API: a whole copy, built with `Copier` and run as the rcp command runs it,
//! handing out one `Record` per entry. The builder sets `Options` field by field, as the
//! command line would (`rcp`'s tests check that the two agree), and goes through the same
//! plan, GNU rules and walk.

use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::channel;

use crate::error::Error;
use crate::exclude::{Given, Patterns};
use crate::options::{Attributes, Deref, Options};
use crate::plan::{self, PlanError};
use crate::report::sink::{Event, Library};
use crate::report::{Record, Reporter};
use crate::sys::process;
use crate::walk;
use copychain::{Policy, Reflink, Sparse, Stop};

/// A copy of one or more sources to a destination, with GNU cp's rules: one source to a
/// path that is not a directory copies to that path; otherwise each source goes into the
/// destination directory under its own name.
///
/// ```no_run
/// use cptree::{Copier, Preserve, Reflink};
///
/// let summary = Copier::new(["photos"], "/backup")
///     .recursive(true)
///     .reflink(Reflink::Auto)
///     .preserve(Preserve::ALL)
///     .run()?;
/// for record in &summary.records {
///     println!("{} -> {}", record.source.display(), record.destination.display());
/// }
/// # Ok::<(), cptree::SetupError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Copier {
    sources: Vec<PathBuf>,
    destination: PathBuf,
    recursive: bool,
    reflink: Reflink,
    sparse: Sparse,
    preserve: Preserve,
    dereference: Option<bool>,
    jobs: Option<usize>,
    atomic: bool,
    resume: bool,
    verify: bool,
    dry_run: bool,
    exclude: Vec<String>,
    stop: Option<Stop>,
}

/// Which attributes a copy carries over (`--preserve=...`); none by default, as with cp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Preserve {
    /// Permission bits and ACLs.
    pub mode: bool,
    /// Owner and group (where the process may set them).
    pub ownership: bool,
    /// Access and modification times.
    pub timestamps: bool,
    /// Hard links among the sources stay hard links in the copy.
    pub links: bool,
    /// Extended attributes, kept as `cp -a` and `--preserve=all` keep them: an xattr the
    /// destination cannot take is a message, not a failure (GNU's `--preserve=xattr`,
    /// named alone, would fail the entry).
    pub xattr: bool,
}

impl Preserve {
    /// Everything `cp -a` keeps (`--preserve=all`, less SELinux contexts).
    pub const ALL: Preserve =
        Preserve { mode: true, ownership: true, timestamps: true, links: true, xattr: true };

    /// The attributes as `--preserve=LIST` sets them (GNU: failing to keep one is an
    /// error), xattrs as `--preserve=all` keeps them (a destination without them is no
    /// error: `ALL` is `cp -a`'s, as documented).
    fn attributes(self) -> Attributes {
        let Preserve { mode, ownership, timestamps, links, xattr } = self;
        let any = mode || ownership || timestamps || links || xattr;
        let mut attributes = Attributes::default();
        (attributes.mode, attributes.ownership, attributes.timestamps) =
            (mode, ownership, timestamps);
        (attributes.links, attributes.xattr) = (links, xattr);
        attributes.required = any;
        attributes
    }
}

/// How a copy ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Every entry's record, in order (empty after `run_with`, which hands them out).
    pub records: Vec<Record>,
    /// What rcp would have printed on stderr that no record carries: warnings, and
    /// attribute failures (an entry's own failure is in its record's `error`).
    pub messages: Vec<String>,
    /// Whether anything failed: the rcp command would exit with status 1.
    pub failed: bool,
    /// The copy was asked to stop (`Copier::stop`) before it was done: entries not reached
    /// have no record, the file being written when it stopped failed (ECANCELED).
    pub stopped: bool,
}

/// Why a copy could not start. `Display` is cp's message, as rcp would print it after
/// `rcp: `.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupError {
    /// Options or operands cp refuses before looking at any file: `--reflink can be used
    /// only with --sparse=auto`, `missing destination file operand after 'a'`, a bad
    /// `--exclude` pattern.
    Usage(String),
    /// The destination cannot be what the copy needs, with the operation, path and errno:
    /// `target 'x' is not a directory`, `target directory 'd': No such file or directory`.
    Target(Error),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Usage(message) => f.write_str(message),
            SetupError::Target(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::Usage(_) => None,
            SetupError::Target(error) => Some(error),
        }
    }
}

impl Copier {
    /// A copy of `sources` to `destination`, with cp's defaults: not recursive,
    /// `--reflink=auto`, `--sparse=auto`, no attributes kept, one thread per CPU.
    pub fn new<S>(sources: impl IntoIterator<Item = S>, destination: impl Into<PathBuf>) -> Copier
    where
        S: Into<PathBuf>,
    {
        Copier {
            sources: sources.into_iter().map(Into::into).collect(),
            destination: destination.into(),
            recursive: false,
            reflink: Reflink::Auto,
            sparse: Sparse::Auto,
            preserve: Preserve::default(),
            dereference: None,
            jobs: None,
            atomic: false,
            resume: false,
            verify: false,
            dry_run: false,
            exclude: Vec::new(),
            stop: None,
        }
    }

    /// Copies directories and their contents (`-r`); symlinks in them are copied as
    /// symlinks unless `dereference(true)`.
    pub fn recursive(mut self, recursive: bool) -> Copier {
        self.recursive = recursive;
        self
    }

    /// Whether data may be shared with the source (`--reflink=WHEN`).
    pub fn reflink(mut self, when: Reflink) -> Copier {
        self.reflink = when;
        self
    }

    /// How holes in sparse files are kept (`--sparse=WHEN`).
    pub fn sparse(mut self, when: Sparse) -> Copier {
        self.sparse = when;
        self
    }

    /// The attributes to carry over (`--preserve=...`); a failure to keep one fails the
    /// entry, as with cp.
    pub fn preserve(mut self, preserve: Preserve) -> Copier {
        self.preserve = preserve;
        self
    }

    /// Follow every symlink among the sources (`-L`), or none (`-P`). Unset: cp's default
    /// (`-P` when recursive, else `-L`).
    pub fn dereference(mut self, follow: bool) -> Copier {
        self.dereference = Some(follow);
        self
    }

    /// Threads that copy (`-j N`, at least 1: `run` refuses 0; 1 copies everything on one
    /// thread).
    pub fn jobs(mut self, threads: usize) -> Copier {
        self.jobs = Some(threads);
        self
    }

    /// Writes each regular file under a temporary name and renames it into place when
    /// complete (`--atomic`).
    pub fn atomic(mut self, atomic: bool) -> Copier {
        self.atomic = atomic;
        self
    }

    /// Skips a regular file whose destination has its size and modification time, to the
    /// nanosecond, and completes a shorter one whose bytes are the source's (`--resume`;
    /// keep timestamps for the first to match anything).
    pub fn resume(mut self, resume: bool) -> Copier {
        self.resume = resume;
        self
    }

    /// Reads each copied regular file back and compares it with the source (`--verify`): a
    /// difference fails the file, and its record's `copied.verified` says it was checked.
    pub fn verify(mut self, verify: bool) -> Copier {
        self.verify = verify;
        self
    }

    /// Decides everything and writes nothing (`--dry-run`): every record has `dry_run` set
    /// and says what a real run would do; a regular file's `copied` is the predicted path
    /// (`copied.predicted`).
    pub fn dry_run(mut self, dry_run: bool) -> Copier {
        self.dry_run = dry_run;
        self
    }

    /// Leaves out entries whose path below their source matches `pattern`, with gitignore's
    /// rules (`--exclude`); patterns apply in the order given. A bad pattern is a
    /// `SetupError`.
    pub fn exclude(mut self, pattern: impl Into<String>) -> Copier {
        self.exclude.push(pattern.into());
        self
    }

    /// Stops the copy when `stop` is requested (`Stop::request`, from any thread): the
    /// file being written gives up within a chunk and is removed, no further entry is
    /// started, and `Summary::stopped` says so. Without it, the copy stops only for the
    /// process's own SIGINT/SIGTERM/SIGHUP handlers, if it installed rcp's.
    pub fn stop(mut self, stop: Stop) -> Copier {
        self.stop = Some(stop);
        self
    }

    /// Runs the copy and returns every record. Per-entry failures do not stop it; they are
    /// in the records and in `Summary::failed`. A recursive copy raises the process's soft
    /// open-file limit to its hard limit (the walk holds two fds per level).
    pub fn run(self) -> Result<Summary, SetupError> {
        let mut records = Vec::new();
        let mut summary = self.run_with(|record| records.push(record))?;
        summary.records = records;
        Ok(summary)
    }

    /// Runs the copy, handing each record to `on_record` as soon as it is final, in the
    /// order a sequential copy meets the entries.
    pub fn run_with(self, mut on_record: impl FnMut(Record)) -> Result<Summary, SetupError> {
        let opts = self.options()?;
        let plan = plan::plan(&opts).map_err(|e| match e {
            PlanError::Usage(usage) => SetupError::Usage(usage.message),
            PlanError::Target(error) => SetupError::Target(error),
        })?;
        process::run_began();
        if opts.recursive {
            process::raise_open_file_limit();
        }
        let (events, received) = channel();
        let mut summary = Summary::default();
        std::thread::scope(|scope| {
            let copy = scope.spawn(|| {
                let out = Reporter::new("rcp".into(), &opts, Box::new(Library(events)));
                let out = match &self.stop {
                    Some(stop) => out.with_stop(stop.clone()),
                    None => out,
                };
                walk::copy_all(&opts, &plan, &out, None);
                (out.failed(), out.stop().requested())
            });
            for event in received {
                match event {
                    Event::Record(record) => on_record(record),
                    Event::Message(text) => summary.messages.push(text),
                }
            }
            (summary.failed, summary.stopped) =
                copy.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        });
        Ok(summary)
    }

    /// The options this copy means: `Options` as the command line `rcp --no-progress
    /// --reflink=WHEN --sparse=WHEN [-r] [--preserve=LIST] [-L|-P] [-j N] [--atomic]
    /// [--resume] [--verify] [--dry-run] [--exclude=PATTERN]... SOURCE... DESTINATION`
    /// resolves to, refused where GNU refuses it.
    pub fn options(&self) -> Result<Options, SetupError> {
        let deref = match self.dereference {
            Some(true) => Deref::Always,
            Some(false) => Deref::Never,
            None if self.recursive => Deref::Never,
            None => Deref::Always,
        };
        let mut opts = Options {
            recursive: self.recursive,
            copy_as_regular: !self.recursive,
            policy: Policy { reflink: self.reflink, sparse: self.sparse },
            preserve: self.preserve.attributes(),
            deref,
            jobs: self.jobs,
            atomic: self.atomic,
            resume: self.resume,
            verify: self.verify,
            dry_run: self.dry_run,
            ..Options::default()
        };
        let mut patterns = Patterns::new();
        for pattern in &self.exclude {
            patterns.add(&Given::Pattern(pattern.clone())).map_err(usage)?;
        }
        opts.exclude = patterns.build().map_err(usage)?;
        opts.operands = self.sources.iter().chain([&self.destination]).cloned().collect();
        opts.check().map_err(usage)?;
        Ok(opts)
    }
}

fn usage(error: crate::error::UsageError) -> SetupError {
    SetupError::Usage(error.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_sets_the_options_it_names() {
        let copy = Copier::new(["-a", "b"], "dst")
            .recursive(true)
            .reflink(Reflink::Never)
            .preserve(Preserve { mode: true, timestamps: true, ..Preserve::default() })
            .jobs(3)
            .resume(true)
            .verify(true)
            .dry_run(true)
            .exclude("*.o");
        let opts = copy.options().expect("valid");
        assert!(opts.recursive && opts.preserve.mode && opts.preserve.timestamps);
        assert!(opts.preserve.required && !opts.preserve.ownership && !opts.progress);
        assert_eq!((opts.deref, opts.jobs), (Deref::Never, Some(3)));
        assert_eq!(opts.operands, ["-a", "b", "dst"].map(PathBuf::from));
        assert!(
            opts.resume
                && opts.verify
                && opts.dry_run
                && opts.exclude.is_some_and(|e| e.excludes("a.o".as_ref(), false))
        );
    }

    #[test]
    fn an_impossible_combination_is_cps_usage_error() {
        let error = Copier::new(["a"], "b").reflink(Reflink::Always).sparse(Sparse::Never).run();
        assert_eq!(
            error.expect_err("refused"),
            SetupError::Usage("--reflink can be used only with --sparse=auto".into())
        );
        let error = Copier::new(["a"], "b").jobs(0).run().expect_err("refused");
        assert_eq!(error, SetupError::Usage("invalid number of jobs: '0'".into()));
    }
}
