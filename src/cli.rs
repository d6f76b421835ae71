//! The command line: GNU cp's options plus rcp's own, defined for clap (which fills `Cli`
//! and makes `--help`, the man page and completions), read with getopt_long's rules (`getopt`
//! below: permutation or POSIXLY_CORRECT's order, clusters, abbreviations, a value taken from
//! the next word whatever it looks like, getopt's messages). Values stay strings here; the
//! options whose place matters, or whose value GNU checks when its loop meets it, are kept in
//! argv order (`Ordered`) for `options`, which gives them their meaning in that order.
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

const USAGE: &str = "rcp [OPTION]... [-T] SOURCE DEST
  or:  rcp [OPTION]... SOURCE... DIRECTORY
  or:  rcp [OPTION]... -t DIRECTORY SOURCE...";

const AFTER_HELP: &str = "\
By default, sparse SOURCE files are detected by a crude heuristic and the
corresponding DEST file is made sparse as well.  That is the behavior
selected by --sparse=auto.  Specify --sparse=always to create a sparse DEST
file whenever the SOURCE file contains a long enough sequence of zero bytes.
Use --sparse=never to inhibit creation of sparse files.

When --reflink[=always] is specified, perform a lightweight copy, where the
data blocks are copied only when modified.  If this is not possible the copy
fails, or if --reflink=auto is specified, fall back to a standard copy.
Use --reflink=never to ensure a standard copy is performed.

Each regular file is copied by the first kernel path that works: a reflink
(FICLONE), copy_file_range, splice through a pipe, or read/write.  --debug and
--report say which path each file took, and why it fell back.

The backup suffix is '~', unless set with --suffix or SIMPLE_BACKUP_SUFFIX.
The version control method may be selected via the --backup option or through
the VERSION_CONTROL environment variable.  Here are the values:

  none, off       never make backups (even if --backup is given)
  numbered, t     make numbered backups
  existing, nil   numbered if numbered backups exist, simple otherwise
  simple, never   always make simple backups

As a special case, rcp makes a backup of SOURCE when the force and backup
options are given and SOURCE and DEST are the same name for an existing,
regular file.";

#[derive(Parser, Debug, Default)]
#[command(
    name = "rcp",
    version,
    about = "Copy SOURCE to DEST, or multiple SOURCE(s) to DIRECTORY.",
    override_usage = USAGE,
    after_help = AFTER_HELP,
    args_override_self = true,
    disable_help_flag = true,
    disable_version_flag = true,
    max_term_width = 80
)]
pub(crate) struct Cli {
    /// same as -dR --preserve=all
    #[arg(short = 'a', long = "archive")]
    pub(crate) archive: bool,

    /// don't copy the file data, just the attributes
    #[arg(long)]
    pub(crate) attributes_only: bool,

