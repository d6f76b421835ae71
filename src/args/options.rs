//! What the parsed command line means: GNU cp's option semantics (last of `-L`/`-P`/`-H`
//! wins, `-n` beats `-u`, `--preserve` lists applied in order...), defaults filled in, and the
//! combinations GNU refuses turned into usage errors.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::args::argmatch::argmatch;
use crate::args::cli::{Ordered, Parsed, Stop};
use crate::args::exclude::{Exclude, Given, Patterns};
use crate::error::UsageError;
use copychain::{Policy, Reflink, Sparse};

/// Which symlinks among the sources are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deref {
    Never,
    /// `-H`: those named on the command line.
    CommandLine,
    Always,
}

/// What to do when the destination exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interactive {
    /// Overwrite.
    Unset,
    /// `-n`, `--update=none`: skip silently, exit status unaffected.
    Skip,
    /// `--update=none-fail`: skip with `not replacing 'x'`, exit status 1.
    Fail,
    /// `-i`: ask on stderr, read the answer from stdin.
    Ask,
}

/// Backups of replaced destinations (`--backup=CONTROL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backup {
    None,
    Simple,
    Existing,
    Numbered,
}

/// Which attributes the copy carries over (`-p`, `-a`, `--preserve`, `--no-preserve`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Preserve {
    pub(crate) mode: bool,
    pub(crate) ownership: bool,
    pub(crate) timestamps: bool,
    pub(crate) links: bool,
    pub(crate) context: bool,
    pub(crate) xattr: bool,
    /// `--no-preserve=mode`: new files get 0666/0777 less the umask.
    pub(crate) explicit_no_mode: bool,
    /// Failing to preserve is an error (any of `-p`, `--preserve`; `-a` sets it too).
    pub(crate) required: bool,
    pub(crate) require_xattr: bool,
    /// `--preserve=context` named (not through `all` or `-a`): without SELinux, GNU refuses
    /// to start.
    pub(crate) require_context: bool,
    /// `-a`: some failures (xattrs on filesystems without them) stay silent.
    pub(crate) reduce_diagnostics: bool,
}

/// Everything a run needs to know, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) recursive: bool,
    pub(crate) deref: Deref,
    pub(crate) interactive: Interactive,
    /// `-u`: skip when the destination is not older.
    pub(crate) update_older: bool,
    /// `-f`: unlink a destination that cannot be opened and try again.
    pub(crate) force: bool,
    /// `--remove-destination`.
    pub(crate) remove_destination: bool,
    pub(crate) backup: Backup,
    pub(crate) suffix: OsString,
    pub(crate) hard_link: bool,
    pub(crate) symbolic_link: bool,
    /// Special files are read as data: without `-r`, or with `--copy-contents`.
    pub(crate) copy_as_regular: bool,
    pub(crate) keep_directory_symlink: bool,
    pub(crate) one_file_system: bool,
    /// False with `--attributes-only`.
    pub(crate) data: bool,
    pub(crate) parents: bool,
    pub(crate) strip_trailing_slashes: bool,
    pub(crate) preserve: Preserve,
    /// POSIXLY_CORRECT: write through a dangling destination symlink.
    pub(crate) open_dangling_symlink: bool,
    pub(crate) policy: Policy,
    pub(crate) verbose: bool,
    pub(crate) debug: bool,
    pub(crate) report: Option<ReportFormat>,
    pub(crate) report_file: Option<PathBuf>,
    pub(crate) stats: bool,
    pub(crate) target_directory: Option<PathBuf>,
    pub(crate) no_target_directory: bool,
    pub(crate) operands: Vec<PathBuf>,
    /// `-j`: threads filling files (1: all in line); `None`: one per CPU, counted only when
    /// a tree is copied (a single file pays for no cgroup reads).
    pub(crate) jobs: Option<usize>,
    /// `--verify`: read each copied file back and compare it with the source.
    pub(crate) verify: bool,
    /// `--resume`: skip regular files whose destination passes the quick check.
    pub(crate) resume: bool,
    /// `--dry-run`: decide, report, write nothing.
    pub(crate) dry_run: bool,
    /// `--exclude`, `--exclude-from`: entries below an operand to leave out.
    pub(crate) exclude: Option<Exclude>,
    /// Show the progress bar.
    pub(crate) progress: bool,
    /// `--atomic`: write each regular file under a temporary name, rename it into place.
    pub(crate) atomic: bool,
    /// `--fsync`: make each file (and, with `--atomic`, its rename) durable before going on.
    pub(crate) fsync: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    Text,
    Json,
}

