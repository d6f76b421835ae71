//! What the parsed command line means: GNU cp's option semantics (last of `-L`/`-P`/`-H`
//! wins, `-n` beats `-u`, `--preserve` lists applied in order...), defaults filled in, and the
//! combinations GNU refuses turned into usage errors — `cptree`'s `Options`, in GNU's order.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::argmatch::argmatch;
use crate::cli::{Ordered, Parsed, Stop};
use copychain::{Policy, Reflink, Sparse};
use cptree::UsageError;
use cptree::exclude::{Given, Patterns};
use cptree::options::{
    Attributes, Backup, Basis, BasisHow, Deref, Interactive, MAX_BASIS_DIRS, Options, ReportFormat,
};

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

/// The options of a command line that asks for a copy (the tests').
#[cfg(test)]
pub(crate) fn resolve(parsed: Parsed) -> Result<Options, UsageError> {
    match decide(parsed).request? {
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
    let request = request(parsed, &mut warnings);
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
        return Err(UsageError::new("options --backup and --no-clobber are mutually exclusive"));
    }
    let (reflink, sparse) = (c.reflink, c.sparse);
    if reflink == Reflink::Always && sparse != Sparse::Auto {
        return Err(UsageError::new("--reflink can be used only with --sparse=auto"));
    }
    let backup =
        if make_backups { backup_type(c.backup_control.as_deref())? } else { Backup::None };
    let deref = deref.unwrap_or(if recursive && !cli.link { Deref::Never } else { Deref::Always });
    // `--report-file=PATH` alone asks for the JSON report there.
    let report = c.report.or(cli.report_file.as_ref().map(|_| ReportFormat::Json));
    let lines_to_stdout =
        cli.verbose || cli.debug || (report.is_some() && cli.report_file.is_none());
    let progress = cli.progress
        || (!cli.no_progress && interactive != Interactive::Ask && bar_by_default(lines_to_stdout));
    let mut opts = Options::default();
    opts.recursive = recursive;
    opts.deref = deref;
    opts.interactive = interactive;
    opts.update_older = update_older;
    opts.force = cli.force;
    // GNU 9.1: `-f` with `-l`/`-s` replaces the destination atomically (links.rs)
    // rather than removing it first.
    opts.remove_destination = cli.remove_destination;
    opts.backup = backup;
    opts.suffix = backup_suffix(cli.suffix.as_deref());
    opts.hard_link = cli.link;
    opts.symbolic_link = cli.symbolic_link;
    opts.copy_as_regular = !recursive || cli.copy_contents;
    opts.keep_directory_symlink = cli.keep_directory_symlink;
    opts.one_file_system = cli.one_file_system;
    opts.data = !cli.attributes_only;
    opts.parents = cli.parents;
    opts.strip_trailing_slashes = cli.strip_trailing_slashes;
    opts.preserve = preserve;
    opts.open_dangling_symlink = std::env::var_os("POSIXLY_CORRECT").is_some();
    opts.policy = Policy { reflink, sparse };
    opts.verbose = cli.verbose || cli.debug;
    opts.debug = cli.debug;
    opts.report = report;
    opts.report_file = cli.report_file;
    opts.stats = cli.stats;
    opts.target_directory = cli.target_directory;
    opts.no_target_directory = cli.no_target_directory;
    opts.operands = cli.operands.into_iter().map(PathBuf::from).collect();
    opts.progress = progress;
    opts.atomic = cli.atomic;
    opts.fsync = cli.fsync;
    opts.jobs = c.jobs;
    opts.chunk_size = c.chunk_size;
    opts.basis = c.basis;
    opts.exclude = c.exclude.build()?;
    opts.resume = cli.resume;
    opts.verify = cli.verify;
    opts.dry_run = cli.dry_run;
    Ok(Request::Copy(Box::new(opts)))
}

/// A bar by default only where a person watches stderr (and never over -i's questions):
/// and when lines go to standard output, only if it is that same terminal — through a pipe
/// (`| tee log`) they would land between the bar's frames.
fn bar_by_default(lines_to_stdout: bool) -> bool {
    let (stderr_terminal, same_terminal) = cptree::terminals();
    stderr_terminal && (same_terminal || !lines_to_stdout)
}

/// What the options met in GNU's loop came to, read left to right: the last of each group
/// wins, and each value is checked when it is met.
struct Choices {
    deref: Option<Deref>,
    interactive: Interactive,
    update: Update,
    preserve: Attributes,
    /// `-a` was given (it implies `-r`).
    archive: bool,
    reflink: Reflink,
    sparse: Sparse,
    /// The last `--backup=CONTROL` (checked after the loop, as GNU's `xget_version`).
    backup_control: Option<String>,
    report: Option<ReportFormat>,
    jobs: Option<usize>,
    chunk_size: u64,
    basis: Option<Basis>,
    exclude: Patterns,
}