    /// make a backup of each existing destination file
    #[arg(long, value_name = "CONTROL", num_args = 0..=1, require_equals = true,
          default_missing_value = "", hide_default_value = true)]
    pub(crate) backup: Option<String>,

    /// like --backup but does not accept an argument
    #[arg(short = 'b')]
    pub(crate) b: bool,

    /// copy contents of special files when recursive
    #[arg(long)]
    pub(crate) copy_contents: bool,

    /// same as --no-dereference --preserve=links
    #[arg(short = 'd')]
    pub(crate) d: bool,

    /// explain how a file is copied.  Implies -v
    #[arg(long)]
    pub(crate) debug: bool,

    /// if an existing destination file cannot be opened, remove it and try again (this
    /// option is ignored when the -n option is also used)
    #[arg(short = 'f', long)]
    pub(crate) force: bool,

    /// prompt before overwrite (overrides a previous -n option)
    #[arg(short = 'i', long)]
    pub(crate) interactive: bool,

    /// follow command-line symbolic links in SOURCE
    #[arg(short = 'H')]
    pub(crate) h: bool,

    /// hard link files instead of copying
    #[arg(short = 'l', long)]
    pub(crate) link: bool,

    /// always follow symbolic links in SOURCE
    #[arg(short = 'L', long)]
    pub(crate) dereference: bool,

    /// do not overwrite an existing file (overrides a previous -i option)
    #[arg(short = 'n', long)]
    pub(crate) no_clobber: bool,

    /// never follow symbolic links in SOURCE
    #[arg(short = 'P', long)]
    pub(crate) no_dereference: bool,

    /// same as --preserve=mode,ownership,timestamps
    #[arg(short = 'p')]
    pub(crate) p: bool,

    /// preserve the specified attributes (default: mode,ownership,timestamps), if possible
    /// additional attributes: context, links, xattr, all
    #[arg(long, value_name = "ATTR_LIST", num_args = 0..=1, require_equals = true,
          default_missing_value = "mode,ownership,timestamps", action = ArgAction::Append)]
    pub(crate) preserve: Vec<String>,

    /// don't preserve the specified attributes
    #[arg(long, value_name = "ATTR_LIST", action = ArgAction::Append)]
    pub(crate) no_preserve: Vec<String>,

    /// use full source file name under DIRECTORY
    #[arg(long, alias = "path")]
    pub(crate) parents: bool,

    /// copy directories recursively
    #[arg(short = 'R', short_alias = 'r', long)]
    pub(crate) recursive: bool,

    /// control clone/CoW copies. See below
    #[arg(long, value_name = "WHEN", num_args = 0..=1, require_equals = true,
          default_missing_value = "always")]
    pub(crate) reflink: Option<String>,

    /// remove each existing destination file before attempting to open it (contrast with
    /// --force)
    #[arg(long)]
    pub(crate) remove_destination: bool,

    /// control creation of sparse files. See below
    #[arg(long, value_name = "WHEN")]
    pub(crate) sparse: Option<String>,

    /// remove any trailing slashes from each SOURCE argument
    #[arg(long)]
    pub(crate) strip_trailing_slashes: bool,

    /// make symbolic links instead of copying
    #[arg(short = 's', long)]
    pub(crate) symbolic_link: bool,

    /// override the usual backup suffix
    #[arg(short = 'S', long, value_name = "SUFFIX")]
    pub(crate) suffix: Option<OsString>,

    /// copy all SOURCE arguments into DIRECTORY
    #[arg(short = 't', long, value_name = "DIRECTORY")]
    pub(crate) target_directory: Option<PathBuf>,

    /// treat DEST as a normal file
    #[arg(short = 'T', long)]
    pub(crate) no_target_directory: bool,

    /// control which existing files are updated; UPDATE={all,none,none-fail,older(default)}
    #[arg(long, value_name = "UPDATE", num_args = 0..=1, require_equals = true,
          default_missing_value = "older")]
    pub(crate) update: Option<String>,

    /// equivalent to --update[=older]
    #[arg(short = 'u')]
    pub(crate) u: bool,

    /// explain what is being done
    #[arg(short = 'v', long)]
    pub(crate) verbose: bool,

    /// don't replace a symlink to a directory in DEST with a directory
    #[arg(long)]
    pub(crate) keep_directory_symlink: bool,

    /// stay on this file system
    #[arg(short = 'x', long)]
    pub(crate) one_file_system: bool,

    /// set SELinux security context of destination file to default type
    #[arg(short = 'Z')]
    pub(crate) z: bool,

    /// like -Z, or if CTX is specified then set the SELinux or SMACK security context to CTX
    #[arg(long, value_name = "CTX", num_args = 0..=1, require_equals = true,
          default_missing_value = "")]
    pub(crate) context: Option<String>,

    /// write each file under a temporary name and rename it into place when complete, so a
    /// crash leaves the old file or the new one, never a torn one; a later run removes
    /// temporaries only of runs provably over
    #[arg(long)]
    pub(crate) atomic: bool,

    /// flush each file to disk (with --atomic, its rename too) before it counts as copied
    #[arg(long)]
    pub(crate) fsync: bool,

    /// copy with N threads, N >= 1 (default: one per CPU, and more while they wait on the
    /// disk)
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) jobs: Option<String>,

    /// under MPI ranks on several hosts, copy a regular file bigger than SIZE in pieces of
    /// SIZE bytes that several ranks copy at once (default 64M; K, M, G, T are powers of
    /// 1024; at least 1M, a whole number of MiB)
    #[arg(long, value_name = "SIZE")]
    pub(crate) chunk_size: Option<String>,

    /// hard-link a regular file to DIR's copy of it where that is unchanged (same size and
    /// modification time; with -p or -a also mode and owner), as rsync's option: DIR is an
    /// earlier snapshot, relative to the destination directory; up to 20, tried in order
    #[arg(long, value_name = "DIR")]
    pub(crate) link_dest: Vec<String>,

    /// like --link-dest, but copy the file from DIR's copy (a clone where the filesystem
    /// can: a new file sharing the earlier one's data)
    #[arg(long, value_name = "DIR")]
    pub(crate) copy_dest: Vec<String>,

    /// like --link-dest, but leave the file out of the copy (an incremental that holds
    /// only what changed)
    #[arg(long, value_name = "DIR")]
    pub(crate) compare_dest: Vec<String>,

    /// show progress on standard error: a bar on a terminal (the default there, unless -v
    /// lines go to another place), else a status line every 5 seconds
    #[arg(long, overrides_with = "no_progress")]
    pub(crate) progress: bool,

    /// never show a progress bar
    #[arg(long, overrides_with = "progress")]
    pub(crate) no_progress: bool,

    /// write a record for every entry (the path it took, or why it was skipped or failed)
    /// and a summary: text (default) or json, as the JSON Schema that --generate
    /// report-schema prints describes
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true,
          default_missing_value = "text")]
    pub(crate) report: Option<String>,

    /// write the --report records to PATH instead of standard output (JSON, unless
    /// --report=text); refused if PATH is a source or destination, or inside one
    #[arg(long, value_name = "PATH")]
    pub(crate) report_file: Option<PathBuf>,

    /// print files and bytes per strategy, elapsed time and throughput at the end
    #[arg(long)]
    pub(crate) stats: bool,

    /// re-running a backup (with -a or -p): skip a regular file whose destination has its
    /// size and modification time (rsync's quick check); complete a shorter one whose bytes
    /// are the source's; copy anything else afresh
    #[arg(long)]
    pub(crate) resume: bool,

    /// read each regular file back after copying it and compare it with the source, byte
    /// for byte; a difference fails the file (and --atomic does not put it in place)
    #[arg(long)]
    pub(crate) verify: bool,

    /// decide everything a real run would (what is created, overwritten, backed up,
    /// skipped or refused, and each file's predicted copy path) and write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// skip each entry whose path below its SOURCE matches PATTERN, with gitignore's rules
    /// (a name at any depth; a trailing / for directories; a leading / anchors at SOURCE;
    /// *, ?, [...], **); an excluded directory is not entered
    #[arg(long, value_name = "PATTERN", action = ArgAction::Append)]
    pub(crate) exclude: Vec<String>,

    /// read exclude patterns from FILE, one per line (# starts a comment)
    #[arg(long, value_name = "FILE", action = ArgAction::Append)]
    pub(crate) exclude_from: Vec<String>,

    /// print a man page, a shell completion script or the JSON Schema of the --report
    /// records and exit: man, complete-bash, complete-zsh, complete-fish, report-schema
    #[arg(long, value_name = "WHAT")]
    pub(crate) generate: Option<String>,

    /// display this help and exit
    #[arg(long)]
    pub(crate) help: bool,

    /// output version information and exit
    #[arg(long)]
    pub(crate) version: bool,

    #[arg(value_name = "SOURCE", num_args = 0.., allow_hyphen_values = false)]
    pub(crate) operands: Vec<OsString>,
}