pub(crate) const REFLINK: &[(&str, Reflink)] =
    &[("auto", Reflink::Auto), ("always", Reflink::Always), ("never", Reflink::Never)];
pub(crate) const SPARSE: &[(&str, Sparse)] =
    &[("never", Sparse::Never), ("auto", Sparse::Auto), ("always", Sparse::Always)];
const BACKUP: &[(&str, Backup)] = &[
    ("none", Backup::None),
    ("off", Backup::None),
    ("simple", Backup::Simple),
    ("never", Backup::Simple),
    ("existing", Backup::Existing),
    ("nil", Backup::Existing),
    ("numbered", Backup::Numbered),
    ("t", Backup::Numbered),
];
const REPORT: &[(&str, ReportFormat)] =
    &[("text", ReportFormat::Text), ("json", ReportFormat::Json)];

/// The word `table` gives `value` (the first, where several name it): how the library
/// writes the command line its options mean.
pub(crate) fn word<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> &'static str {
    table.iter().find(|(_, v)| *v == value).map_or("", |(w, _)| w)
}

/// The words an option takes, by the option's id (for completions and the man page), from
/// the tables its values are parsed with.
pub(crate) fn option_words(id: &str) -> Option<Vec<&'static str>> {
    fn words<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
        table.iter().map(|(w, _)| *w).collect()
    }
    Some(match id {
        "reflink" => words(REFLINK),
        "sparse" => words(SPARSE),
        "backup" => words(BACKUP),
        "report" => words(REPORT),
        "update" => words(UPDATE),
        "preserve" | "no_preserve" => words(ATTRS),
        _ => return None,
    })
}

