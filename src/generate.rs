//! `--generate`: the man page and shell completions, made from the same clap definition
//! that parses the command line (and the same value tables), so they cannot drift from it;
//! and the JSON Schema of `--report=json`'s records (`doc/report.schema.json`, built in, so
//! an installed rcp has it).
//! Zsh and fish scripts come from clap_complete; the bash one is written here, because
//! clap's offers options, not files, for the first operand and cannot complete
//! `--opt=value` or a `--preserve=` list.

use std::fmt::Write as _;

use clap::builder::PossibleValuesParser;
use clap::{Command, CommandFactory, ValueHint};
use clap_complete::Shell;

use crate::argmatch::argmatch;
use crate::cli::{Cli, optional_value};
use crate::decide::option_words;
use crate::man;
use cptree::UsageError;

/// What `--generate` can make, by the word that names it.
#[derive(Clone, Copy, PartialEq)]
enum What {
    Man,
    Shell(Shell),
    ReportSchema,
}

const TABLE: &[(&str, What)] = &[
    ("man", What::Man),
    ("complete-bash", What::Shell(Shell::Bash)),
    ("complete-zsh", What::Shell(Shell::Zsh)),
    ("complete-fish", What::Shell(Shell::Fish)),
    ("report-schema", What::ReportSchema),
];

/// The JSON Schema every `--report=json` record follows (the test suite checks each record
/// it produces against this file).
const REPORT_SCHEMA: &str = include_str!("../doc/report.schema.json");

/// The man page (`man`), a completion script (`complete-bash|zsh|fish`), or the report's
/// JSON Schema (`report-schema`).
pub(crate) fn generate(what: &str) -> Result<Vec<u8>, UsageError> {
    Ok(match argmatch("--generate", what, TABLE)? {
        What::Man => man::page(&described()).into_bytes(),
        What::ReportSchema => REPORT_SCHEMA.as_bytes().to_vec(),
        What::Shell(Shell::Bash) => bash(&described()).into_bytes(),
        What::Shell(shell) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut described(), "rcp", &mut out);
            let out = String::from_utf8(out).expect("clap_complete writes UTF-8");
            // clap's `*::` hands the operands every later word, so zsh stops seeing options
            // after the first operand (`rcp a -t <Tab>` offered files); getopt permutes.
            out.replace("'*::operands:_files'", "'*:file:_files'").into_bytes()
        }
    })
}

/// The words an option's value can be, by option id, `--generate`'s own included.
fn words(id: &str) -> Option<Vec<&'static str>> {
    match id {
        "generate" => Some(TABLE.iter().map(|(w, _)| *w).collect()),
        _ => option_words(id),
    }
}

/// The command line as a reader of completions or the man page sees it: the operands are
/// files, `-t`'s value is a directory, every option lists its values, and the help no
/// longer says "See below" (the notes below are --help's).
pub(crate) fn described() -> Command {
    let mut command = Cli::command()
        .mut_arg("operands", |a| a.value_hint(ValueHint::AnyPath))
        .mut_arg("target_directory", |a| a.value_hint(ValueHint::DirPath))
        .mut_arg("report_file", |a| a.value_hint(ValueHint::FilePath))
        .mut_arg("suffix", |a| a.value_hint(ValueHint::Other))
        .mut_arg("jobs", |a| a.value_hint(ValueHint::Other))
        .mut_arg("chunk_size", |a| a.value_hint(ValueHint::Other))
        .mut_arg("context", |a| a.value_hint(ValueHint::Other))
        .mut_arg("exclude", |a| a.value_hint(ValueHint::Other))
        .mut_arg("exclude_from", |a| a.value_hint(ValueHint::FilePath))
        .mut_arg("reflink", |a| {
            a.help("control clone/CoW copies: always (fail if the filesystem cannot), auto (fall back to copying the data), never")
        })
        .mut_arg("sparse", |a| {
            a.help("control creation of sparse files: auto (where the source has holes), always (also long runs of zeros), never")
        });
    let ids: Vec<String> = command.get_arguments().map(|a| a.get_id().to_string()).collect();
    for id in ids {
        if let Some(values) = words(&id) {
            command = command.mut_arg(id, |a| a.value_parser(PossibleValuesParser::new(values)));
        }
    }
    command
}

/// The bash completion script.
fn bash(command: &Command) -> String {
    let mut names = Vec::new();
    let mut cases = String::new();
    for arg in command.get_arguments().filter(|a| !a.is_positional()) {
        let takes = arg.get_action().takes_values();
        let optional = optional_value(arg);
        let mut spellings = Vec::new();
        if let Some(c) = arg.get_short() {
            names.push(format!("-{c}"));
            spellings.push(format!("-{c}"));
        }
        if let Some(long) = arg.get_long() {
            match (takes, optional) {
                (false, _) => names.push(format!("--{long}")),
                (true, true) => names.extend([format!("--{long}"), format!("--{long}=")]),
                (true, false) => names.push(format!("--{long}=")),
            }
            spellings.push(format!("--{long}"));
        }
        if !takes {
            continue;
        }
        let action = match (words(arg.get_id().as_str()), arg.get_value_hint()) {
            (Some(values), _) if arg.get_id() == "preserve" || arg.get_id() == "no_preserve" => {
                format!("_rcp_list '{}'", values.join(" "))
            }
            (Some(values), _) => format!("_rcp_words '{}'", values.join(" ")),
            (None, ValueHint::DirPath) => "_rcp_files -d".into(),
            (None, ValueHint::FilePath | ValueHint::AnyPath) => "_rcp_files -f".into(),
            (None, _) => "true".into(),
        };
        // getopt takes an optional value only after '=' (`--backup foo`: foo is a file).
        let guard = if optional { "((eq)) && " } else { "" };
        let _ =
            writeln!(cases, "        {}) {guard}{{ {action}; return; }} ;;", spellings.join("|"));
    }
    BASH.replace("@OPTIONS@", &names.join(" ")).replace("@CASES@", cases.trim_end())
}

const BASH: &str = r#"# bash completion for rcp (rcp --generate complete-bash)

_rcp_words() { COMPREPLY=($(compgen -W "$1" -- "$cur")); }

# A comma-separated list (--preserve=mode,own<TAB>): complete its last item.
_rcp_list() {
    local head= last=$cur
    if [[ $cur == *,* ]]; then head=${cur%,*},; last=${cur##*,}; fi
    COMPREPLY=($(compgen -P "$head" -W "$1" -- "$last"))
    compopt -o nospace
}

_rcp_files() {
    compopt -o filenames
    COMPREPLY=($(compgen "$1" -- "$cur"))
}

_rcp() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opt= eq=0 i
    # Bash splits --opt=value at the '=': the option is the word before it.
    if [[ $cur == = ]]; then
        opt=$prev cur= eq=1
    elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
        opt=${COMP_WORDS[COMP_CWORD-2]} eq=1
    elif [[ $prev == -* && $prev != --*=* ]]; then
        opt=$prev
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == -- ]] && { _rcp_files -f; return; }
    done
    case $opt in
@CASES@
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "@OPTIONS@" -- "$cur"))
        [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace
        return
    fi
    _rcp_files -f
}

complete -F _rcp rcp
"#;