/// `--help` in GNU's layout: usage lines with the program name as invoked, one line per
/// option (`  -b, --backup[=CONTROL]` padded to column 30, help wrapped at 80), then the
/// notes. Made from the clap definition, so every option is listed.
pub(crate) fn help_text(program: &str) -> String {
    let command = Cli::command();
    let mut out = String::new();
    for (i, line) in USAGE.lines().enumerate() {
        let line = line.replacen("rcp", program, 1);
        out += &if i == 0 { format!("Usage: {line}\n") } else { format!("{line}\n") };
    }
    out += "Copy SOURCE to DEST, or multiple SOURCE(s) to DIRECTORY.\n\n";
    out += "Mandatory arguments to long options are mandatory for short options too.\n";
    for arg in command.get_arguments().filter(|a| !a.is_positional()) {
        let spec = option_spec(arg);
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        out += &format_option(&spec, &help);
    }
    out += "\n";
    out += AFTER_HELP;
    out += "\n";
    out
}

/// `-S, --suffix=SUFFIX`, `    --backup[=CONTROL]`, `-b`: as GNU writes an option.
fn option_spec(arg: &clap::Arg) -> String {
    let short = arg.get_short().map(|c| format!("-{c}"));
    let mut spec = match (&short, arg.get_long()) {
        (Some(s), Some(_)) => format!("{s}, "),
        (Some(s), None) => s.clone(),
        (None, _) => "    ".to_string(),
    };
    if let Some(long) = arg.get_long() {
        spec += &format!("--{long}");
    }
    if let Some((before, name, after)) = value_form(arg) {
        spec += &format!("{before}{name}{after}");
    }
    if arg.get_id() == "recursive" {
        spec = "-R, -r, --recursive".into();
    }
    spec
}

