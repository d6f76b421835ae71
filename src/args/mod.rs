//! The command line, from argv to what it means: the clap definition and getopt's rules
//! (`cli`), GNU's value matching (`argmatch`), resolved `Options`, operands turned into
//! pairs (`plan`), and the man page and completions made from the same definition.

pub(crate) mod argmatch;
pub(crate) mod cli;
pub(crate) mod exclude;
pub(crate) mod generate;
mod man;
pub(crate) mod options;
pub(crate) mod plan;