/// `--update=WHEN` (later GNU releases; 9.1's `-u` is `older`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Update {
    All,
    None,
    NoneFail,
    Older,
}
const UPDATE: &[(&str, Update)] = &[
    ("all", Update::All),
    ("none", Update::None),
    ("none-fail", Update::NoneFail),
    ("older", Update::Older),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Attr {
    Mode,
    Timestamps,
    Ownership,
    Links,
    Context,
    Xattr,
    All,
}
const ATTRS: &[(&str, Attr)] = &[
    ("mode", Attr::Mode),
    ("timestamps", Attr::Timestamps),
    ("ownership", Attr::Ownership),
    ("links", Attr::Links),
    ("context", Attr::Context),
    ("xattr", Attr::Xattr),
    ("all", Attr::All),
];

/// What a command line asks for.
#[derive(Debug)]
pub(crate) enum Request {
    Copy(Box<Options>),
    Help,
    Version,
    /// `--generate=WHAT` (its word not checked yet).
    Generate(String),
}

/// A command line decided: the warnings GNU prints as its option loop meets them (before
/// any error that comes later), then what to do, or the usage error that stops it.
#[derive(Debug)]
pub(crate) struct Decided {
    pub(crate) warnings: Vec<String>,
    pub(crate) request: Result<Request, UsageError>,
}

impl Options {
    /// The options of a command line that asks for a copy (the library's, the tests').
    pub(crate) fn resolve(parsed: Parsed) -> Result<Options, UsageError> {
        match Options::decide(parsed).request? {
            Request::Copy(opts) => Ok(*opts),
            _ => Err(UsageError::new("--help, --version and --generate copy nothing")),
        }
    }

    /// GNU's order: each option as its loop meets it (values checked then, `-t` twice
    /// refused, `--context=CTX` warned about; `--help` and getopt's errors where they
    /// stand), then the checks after the loop (`-l` with `-s`, `--backup` with `-n`,
    /// `--reflink` with `--sparse`, the backup type), in that order.
    pub(crate) fn decide(parsed: Parsed) -> Decided {
        let mut warnings = Vec::new();
        let request = Options::request(parsed, &mut warnings);
        Decided { warnings, request }
    }

    fn request(parsed: Parsed, warnings: &mut Vec<String>) -> Result<Request, UsageError> {
        let Parsed { cli, ordered, stop } = parsed;
        let c = Choices::of(&ordered, warnings)?;
        match stop {
            Some(Stop::Usage(message)) => return Err(UsageError::new(message)),
            Some(Stop::Help) => return Ok(Request::Help),
            Some(Stop::Version) => return Ok(Request::Version),
            Some(Stop::Generate(what)) => return Ok(Request::Generate(what)),
            None => {}
        }
        let Choices { deref, interactive, update, preserve, archive, .. } = c;
        let recursive = cli.recursive || archive;
        let mut update_older = update == Update::Older;
        if cli.link && cli.symbolic_link {
            return Err(UsageError::new("cannot make both hard and symbolic links"));
        }
        if interactive == Interactive::Skip {
            update_older = false;
        }
        let make_backups = cli.b || cli.backup.is_some() || cli.suffix.is_some();
        if make_backups && matches!(interactive, Interactive::Skip | Interactive::Fail) {
            return Err(UsageError::new(
                "options --backup and --no-clobber are mutually exclusive",
            ));
        }
        let (reflink, sparse) = (c.reflink, c.sparse);
        if reflink == Reflink::Always && sparse != Sparse::Auto {
            return Err(UsageError::new("--reflink can be used only with --sparse=auto"));
        }
        let backup =
            if make_backups { backup_type(c.backup_control.as_deref())? } else { Backup::None };
        let deref =
            deref.unwrap_or(if recursive && !cli.link { Deref::Never } else { Deref::Always });
        // `--report-file=PATH` alone asks for the JSON report there.
        let report = c.report.or(cli.report_file.as_ref().map(|_| ReportFormat::Json));
        let lines_to_stdout =
            cli.verbose || cli.debug || (report.is_some() && cli.report_file.is_none());
        let progress = cli.progress
            || (!cli.no_progress
                && interactive != Interactive::Ask
                && bar_by_default(lines_to_stdout));
        Ok(Request::Copy(Box::new(Options {
            recursive,
            deref,
            interactive,
            update_older,
            force: cli.force,
            // GNU 9.1: `-f` with `-l`/`-s` replaces the destination atomically (links.rs)
            // rather than removing it first.
            remove_destination: cli.remove_destination,
            backup,
            suffix: backup_suffix(cli.suffix.as_deref()),
            hard_link: cli.link,
            symbolic_link: cli.symbolic_link,
            copy_as_regular: !recursive || cli.copy_contents,
            keep_directory_symlink: cli.keep_directory_symlink,
            one_file_system: cli.one_file_system,
            data: !cli.attributes_only,
            parents: cli.parents,
            strip_trailing_slashes: cli.strip_trailing_slashes,
            preserve,
            open_dangling_symlink: std::env::var_os("POSIXLY_CORRECT").is_some(),
            policy: Policy { reflink, sparse },
            verbose: cli.verbose || cli.debug,
            debug: cli.debug,
            report,
            report_file: cli.report_file,
            stats: cli.stats,
            target_directory: cli.target_directory,
            no_target_directory: cli.no_target_directory,
            operands: cli.operands.into_iter().map(PathBuf::from).collect(),
            progress,
            atomic: cli.atomic,
            fsync: cli.fsync,
            jobs: c.jobs,
            exclude: c.exclude.build()?,
            resume: cli.resume,
            verify: cli.verify,
            dry_run: cli.dry_run,
        })))
    }
}

/// A bar by default only where a person watches stderr (and never over -i's questions):
/// and when lines go to standard output, only if it is that same terminal — through a pipe
/// (`| tee log`) they would land between the bar's frames.
fn bar_by_default(lines_to_stdout: bool) -> bool {
    let (stderr_terminal, same_terminal) = crate::sys::process::terminals();
    stderr_terminal && (same_terminal || !lines_to_stdout)
}

/// What the options met in GNU's loop came to, read left to right: the last of each group
/// wins, and each value is checked when it is met.
struct Choices {
    deref: Option<Deref>,
    interactive: Interactive,
    update: Update,
    preserve: Preserve,
    /// `-a` was given (it implies `-r`).
    archive: bool,
    reflink: Reflink,
    sparse: Sparse,
    /// The last `--backup=CONTROL` (checked after the loop, as GNU's `xget_version`).
    backup_control: Option<String>,
    report: Option<ReportFormat>,
    jobs: Option<usize>,
    exclude: Patterns,
}

impl Choices {
    fn of(ordered: &[Ordered], warnings: &mut Vec<String>) -> Result<Choices, UsageError> {
        let mut c = Choices {
            deref: None,
            interactive: Interactive::Unset,
            update: Update::All,
            preserve: Preserve::default(),
            archive: false,
            reflink: Reflink::Auto,
            sparse: Sparse::Auto,
            backup_control: None,
            report: None,
            jobs: None,
            exclude: Patterns::new(),
        };
        let mut target_directory = false;
        for event in ordered {
            match event {
                Ordered::Archive => {
                    c.deref = Some(Deref::Never);
                    c.archive = true;
                    apply_attr(&mut c.preserve, Attr::All, true);
                    c.preserve.required = true;
                    c.preserve.reduce_diagnostics = true;
                }
                Ordered::NoDerefAndLinks => {
                    c.deref = Some(Deref::Never);
                    c.preserve.links = true;
                }
                Ordered::CommandLineDeref => c.deref = Some(Deref::CommandLine),
                Ordered::Dereference => c.deref = Some(Deref::Always),
                Ordered::NoDereference => c.deref = Some(Deref::Never),
                Ordered::Interactive => c.interactive = Interactive::Ask,
                Ordered::NoClobber => c.interactive = Interactive::Skip,
                Ordered::PreserveDefault => {
                    c.preserve.mode = true;
                    c.preserve.ownership = true;
                    c.preserve.timestamps = true;
                    c.preserve.required = true;
                }
                Ordered::Preserve(list) => {
                    decode_attrs(&mut c.preserve, list, true)?;
                    c.preserve.required = true;
                }
                Ordered::NoPreserve(list) => decode_attrs(&mut c.preserve, list, false)?,
                Ordered::Exclude(pattern) => c.exclude.add(&Given::Pattern(pattern.clone()))?,
                Ordered::ExcludeFrom(file) => c.exclude.add(&Given::File(file.into()))?,
                Ordered::Update(when) => {
                    c.update = argmatch("--update", when, UPDATE)?;
                    match c.update {
                        Update::None => c.interactive = Interactive::Skip,
                        Update::NoneFail => c.interactive = Interactive::Fail,
                        Update::All | Update::Older => {}
                    }
                }
                Ordered::Reflink(when) => {
                    c.reflink = match when {
                        None => Reflink::Always,
                        Some(when) => argmatch("--reflink", when, REFLINK)?,
                    };
                }
                Ordered::Sparse(when) => c.sparse = argmatch("--sparse", when, SPARSE)?,
                Ordered::Backup(control) => {
                    if let Some(control) = control {
                        c.backup_control = Some(control.clone());
                    }
                }
                Ordered::TargetDirectory => {
                    if target_directory {
                        return Err(UsageError::bare("multiple target directories specified"));
                    }
                    target_directory = true;
                }
                // GNU without SELinux: `-Z` and a bare `--context` are ignored silently,
                // `--context=CTX` (even an empty one) with a warning each time.
                Ordered::Context(ctx) => {
                    if ctx.is_some() {
                        warnings.push(
                            "warning: ignoring --context; it requires an SELinux-enabled kernel"
                                .into(),
                        );
                    }
                }
                Ordered::Report(format) => {
                    c.report = Some(match format {
                        None => ReportFormat::Text,
                        Some(format) => argmatch("--report", format, REPORT)?,
                    });
                }
                Ordered::Jobs(n) => c.jobs = Some(jobs(n)?),
            }
        }
        Ok(c)
    }
}

/// `-j N`: a whole number of threads, at least 1 (`-j0` would copy nothing), in the words
/// GNU uses for a bad count (`head: invalid number of lines: 'x'`).
fn jobs(text: &str) -> Result<usize, UsageError> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => {
            Err(UsageError::bare(format!("invalid number of jobs: {}", crate::quote::quote(text))))
        }
    }
}