/// How an option takes its value, as GNU writes it — `[=NAME]` (optional, after `=`),
/// `=NAME`, or ` NAME` (a short option only) — as (before, NAME, after); `None` for a flag.
pub(crate) fn value_form(arg: &clap::Arg) -> Option<(&'static str, String, &'static str)> {
    if !arg.get_action().takes_values() {
        return None;
    }
    let name =
        arg.get_value_names().and_then(|n| n.first()).map_or("VALUE".into(), |n| n.to_string());
    Some(match (arg.get_long().is_some(), optional_value(arg)) {
        (true, true) => ("[=", name, "]"),
        (true, false) => ("=", name, ""),
        (false, _) => (" ", name, ""),
    })
}

/// Whether an option's value may be left out (then it can only follow `=`).
pub(crate) fn optional_value(arg: &clap::Arg) -> bool {
    arg.get_num_args().is_some_and(|r| r.min_values() == 0)
}

/// One option's help: spec at column 2, text at column 31 (or on the next line if the spec
/// is longer), wrapped to 80 columns with continuation lines at column 33.
fn format_option(spec: &str, help: &str) -> String {
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut lines = Vec::new();
    let mut line = format!("  {spec}");
    if line.len() >= 30 {
        line.push_str("  ");
    } else {
        line = format!("{line:<31}");
    }
    let mut first = true;
    let mut current = String::new();
    for word in help.split(' ') {
        let indent = if first { line.len() } else { 33 };
        if !current.is_empty() && indent + current.len() + 1 + word.len() > 79 {
            lines.push(if first {
                format!("{line}{current}")
            } else {
                format!("{:33}{current}", "")
            });
            first = false;
            current.clear();
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(if first { format!("{line}{current}") } else { format!("{:33}{current}", "") });
    lines.join("\n") + "\n"
}

/// `--version`, in GNU's shape.
pub(crate) fn version_text() -> String {
    format!(
        "rcp {}\nA drop-in GNU cp that copies by the cheapest kernel path.\nLicense MIT.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// An option whose effect depends on where it stands among the others, or whose value is
/// checked (or a warning printed) when getopt meets it, as GNU cp's option loop does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ordered {
    Archive,
    NoDerefAndLinks,
    CommandLineDeref,
    Dereference,
    NoDereference,
    Interactive,
    NoClobber,
    PreserveDefault,
    Preserve(String),
    NoPreserve(String),
    Update(String),
    Exclude(String),
    ExcludeFrom(String),
    /// `--reflink[=WHEN]`: `None` is `always`.
    Reflink(Option<String>),
    Sparse(String),
    /// `--backup[=CONTROL]`: GNU keeps the last CONTROL given (a bare `--backup` or `-b`
    /// leaves it) and checks it after the loop.
    Backup(Option<String>),
    /// `-t`: a second one is an error when it is met.
    TargetDirectory,
    /// `--context[=CTX]`: with CTX, a warning when met (no SELinux).
    Context(Option<String>),
    /// `--report[=FORMAT]`: `None` is `text`.
    Report(Option<String>),
    Jobs(String),
    ChunkSize(String),
    /// `--link-dest`, `--copy-dest`, `--compare-dest`, in order.
    Basis(cptree::options::BasisHow, String),
}

/// Where getopt's loop ended before the operands: an option that acts at once (`--help`,
/// `--version`, `--generate`), or getopt's own complaint (an unknown option, a missing or
/// unwanted value). Options after it are never looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    Help,
    Version,
    Generate(String),
    Usage(String),
}

/// The parsed command line: the fields (options after a `stop` left out), the
/// order-sensitive options in argv order, and where the loop stopped early, if it did.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) cli: Cli,
    pub(crate) ordered: Vec<Ordered>,
    pub(crate) stop: Option<Stop>,
}

/// Why the command line could not be parsed: getopt's message (usage error, exit 1), or
/// `--help`/`--version`, which clap prints (exit 0).
#[derive(Debug)]
pub(crate) enum ParseError {
    Usage(String),
    Exit(clap::Error),
}

/// Parses argv (program name first) with getopt_long's rules, as GNU cp's loop sees it:
/// options and operands mixed (unless `POSIXLY_CORRECT`, where the first operand ends the
/// options), `--` ending them; short options clustered, one that takes a value taking the
/// rest of its word or else the next word, whatever it looks like (`-S --x`: the suffix is
/// `--x`); long options abbreviated, `--opt=value` or `--opt value` for required values,
/// `=value` only for optional ones; getopt's messages when they are broken. Clap then reads
/// the options met, written out in full (`--suffix=--x`), and the operands after `--`.
pub(crate) fn parse(args: &[OsString]) -> Result<Parsed, ParseError> {
    let command = Cli::command();
    let table = OptionTable::of(&command);
    let posix = std::env::var_os("POSIXLY_CORRECT").is_some();
    let Getopt { met, operands, stop } = getopt(&table, args, posix);
    let mut words: Vec<OsString> = vec![args.first().cloned().unwrap_or_else(|| "rcp".into())];
    let mut ordered = Vec::new();
    for (id, value) in &met {
        words.push(table.word(id, value.as_deref()));
        ordered.extend(ordered_event(id, value.as_deref()));
    }
    words.push("--".into());
    words.extend(operands);
    let matches = command.try_get_matches_from(&words).map_err(getopt_message)?;
    let cli = Cli::from_arg_matches(&matches).map_err(getopt_message)?;
    Ok(Parsed { cli, ordered, stop })
}

/// The event an option is in `ordered`, if its place matters.
fn ordered_event(id: &str, value: Option<&OsStr>) -> Option<Ordered> {
    let text = || value.map(|v| v.to_string_lossy().into_owned());
    let given = || text().unwrap_or_default();
    Some(match id {
        "archive" => Ordered::Archive,
        "d" => Ordered::NoDerefAndLinks,
        "h" => Ordered::CommandLineDeref,
        "dereference" => Ordered::Dereference,
        "no_dereference" => Ordered::NoDereference,
        "interactive" => Ordered::Interactive,
        "no_clobber" => Ordered::NoClobber,
        "p" => Ordered::PreserveDefault,
        "preserve" => text().map_or(Ordered::PreserveDefault, Ordered::Preserve),
        "no_preserve" => Ordered::NoPreserve(given()),
        "u" => Ordered::Update("older".into()),
        "update" => Ordered::Update(text().unwrap_or_else(|| "older".into())),
        "exclude" => Ordered::Exclude(given()),
        "exclude_from" => Ordered::ExcludeFrom(given()),
        "reflink" => Ordered::Reflink(text()),
        "sparse" => Ordered::Sparse(given()),
        "backup" => Ordered::Backup(text()),
        "target_directory" => Ordered::TargetDirectory,
        "context" => Ordered::Context(text()),
        "report" => Ordered::Report(text()),
        "jobs" => Ordered::Jobs(given()),
        "chunk_size" => Ordered::ChunkSize(given()),
        "link_dest" => Ordered::Basis(cptree::options::BasisHow::Link, given()),
        "copy_dest" => Ordered::Basis(cptree::options::BasisHow::Copy, given()),
        "compare_dest" => Ordered::Basis(cptree::options::BasisHow::Compare, given()),
        _ => return None,
    })
}

/// GNU cp's option table order, which getopt follows when it lists ambiguous matches.
const GETOPT_ORDER: &[&str] = &[
    "archive",
    "attributes-only",
    "backup",
    "copy-contents",
    "debug",
    "dereference",
    "force",
    "interactive",
    "link",
    "no-clobber",
    "no-dereference",
    "no-preserve",
    "no-target-directory",
    "one-file-system",
    "parents",
    "path",
    "preserve",
    "recursive",
    "remove-destination",
    "sparse",
    "reflink",
    "strip-trailing-slashes",
    "suffix",
    "symbolic-link",
    "target-directory",
    "update",
    "verbose",
    "keep-directory-symlink",
    "context",
    "help",
    "version",
];

/// Whether `name` is an option of GNU cp 9.1, the reference: its table, less `--debug`
/// (9.2's, which rcp has too).
fn gnu_9_1(name: &str) -> bool {
    name != "debug" && GETOPT_ORDER.contains(&name)
}

/// How an option takes a value, as getopt knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    Required,
    Optional,
}