impl Choices {
    fn of(ordered: &[Ordered], warnings: &mut Vec<String>) -> Result<Choices, UsageError> {
        let mut c = Choices {
            deref: None,
            interactive: Interactive::Unset,
            update: Update::All,
            preserve: Attributes::default(),
            archive: false,
            reflink: Reflink::Auto,
            sparse: Sparse::Auto,
            backup_control: None,
            report: None,
            jobs: None,
            chunk_size: cptree::options::DEFAULT_CHUNK,
            basis: None,
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
                Ordered::ChunkSize(size) => c.chunk_size = chunk_size(size)?,
                Ordered::Basis(how, dir) => add_basis(&mut c.basis, *how, dir)?,
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
        _ => Err(UsageError::bare(format!("invalid number of jobs: {}", cptree::quote(text)))),
    }
}

/// `--link-dest=DIR` (or `--copy-dest`, `--compare-dest`): one more earlier copy; the three
/// do not mix (rsync refuses that too), and at most 20 are given.
fn add_basis(basis: &mut Option<Basis>, how: BasisHow, dir: &str) -> Result<(), UsageError> {
    if dir.is_empty() {
        return Err(UsageError::bare(format!("invalid {} directory ''", how.option())));
    }
    let basis = basis.get_or_insert_with(|| Basis { how, dirs: Vec::new() });
    if basis.how != how {
        let (a, b) = (basis.how.option(), how.option());
        return Err(UsageError::new(format!("options {a} and {b} are mutually exclusive")));
    }
    if basis.dirs.len() == MAX_BASIS_DIRS {
        let option = how.option();
        return Err(UsageError::new(format!("at most {MAX_BASIS_DIRS} {option} directories")));
    }
    basis.dirs.push(PathBuf::from(dir));
    Ok(())
}

/// `--chunk-size=SIZE`: a whole number of MiB, at least one, written in bytes or with a
/// suffix K, M, G or T (powers of 1024, as GNU's sizes; `KiB`, `MiB`... too).
fn chunk_size(text: &str) -> Result<u64, UsageError> {
    let bad = || UsageError::bare(format!("invalid chunk size: {}", cptree::quote(text)));
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    let shift = match suffix.trim_end_matches("iB") {
        "" => 0,
        "K" | "k" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(bad()),
    };
    let bytes = number.parse::<u64>().ok().and_then(|n| n.checked_mul(1 << shift));
    match bytes {
        Some(bytes) if bytes >= 1 << 20 && bytes % (1 << 20) == 0 => Ok(bytes),
        _ => Err(bad()),
    }
}

/// Applies one `--preserve`/`--no-preserve` list, left to right.
fn decode_attrs(preserve: &mut Attributes, list: &str, on: bool) -> Result<(), UsageError> {
    let context = if on { "--preserve" } else { "--no-preserve" };
    for word in list.split(',') {
        let attr = argmatch(context, word, ATTRS)?;
        apply_attr(preserve, attr, on);
    }
    Ok(())
}

fn apply_attr(p: &mut Attributes, attr: Attr, on: bool) {
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
    let parsed = crate::cli::parse(&argv).map_err(|e| match e {
        crate::cli::ParseError::Usage(message) => message,
        crate::cli::ParseError::Exit(e) => e.to_string(),
    })?;
    resolve(parsed).map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options as `rcp ARGS` resolves them, ARGS whole (operands included).
    fn command_line(args: &[&str]) -> Options {
        let argv: Vec<OsString> = ["rcp"].iter().chain(args).map(OsString::from).collect();
        resolve(crate::cli::parse(&argv).expect("parses")).expect("resolves")
    }

    /// The library's builder sets `Options` directly; what it sets is what the command
    /// line it stands for resolves to (field for field, the exclude patterns included).
    #[test]
    fn the_library_builder_means_what_its_command_line_means() {
        use cptree::{Copier, Preserve};
        let all = Preserve::ALL;
        let some = Preserve { mode: true, timestamps: true, ..Preserve::default() };
        let cases: [(Copier, &[&str]); 4] = [
            (Copier::new(["a"], "b"), &["--no-progress", "a", "b"]),
            (
                Copier::new(["-a", "b"], "dst")
                    .recursive(true)
                    .reflink(Reflink::Never)
                    .preserve(some)
                    .jobs(3)
                    .resume(true)
                    .verify(true)
                    .dry_run(true)
                    .exclude("*.o")
                    .exclude("/build/"),
                &[
                    "--no-progress",
                    "--reflink=never",
                    "-r",
                    "--preserve=mode,timestamps",
                    "-j3",
                    "--resume",
                    "--verify",
                    "--dry-run",
                    "--exclude=*.o",
                    "--exclude=/build/",
                    "--",
                    "-a",
                    "b",
                    "dst",
                ],
            ),
            (
                Copier::new(["src"], "dst").recursive(true).preserve(all).dereference(true),
                &["--no-progress", "-r", "--preserve=all", "-L", "src", "dst"],
            ),
            (
                Copier::new(["f"], "g").sparse(Sparse::Always).atomic(true).dereference(false),
                &["--no-progress", "--sparse=always", "--atomic", "-P", "f", "g"],
            ),
        ];
        for (copier, args) in cases {
            let built = copier.options().expect("valid");
            assert_eq!(format!("{built:?}"), format!("{:?}", command_line(args)), "{args:?}");
        }
    }

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
        assert_eq!(resolved(&[]).preserve, Attributes::default());
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
            let message = format!("invalid number of jobs: {}", cptree::quote(bad));
            assert_eq!(for_args(&[&format!("--jobs={bad}")]).err(), Some(message), "{bad}");
        }
        assert_eq!(resolved(&[]).chunk_size, 64 << 20);
        for (given, bytes) in [("1M", 1 << 20), ("2048K", 2 << 20), ("1GiB", 1 << 30)] {
            assert_eq!(resolved(&[&format!("--chunk-size={given}")]).chunk_size, bytes);
        }
        assert_eq!(resolved(&["--chunk-size", "1048576"]).chunk_size, 1 << 20);
        for bad in ["x", "0", "512K", "1.5M", "1MB", "", "99999999999T"] {
            let message = format!("invalid chunk size: {}", cptree::quote(bad));
            assert_eq!(for_args(&[&format!("--chunk-size={bad}")]).err(), Some(message), "{bad}");
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
        let parsed = crate::cli::parse(&argv).expect("parses");
        let decided = decide(parsed);
        assert_eq!(decided.warnings.len(), 2, "{decided:?}");
        assert!(decided.request.expect_err("refused").message.contains("--sparse"));
    }
}
