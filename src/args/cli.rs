//! The command line as clap sees it: GNU cp's options (with getopt's abbreviations and
//! permutation) plus rcp's own. Parsing only: values stay strings here and get their meaning,
//! and GNU's messages for bad ones, in `options`. `order` recovers the left-to-right order of
//! the options whose last occurrence wins (`-L`/`-P`/`-H`, `-i`/`-n`, `--preserve`...).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};

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
    /// crash leaves the old file or the new one, never a torn one
    #[arg(long)]
    pub(crate) atomic: bool,

    /// flush each file to disk (with --atomic, its rename too) before it counts as copied
    #[arg(long)]
    pub(crate) fsync: bool,

    /// copy with N threads, N >= 1 (default: one per CPU, and more while they wait on the
    /// disk)
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) jobs: Option<String>,

    /// show progress on standard error: a bar on a terminal (the default there, unless -v
    /// lines go to another place), else a status line every 5 seconds
    #[arg(long, overrides_with = "no_progress")]
    pub(crate) progress: bool,

    /// never show a progress bar
    #[arg(long, overrides_with = "progress")]
    pub(crate) no_progress: bool,

    /// write a record for every entry (the path it took, or why it was skipped or failed)
    /// and a summary: text (default) or json, as doc/report.schema.json describes
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true,
          default_missing_value = "text")]
    pub(crate) report: Option<String>,

    /// write the --report records to PATH instead of standard output (JSON, unless
    /// --report=text)
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

    /// print a man page or a shell completion script and exit: man, complete-bash,
    /// complete-zsh, complete-fish
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

/// An option whose effect depends on where it stands among the others.
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
}

/// The parsed command line: the fields, and the order-sensitive options in argv order.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) cli: Cli,
    pub(crate) ordered: Vec<Ordered>,
}

/// Why the command line could not be parsed: getopt's message (usage error, exit 1), or
/// `--help`/`--version`, which clap prints (exit 0).
#[derive(Debug)]
pub(crate) enum ParseError {
    Usage(String),
    Exit(clap::Error),
}

/// Parses argv (program name first), with getopt's rules for long options: unambiguous
/// abbreviations, `--opt=value` or `--opt value` for required values, `=value` only for
/// optional ones, and getopt's messages when they are broken.
pub(crate) fn parse(args: &[OsString]) -> Result<Parsed, ParseError> {
    let command = Cli::command();
    let args = expand_long_options(&command, args)?;
    let matches = command.try_get_matches_from(&args).map_err(getopt_message)?;
    let cli = Cli::from_arg_matches(&matches).map_err(getopt_message)?;
    Ok(Parsed { ordered: order(&matches), cli })
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

/// How a long option takes a value, as getopt knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    Required,
    Optional,
}

/// Every long name (aliases included) in declaration order, with its canonical name.
fn long_names(command: &clap::Command) -> Vec<(String, String, Takes)> {
    let mut names = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let takes = match arg.get_num_args() {
            _ if !arg.get_action().takes_values() => Takes::Nothing,
            Some(range) if range.min_values() == 0 => Takes::Optional,
            _ => Takes::Required,
        };
        names.push((long.to_string(), long.to_string(), takes));
        for alias in arg.get_all_aliases().into_iter().flatten() {
            names.push((alias.to_string(), long.to_string(), takes));
        }
    }
    names
}

/// Rewrites abbreviated long options to their full names, reporting what getopt_long would.
fn expand_long_options(
    command: &clap::Command,
    args: &[OsString],
) -> Result<Vec<OsString>, ParseError> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let names = long_names(command);
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.iter().enumerate().peekable();
    while let Some((i, arg)) = iter.next() {
        let bytes = arg.as_bytes();
        if i == 0 || bytes == b"--" {
            out.push(arg.clone());
            if bytes == b"--" {
                out.extend(iter.by_ref().map(|(_, a)| a.clone()));
            }
            continue;
        }
        let Some(body) = bytes.strip_prefix(b"--") else {
            out.push(arg.clone());
            continue;
        };
        let (name, value) = match body.iter().position(|&b| b == b'=') {
            Some(eq) => (&body[..eq], Some(&body[eq + 1..])),
            None => (body, None),
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let shown = String::from_utf8_lossy(bytes);
        let (canonical, takes) = resolve_long(&names, &name, &shown)?;
        match (takes, value) {
            (Takes::Nothing, Some(_)) => {
                return Err(ParseError::Usage(format!(
                    "option '--{canonical}' doesn't allow an argument"
                )));
            }
            (Takes::Required, None) if iter.peek().is_none() => {
                return Err(ParseError::Usage(format!(
                    "option '--{canonical}' requires an argument"
                )));
            }
            (Takes::Required, None) => {
                // getopt takes the next argument as the value, even if it starts with '-'.
                let (_, next) = iter.next().expect("peeked");
                let mut joined = format!("--{canonical}=").into_bytes();
                joined.extend_from_slice(next.as_bytes());
                out.push(OsString::from_vec(joined));
            }
            (_, Some(value)) => {
                let mut joined = format!("--{canonical}=").into_bytes();
                joined.extend_from_slice(value);
                out.push(OsString::from_vec(joined));
            }
            (_, None) => out.push(OsString::from(format!("--{canonical}"))),
        }
    }
    Ok(out)
}