/// One long name (an alias included), the option's canonical long name, and its clap id.
struct Long {
    name: String,
    canonical: String,
    id: String,
    takes: Takes,
}

/// getopt's view of the clap definition: the long names and the short letters.
struct OptionTable {
    longs: Vec<Long>,
    /// Each short letter (aliases included): its option's id, and whether it takes a value.
    shorts: Vec<(char, String, bool)>,
    /// Each option's id → its canonical long name, if it has one.
    long_of: std::collections::HashMap<String, String>,
    short_of: std::collections::HashMap<String, char>,
}

impl OptionTable {
    fn of(command: &clap::Command) -> OptionTable {
        let mut table = OptionTable {
            longs: Vec::new(),
            shorts: Vec::new(),
            long_of: Default::default(),
            short_of: Default::default(),
        };
        for arg in command.get_arguments().filter(|a| !a.is_positional()) {
            let id = arg.get_id().to_string();
            let takes = match arg.get_num_args() {
                _ if !arg.get_action().takes_values() => Takes::Nothing,
                Some(range) if range.min_values() == 0 => Takes::Optional,
                _ => Takes::Required,
            };
            if let Some(long) = arg.get_long() {
                table.long_of.insert(id.clone(), long.to_string());
                let names =
                    std::iter::once(long).chain(arg.get_all_aliases().into_iter().flatten());
                for name in names {
                    table.longs.push(Long {
                        name: name.to_string(),
                        canonical: long.to_string(),
                        id: id.clone(),
                        takes,
                    });
                }
            }
            if let Some(short) = arg.get_short() {
                table.short_of.insert(id.clone(), short);
            }
            for short in
                arg.get_short().into_iter().chain(arg.get_all_short_aliases().into_iter().flatten())
            {
                table.shorts.push((short, id.clone(), takes != Takes::Nothing));
            }
        }
        table
    }