/// Applies one `--preserve`/`--no-preserve` list, left to right.
fn decode_attrs(preserve: &mut Preserve, list: &str, on: bool) -> Result<(), UsageError> {
    let context = if on { "--preserve" } else { "--no-preserve" };
    for word in list.split(',') {
        let attr = argmatch(context, word, ATTRS)?;
        apply_attr(preserve, attr, on);
    }
    Ok(())
}

fn apply_attr(p: &mut Preserve, attr: Attr, on: bool) {
    match attr {
        Attr::Mode => {
            p.mode = on;
            p.explicit_no_mode = !on;
        }
        Attr::Timestamps => p.timestamps = on,
        Attr::Ownership => p.ownership = on,
        Attr::Links => p.links = on,
        Attr::Context => {
            p.context = on;
            p.require_context = on;
        }
        Attr::Xattr => {
            p.xattr = on;
            p.require_xattr = on;
        }
        Attr::All => {
            p.mode = on;
            p.timestamps = on;
            p.ownership = on;
            p.links = on;
            p.xattr = on;
            // Unlike `--preserve=xattr`, `all` does not make xattr failures errors (GNU).
            p.explicit_no_mode = !on;
        }
    }
}

/// gnulib's xget_version: the CONTROL word, else $VERSION_CONTROL, else `existing`.
fn backup_type(control: Option<&str>) -> Result<Backup, UsageError> {
    match control {
        Some(word) if !word.is_empty() => argmatch("backup type", word, BACKUP),
        _ => match std::env::var("VERSION_CONTROL") {
            Ok(word) if !word.is_empty() => argmatch("$VERSION_CONTROL", &word, BACKUP),
            _ => Ok(Backup::Existing),
        },
    }
}

