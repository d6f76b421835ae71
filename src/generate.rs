//! `--generate`: the man page and shell completions, made from the same clap definition
//! that parses the command line, so they cannot drift from it.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Prints the man page (`man`) or a completion script (`complete-bash|zsh|fish`).
pub fn generate(program: &str, what: &str) -> i32 {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    let shell = match what {
        "man" => {
            let page = clap_mangen::Man::new(command.clone());
            return match page.render(&mut out) {
                Ok(()) => 0,
                Err(e) => {
                    crate::report::message(program, &format!("write error: {e}"));
                    1
                }
            };
        }
        "complete-bash" => Shell::Bash,
        "complete-zsh" => Shell::Zsh,
        "complete-fish" => Shell::Fish,
        other => {
            let message = format!(
                "invalid argument {} for '--generate'\nValid arguments are:\n  - 'man'\n  - 'complete-bash'\n  - 'complete-zsh'\n  - 'complete-fish'",
                crate::quote::quote_str(other)
            );
            crate::report::usage(program, &crate::options::UsageError::new(message));
            return 1;
        }
    };
    clap_complete::generate(shell, &mut command, "rcp", &mut out);
    let _ = out.flush();
    0
}