    /// The option written out for clap: `--long`, `--long=value`, or `-x` for a flag that
    /// has no long name.
    fn word(&self, id: &str, value: Option<&OsStr>) -> OsString {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let mut word = match self.long_of.get(id) {
            Some(long) => format!("--{long}").into_bytes(),
            None => format!("-{}", self.short_of[id]).into_bytes(),
        };
        if let Some(value) = value {
            word.push(b'=');
            word.extend_from_slice(value.as_bytes());
        }
        OsString::from_vec(word)
    }

    /// getopt_long's matching: an exact name, else the one option all matching prefixes
    /// name; `shown` is the word as given, for the messages. rcp's own options never make
    /// an abbreviation GNU cp takes ambiguous: where a prefix matches one of GNU's options,
    /// only GNU's count (`--li` is `--link`, not also `--link-dest`).
    fn long(&self, name: &str, shown: &str) -> Result<&Long, String> {
        if let Some(exact) = self.longs.iter().find(|l| l.name == name) {
            return Ok(exact);
        }
        let matches: Vec<&Long> =
            self.longs.iter().filter(|l| !name.is_empty() && l.name.starts_with(name)).collect();
        let gnu: Vec<&Long> = matches.iter().copied().filter(|l| gnu_9_1(&l.name)).collect();
        let matches = if gnu.is_empty() { matches } else { gnu };
        match matches.as_slice() {
            [] => Err(format!("unrecognized option '{shown}'")),
            [first, rest @ ..] if rest.iter().all(|l| l.id == first.id) => Ok(first),
            all => {
                let mut all = all.to_vec();
                all.sort_by_key(|l| {
                    GETOPT_ORDER.iter().position(|g| *g == l.name).unwrap_or(usize::MAX)
                });
                // Names of one option (`--parents`, `--path`) are one possibility, as in glibc.
                let mut seen = Vec::new();
                all.retain(|l| {
                    let first = !seen.contains(&&l.id);
                    seen.push(&l.id);
                    first
                });
                let listed: Vec<String> = all.iter().map(|l| format!("'--{}'", l.name)).collect();
                Err(format!("option '{shown}' is ambiguous; possibilities: {}", listed.join(" ")))
            }
        }
    }
}

/// What getopt's loop returned, in order: the options (id, value), the operands, and where
/// it stopped early.
struct Getopt {
    met: Vec<(String, Option<OsString>)>,
    operands: Vec<OsString>,
    stop: Option<Stop>,
}