/// `-S`, else $SIMPLE_BACKUP_SUFFIX, else `~`: gnulib's `set_simple_backup_suffix` keeps
/// a suffix that is its own last component, so one with a slash inside (`a/b`) or in front
/// is not used, but trailing slashes are (`.b/`: the backup's rename then fails, as GNU's).
fn backup_suffix(given: Option<&OsStr>) -> OsString {
    let env = std::env::var_os("SIMPLE_BACKUP_SUFFIX");
    let suffix = given.map(OsStr::to_os_string).or(env).unwrap_or_default();
    let bytes = suffix.as_bytes();
    let own_last_component = !bytes.starts_with(b"/")
        && !bytes.windows(2).any(|pair| pair[0] == b'/' && pair[1] != b'/');
    if suffix.is_empty() || !own_last_component { "~".into() } else { suffix }
}

/// Options as `rcp ARGS a b` would resolve them (for unit tests of the rules that use them).
#[cfg(test)]
pub(crate) fn for_args(args: &[&str]) -> Result<Options, String> {
    let argv: Vec<OsString> =
        ["rcp"].iter().chain(args).chain(&["a", "b"]).map(OsString::from).collect();
    let parsed = crate::args::cli::parse(&argv).map_err(|e| match e {
        crate::args::cli::ParseError::Usage(message) => message,
        crate::args::cli::ParseError::Exit(e) => e.to_string(),
    })?;
    Options::resolve(parsed).map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(args: &[&str]) -> Options {
        for_args(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn the_last_of_each_group_wins_as_in_gnu() {
        let deref = [
            (&[][..], Deref::Always),
            (&["-r"][..], Deref::Never),
            (&["-r", "-H"][..], Deref::CommandLine),
            (&["-L", "-P"][..], Deref::Never),
            (&["-P", "-L"][..], Deref::Always),
            (&["-a"][..], Deref::Never),
            (&["-a", "-L"][..], Deref::Always),
            (&["-l"][..], Deref::Always),
        ];
        for (args, want) in deref {
            assert_eq!(resolved(args).deref, want, "{args:?}");
        }
        let interactive = [
            (&[][..], Interactive::Unset),
            (&["-i", "-n"][..], Interactive::Skip),
            (&["-n", "-i"][..], Interactive::Ask),
            (&["--update=none"][..], Interactive::Skip),
            (&["--update=none-fail"][..], Interactive::Fail),
            (&["--update=none", "-i"][..], Interactive::Ask),
        ];
        for (args, want) in interactive {
            assert_eq!(resolved(args).interactive, want, "{args:?}");
        }
    }

    #[test]
    fn update_rules() {
        // (arguments, whether only older destinations are replaced)
        let table = [
            (&["-u"][..], true),
            (&["--update"][..], true),
            (&["--update=older"][..], true),
            (&["--update=all"][..], false),
            (&["-u", "-n"][..], false),
            (&["-n", "-u"][..], false),
            (&["--update=older", "--update=all"][..], false),
        ];
        for (args, older) in table {
            assert_eq!(resolved(args).update_older, older, "{args:?}");
        }
    }

    #[test]
    fn preserve_lists_apply_left_to_right() {
        let p = resolved(&["-a", "--no-preserve=mode,ownership"]).preserve;
        assert!(!p.mode && !p.ownership && p.timestamps && p.links && p.xattr);
        assert!(p.explicit_no_mode && p.required && p.reduce_diagnostics);
        let p = resolved(&["--no-preserve=mode", "-p"]).preserve;
        assert!(p.mode && p.ownership && p.timestamps && !p.links);
        let p = resolved(&["--preserve=xattr"]).preserve;
        assert!(p.xattr && p.require_xattr && p.required && !p.mode);
        let p = resolved(&["--preserve=all"]).preserve;
        assert!(p.xattr && !p.require_xattr, "all does not make xattr failures errors");
        assert_eq!(resolved(&[]).preserve, Preserve::default());
    }

    #[test]
    fn values_match_by_prefix_and_backups_by_any_name() {
        assert_eq!(resolved(&["--reflink=al"]).policy.reflink, Reflink::Always);
        assert_eq!(resolved(&["--reflink"]).policy.reflink, Reflink::Always);
        assert_eq!(resolved(&["--sparse=nev"]).policy.sparse, Sparse::Never);
        for (word, want) in [
            ("t", Backup::Numbered),
            ("numbered", Backup::Numbered),
            ("nil", Backup::Existing),
            ("never", Backup::Simple),
            ("off", Backup::None),
        ] {
            assert_eq!(resolved(&[&format!("--backup={word}")]).backup, want, "{word}");
        }
        assert_eq!(resolved(&["-S", ".bak", "--backup=simple"]).suffix, ".bak");
        for (suffix, want) in
            [("a/b", "~"), ("/", "~"), ("/a", "~"), ("//a", "~"), (".b/", ".b/"), ("x//", "x//")]
        {
            assert_eq!(resolved(&["-S", suffix, "--backup=simple"]).suffix, want, "{suffix}");
        }
    }

    #[test]
    fn combinations_gnu_refuses_are_usage_errors() {
        assert_eq!(resolved(&["--report-file=x"]).report, Some(ReportFormat::Json));
        assert_eq!(resolved(&["-j3"]).jobs, Some(3));
        assert_eq!(resolved(&["--jobs", "1"]).jobs, Some(1));
        for bad in ["x", "0", "-1", "2x", ""] {
            let message = format!("invalid number of jobs: {}", crate::quote::quote(bad));
            assert_eq!(for_args(&[&format!("--jobs={bad}")]).err(), Some(message), "{bad}");
        }
        assert_eq!(
            resolved(&["--report=text", "--report-file=x"]).report,
            Some(ReportFormat::Text)
        );
        let table = [
            (&["-l", "-s"][..], "cannot make both hard and symbolic links"),
            (
                &["--backup=simple", "-n"][..],
                "options --backup and --no-clobber are mutually exclusive",
            ),
            (
                &["--reflink=always", "--sparse=never"][..],
                "--reflink can be used only with --sparse=auto",
            ),
        ];
        for (args, message) in table {
            assert_eq!(for_args(args).err().as_deref(), Some(message), "{args:?}");
        }
        let invalid = for_args(&["--reflink=x"]).expect_err("invalid");
        // The quotes follow the locale (GNU's `quote`): check the words around them.
        assert!(
            invalid.starts_with("invalid argument ") && invalid.contains("--reflink"),
            "{invalid}"
        );
        let ambiguous = for_args(&["--update=no"]).expect_err("ambiguous");
        assert!(
            ambiguous.starts_with("ambiguous argument ") && ambiguous.contains("none-fail"),
            "{ambiguous}"
        );
    }

    #[test]
    fn every_value_is_checked_when_met_even_if_overridden() {
        let first = |args: &[&str]| for_args(args).expect_err("refused");
        let table: &[(&[&str], &str)] = &[
            (&["--jobs=0", "--jobs=2"], "invalid number of jobs"),
            (&["--jobs=0", "--reflink=x"], "invalid number of jobs"),
            (&["--reflink=x", "--jobs=0"], "--reflink"),
            (&["--report=x", "--report=json"], "--report"),
            (&["-l", "-s", "--report=x"], "--report"),
            (&["--update=x", "--update=all"], "--update"),
            (&["--exclude=[z-a]", "--sparse=x"], "invalid exclude pattern"),
            (&["--sparse=x", "--exclude=[z-a]"], "--sparse"),
            (&["--preserve=bogus", "--no-preserve=all"], "--preserve"),
            (&["-t", "d", "-t", "d"], "multiple target directories specified"),
            // After the loop, GNU's order: -l -s, then --backup with -n, then the backup type.
            (&["--backup=x", "-l", "-s"], "cannot make both hard and symbolic links"),
            (&["--backup=x", "-n"], "options --backup and --no-clobber are mutually exclusive"),
            (&["--backup=x", "--backup"], "backup type"),
        ];
        for &(args, want) in table {
            let got = first(args);
            assert!(got.contains(want), "{args:?}: {got}");
        }
        assert_eq!(resolved(&["--backup=x", "--backup=t"]).backup, Backup::Numbered);
        assert_eq!(resolved(&["-j3", "-j2"]).jobs, Some(2));
    }

    #[test]
    fn warnings_come_before_a_later_error() {
        let argv = ["rcp", "--context=x", "--context=", "--sparse=x"].map(OsString::from);
        let parsed = crate::args::cli::parse(&argv).expect("parses");
        let decided = Options::decide(parsed);
        assert_eq!(decided.warnings.len(), 2, "{decided:?}");
        assert!(decided.request.expect_err("refused").message.contains("--sparse"));
    }
}
