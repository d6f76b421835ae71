//! The command line as clap sees it: GNU cp's spellings plus rcp's own reporting options.
//! Parsing only; meaning is given in `options`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "rcp",
    version,
    about = "Copy SOURCE to DEST, or multiple SOURCE(s) to DIRECTORY, by the cheapest kernel path.",
    override_usage = "rcp [OPTION]... [-T] SOURCE DEST\n       rcp [OPTION]... SOURCE... DIRECTORY\n       rcp [OPTION]... -t DIRECTORY SOURCE...",
    after_help = "Each regular file is copied by the first path that works: a reflink (FICLONE), \
copy_file_range, splice through a pipe, or read/write. --debug and --report say which."
)]
pub struct Cli {
    /// Copy directories recursively
    #[arg(short = 'r', short_alias = 'R', long = "recursive")]
    pub recursive: bool,

    /// Control clone/CoW copies: auto, always (the default when WHEN is omitted), never
    #[arg(long, value_name = "WHEN", num_args = 0..=1, require_equals = true,
          default_missing_value = "always", value_enum)]
    pub reflink: Option<ReflinkArg>,

    /// Control creation of sparse files: auto, always, never
    #[arg(long, value_name = "WHEN", require_equals = true, value_enum)]
    pub sparse: Option<SparseArg>,

    /// Copy all SOURCE arguments into DIRECTORY
    #[arg(short = 't', long = "target-directory", value_name = "DIRECTORY")]
    pub target_directory: Option<PathBuf>,

    /// Treat DEST as a normal file
    #[arg(short = 'T', long = "no-target-directory")]
    pub no_target_directory: bool,

    /// Explain what is being done
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Explain how each file is copied (implies -v)
    #[arg(long)]
    pub debug: bool,

    /// Report the path each file took, one record per file: text (default) or json
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true,
          default_missing_value = "text", value_enum)]
    pub report: Option<ReportFormat>,

    /// Write the --report records to PATH instead of standard output
    #[arg(long, value_name = "PATH", requires = "report")]
    pub report_file: Option<PathBuf>,

    /// Print files and bytes per strategy, elapsed time and throughput at the end
    #[arg(long)]
    pub stats: bool,

    #[arg(value_name = "SOURCE", num_args = 0.., allow_hyphen_values = false)]
    pub operands: Vec<OsString>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReflinkArg {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SparseArg {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}