/// glibc's getopt_long over `args` (PERMUTE, or REQUIRE_ORDER under POSIXLY_CORRECT).
fn getopt(table: &OptionTable, args: &[OsString], posix: bool) -> Getopt {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Getopt { met: Vec::new(), operands: Vec::new(), stop: None };
    let mut words = args.iter().skip(1);
    while let Some(arg) = words.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            out.operands.extend(words.by_ref().cloned());
            break;
        }
        if bytes.len() < 2 || bytes[0] != b'-' {
            out.operands.push(arg.clone());
            if posix {
                out.operands.extend(words.by_ref().cloned());
                break;
            }
            continue;
        }
        let stop = if let Some(body) = bytes.strip_prefix(b"--") {
            long_option(table, body, &String::from_utf8_lossy(bytes), &mut words, &mut out.met)
        } else {
            short_options(table, &bytes[1..], &mut words, &mut out.met)
        };
        let acts = out.met.last().and_then(|(id, value)| match id.as_str() {
            "help" => Some(Stop::Help),
            "version" => Some(Stop::Version),
            "generate" => Some(Stop::Generate(
                value.as_deref().map(|v| v.to_string_lossy().into_owned()).unwrap_or_default(),
            )),
            _ => None,
        });
        if let Some(stop) = stop.map(Stop::Usage).or(acts) {
            out.stop = Some(stop);
            break;
        }
    }
    out
}

/// One `--name[=value]` word (and the next word, for a required value given apart).
fn long_option<'a>(
    table: &OptionTable,
    body: &[u8],
    shown: &str,
    words: &mut impl Iterator<Item = &'a OsString>,
    met: &mut Vec<(String, Option<OsString>)>,
) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let (name, value) = match body.iter().position(|&b| b == b'=') {
        Some(eq) => (&body[..eq], Some(OsStr::from_bytes(&body[eq + 1..]).to_os_string())),
        None => (body, None),
    };
    let long = match table.long(&String::from_utf8_lossy(name), shown) {
        Ok(long) => long,
        Err(message) => return Some(message),
    };
    let canonical = &long.canonical;
    let value = match (long.takes, value) {
        (Takes::Nothing, Some(_)) => {
            return Some(format!("option '--{canonical}' doesn't allow an argument"));
        }
        // getopt takes the next word as the value, even if it starts with '-'.
        (Takes::Required, None) => match words.next() {
            Some(next) => Some(next.clone()),
            None => return Some(format!("option '--{canonical}' requires an argument")),
        },
        (_, value) => value,
    };
    met.push((long.id.clone(), value));
    None
}

/// One cluster of short options (`-bS.bak`, `-vt`): a letter that takes a value takes the
/// rest of the word, or the next word whatever it is.
fn short_options<'a>(
    table: &OptionTable,
    letters: &[u8],
    words: &mut impl Iterator<Item = &'a OsString>,
    met: &mut Vec<(String, Option<OsString>)>,
) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    for (i, &b) in letters.iter().enumerate() {
        let letter = char::from(b);
        let Some((_, id, takes_value)) = table.shorts.iter().find(|(c, _, _)| *c == letter) else {
            // getopt names the byte as it is; a UTF-8 letter shows its first byte.
            let shown = if b.is_ascii() {
                letter.to_string()
            } else {
                String::from_utf8_lossy(&[b]).into_owned()
            };
            return Some(format!("invalid option -- '{shown}'"));
        };
        if !takes_value {
            met.push((id.clone(), None));
            continue;
        }
        let rest = &letters[i + 1..];
        let value = if rest.is_empty() {
            match words.next() {
                Some(next) => next.clone(),
                None => return Some(format!("option requires an argument -- '{letter}'")),
            }
        } else {
            OsStr::from_bytes(rest).to_os_string()
        };
        met.push((id.clone(), Some(value)));
        return None;
    }
    None
}