/// getopt_long's matching: an exact name, else the one option all matching prefixes name.
fn resolve_long(
    names: &[(String, String, Takes)],
    name: &str,
    shown: &str,
) -> Result<(String, Takes), ParseError> {
    if let Some((_, canonical, takes)) = names.iter().find(|(n, _, _)| n == name) {
        return Ok((canonical.clone(), *takes));
    }
    let matches: Vec<&(String, String, Takes)> =
        names.iter().filter(|(n, _, _)| !name.is_empty() && n.starts_with(name)).collect();
    match matches.as_slice() {
        [] => Err(ParseError::Usage(format!("unrecognized option '{shown}'"))),
        [(_, canonical, takes), rest @ ..] if rest.iter().all(|(_, c, _)| c == canonical) => {
            Ok((canonical.clone(), *takes))
        }
        all => {
            let mut all = all.to_vec();
            all.sort_by_key(|(n, _, _)| {
                GETOPT_ORDER.iter().position(|g| g == n).unwrap_or(usize::MAX)
            });
            let listed: Vec<String> = all.iter().map(|(n, _, _)| format!("'--{n}'")).collect();
            let before_eq = shown.split('=').next().unwrap_or(shown);
            Err(ParseError::Usage(format!(
                "option '{before_eq}' is ambiguous; possibilities: {}",
                listed.join(" ")
            )))
        }
    }
}

/// clap's errors for short options, in getopt's words; help and version pass through.
fn getopt_message(e: clap::Error) -> ParseError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let invalid = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let short = invalid.strip_prefix('-').and_then(|s| s.chars().next()).unwrap_or('?');
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ParseError::Exit(e),
        ErrorKind::UnknownArgument => ParseError::Usage(format!("invalid option -- '{short}'")),
        // Long options were checked by `expand_long_options`: a missing value is a short one's.
        ErrorKind::InvalidValue | ErrorKind::NoEquals | ErrorKind::WrongNumberOfValues => {
            let long = invalid.trim_start_matches('-').split([' ', '=']).next().unwrap_or("");
            let short = Cli::command()
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .and_then(|a| a.get_short())
                .unwrap_or(short);
            ParseError::Usage(format!("option requires an argument -- '{short}'"))
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            ParseError::Usage(first.strip_prefix("error: ").unwrap_or(first).to_string())
        }
    }
}

/// The order-sensitive options, sorted by their position on the command line.
fn order(m: &ArgMatches) -> Vec<Ordered> {
    let mut seen: Vec<(usize, Ordered)> = Vec::new();
    let flags = [
        ("archive", Ordered::Archive),
        ("d", Ordered::NoDerefAndLinks),
        ("h", Ordered::CommandLineDeref),
        ("dereference", Ordered::Dereference),
        ("no_dereference", Ordered::NoDereference),
        ("interactive", Ordered::Interactive),
        ("no_clobber", Ordered::NoClobber),
        ("p", Ordered::PreserveDefault),
        ("u", Ordered::Update("older".into())),
    ];
    for (id, event) in flags {
        if m.get_flag(id) {
            let at = m.index_of(id).unwrap_or(0);
            seen.push((at, event));
        }
    }
    type Make = fn(String) -> Ordered;
    let valued: [(&str, Make); 5] = [
        ("preserve", Ordered::Preserve),
        ("no_preserve", Ordered::NoPreserve),
        ("update", Ordered::Update),
        ("exclude", Ordered::Exclude),
        ("exclude_from", Ordered::ExcludeFrom),
    ];
    for (id, make) in valued {
        let (Some(indices), Some(values)) = (m.indices_of(id), m.get_many::<String>(id)) else {
            continue;
        };
        seen.extend(indices.zip(values).map(|(at, v)| (at, make(v.clone()))));
    }
    seen.sort_by_key(|(at, _)| *at);
    seen.into_iter().map(|(_, event)| event).collect()
}
