//! `--generate`: the man page and shell completions, made from the same clap definition
//! that parses the command line, so they cannot drift from it.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::cli::Cli;

/// Prints the man page (`man`) or a completion script (`complete-bash|zsh|fish`).
pub(crate) fn generate(program: &str, what: &str) -> i32 {
    let mut command = Cli::command();
    let mut out: Vec<u8> = Vec::new();
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
    let shell = match crate::args::argmatch::argmatch("--generate", what, TABLE) {
        Ok(What::Shell(shell)) => shell,
        Ok(What::Man) => {
            let page = clap_mangen::Man::new(command.clone());
            page.render(&mut out).expect("rendering to memory cannot fail");
            return crate::report::print_stdout(program, &out);
        }
        Err(usage) => {
            crate::report::usage(program, &usage);
            return 1;
        }
    };
    clap_complete::generate(shell, &mut command, "rcp", &mut out);
    crate::report::print_stdout(program, &out)
}