/// clap's errors on the words getopt let through (a value that is not UTF-8, say), in
/// its first line's words.
fn getopt_message(e: clap::Error) -> ParseError {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ParseError::Exit(e),
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            ParseError::Usage(first.strip_prefix("error: ").unwrap_or(first).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// getopt over `args` (program name added): the options met as `id=value`, the
    /// operands, and where it stopped.
    fn run(args: &[&str], posix: bool) -> (Vec<String>, Vec<String>, Option<Stop>) {
        let table = OptionTable::of(&Cli::command());
        let argv: Vec<OsString> =
            std::iter::once("rcp").chain(args.iter().copied()).map(OsString::from).collect();
        let Getopt { met, operands, stop } = getopt(&table, &argv, posix);
        let met = met
            .into_iter()
            .map(|(id, v)| match v {
                Some(v) => format!("{id}={}", v.to_string_lossy()),
                None => id,
            })
            .collect();
        let operands = operands.into_iter().map(|o| o.to_string_lossy().into_owned()).collect();
        (met, operands, stop)
    }

    #[test]
    fn a_value_is_the_next_word_whatever_it_looks_like() {
        let table: &[(&[&str], &[&str], &[&str])] = &[
            (&["-S", "--suffix", "a", "b"], &["suffix=--suffix"], &["a", "b"]),
            (&["-bS.bak", "a"], &["b", "suffix=.bak"], &["a"]),
            (&["-bS", "-x", "a"], &["b", "suffix=-x"], &["a"]),
            (&["-S", "--", "a"], &["suffix=--"], &["a"]),
            (&["-t", "-d", "a"], &["target_directory=-d"], &["a"]),
            (&["-vtdir", "a"], &["verbose", "target_directory=dir"], &["a"]),
            (&["--suffix", "-v", "a"], &["suffix=-v"], &["a"]),
            (&["--suf=-v", "a"], &["suffix=-v"], &["a"]),
            (&["-j", "-1", "a"], &["jobs=-1"], &["a"]),
            // Optional values only after '='.
            (&["--backup", "simple"], &["backup"], &["simple"]),
            (&["--backup=simple"], &["backup=simple"], &[]),
            (&["-rR", "-", "x"], &["recursive", "recursive"], &["-", "x"]),
            (&["a", "-v", "--", "-r", "--"], &["verbose"], &["a", "-r", "--"]),
        ];
        for &(args, met, operands) in table {
            let (got_met, got_operands, stop) = run(args, false);
            assert_eq!((got_met, got_operands, stop), (to(met), to(operands), None), "{args:?}");
        }
    }

    #[test]
    fn posixly_correct_ends_options_at_the_first_operand() {
        let (met, operands, _) = run(&["-v", "a", "b", "-r", "--", "c"], true);
        assert_eq!((met, operands), (to(&["verbose"]), to(&["a", "b", "-r", "--", "c"])));
        let (met, operands, _) = run(&["-v", "--", "-r", "b"], true);
        assert_eq!((met, operands), (to(&["verbose"]), to(&["-r", "b"])));
    }

    #[test]
    fn the_loop_stops_where_getopt_complains_or_an_option_acts() {
        let usage = |m: &str| Some(Stop::Usage(m.into()));
        let table: &[(&[&str], &[&str], Option<Stop>)] = &[
            (&["-v", "--bogus", "-r"], &["verbose"], usage("unrecognized option '--bogus'")),
            (&["-vk", "-r"], &["verbose"], usage("invalid option -- 'k'")),
            (&["a", "-S"], &[], usage("option requires an argument -- 'S'")),
            (&["--suffix"], &[], usage("option '--suffix' requires an argument")),
            (&["--verb=x"], &[], usage("option '--verbose' doesn't allow an argument")),
            (&["-v", "--help", "--bogus"], &["verbose", "help"], Some(Stop::Help)),
            (&["--vers", "-k"], &["version"], Some(Stop::Version)),
            (&["--generate=man", "-k"], &["generate=man"], Some(Stop::Generate("man".into()))),
        ];
        for (args, met, stop) in table {
            let (got_met, _, got_stop) = run(args, false);
            assert_eq!((got_met, got_stop), (to(met), stop.clone()), "{args:?}");
        }
    }

    #[test]
    fn clap_reads_the_options_met_written_out() {
        let argv: Vec<OsString> =
            ["rcp", "-bS", "-x", "--ref", "-t", "--d", "--", "-a"].map(OsString::from).into();
        let parsed = parse(&argv).expect("parses");
        assert_eq!(parsed.cli.suffix.as_deref(), Some(OsStr::new("-x")));
        assert_eq!(parsed.cli.target_directory.as_deref(), Some(std::path::Path::new("--d")));
        assert_eq!(parsed.cli.operands, [OsString::from("-a")]);
        assert!(parsed.cli.b && parsed.cli.reflink.is_some());
        assert_eq!(
            parsed.ordered,
            [Ordered::Reflink(None), Ordered::TargetDirectory],
            "-b and -S are not order-sensitive"
        );
    }

    fn to(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }
}
