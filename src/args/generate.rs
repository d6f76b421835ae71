//! `--generate`: the man page and shell completions, made from the same clap definition
//! that parses the command line, so they cannot drift from it.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::argmatch::argmatch;
use crate::args::cli::Cli;
use crate::error::UsageError;

/// The man page (`man`) or a completion script (`complete-bash|zsh|fish`).
pub(crate) fn generate(what: &str) -> Result<Vec<u8>, UsageError> {
    #[derive(Clone, Copy, PartialEq)]
    enum What {
        Man,
        Shell(Shell),
    }
    const TABLE: &[(&str, What)] = &[
        ("man", What::Man),
        ("complete-bash", What::Shell(Shell::Bash)),
        ("complete-zsh", What::Shell(Shell::Zsh)),
        ("complete-fish", What::Shell(Shell::Fish)),
    ];
    let mut command = Cli::command();
    let mut out: Vec<u8> = Vec::new();
    match argmatch("--generate", what, TABLE)? {
        What::Man => {
            let page = clap_mangen::Man::new(command);
            page.render(&mut out).expect("rendering to memory cannot fail");
        }
        What::Shell(shell) => clap_complete::generate(shell, &mut command, "rcp", &mut out),
    }
    Ok(out)
}
