//! What the parsed command line means: defaults filled in, implications applied, and the
//! combinations GNU cp refuses turned into usage errors.

use std::path::PathBuf;

use crate::cli::{Cli, ReflinkArg, ReportFormat, SparseArg};
use crate::engine::{Policy, Reflink, Sparse};

/// Everything a run needs to know, resolved.
#[derive(Debug, Clone)]
pub struct Options {
    pub recursive: bool,
    pub policy: Policy,
    pub verbose: bool,
    pub debug: bool,
    pub report: Option<ReportFormat>,
    pub report_file: Option<PathBuf>,
    pub stats: bool,
    pub target_directory: Option<PathBuf>,
    pub no_target_directory: bool,
    pub operands: Vec<PathBuf>,
}

/// A usage error, exit status 1; `hint` adds GNU's `Try 'rcp --help'` line.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
    pub hint: bool,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError { message: message.into(), hint: true }
    }

    /// A refusal GNU prints without the hint line.
    pub fn bare(message: impl Into<String>) -> Self {
        UsageError { message: message.into(), hint: false }
    }
}

impl Options {
    pub fn resolve(cli: Cli) -> Result<Options, UsageError> {
        if cli.target_directory.is_some() && cli.no_target_directory {
            return Err(UsageError::bare(
                "cannot combine --target-directory (-t) and --no-target-directory (-T)",
            ));
        }
        let reflink = match cli.reflink {
            None | Some(ReflinkArg::Auto) => Reflink::Auto,
            Some(ReflinkArg::Always) => Reflink::Always,
            Some(ReflinkArg::Never) => Reflink::Never,
        };
        let sparse = match cli.sparse {
            None | Some(SparseArg::Auto) => Sparse::Auto,
            Some(SparseArg::Always) => Sparse::Always,
            Some(SparseArg::Never) => Sparse::Never,
        };
        if reflink == Reflink::Always && sparse != Sparse::Auto {
            return Err(UsageError::new("--reflink can be used only with --sparse=auto"));
        }
        Ok(Options {
            recursive: cli.recursive,
            policy: Policy { reflink, sparse },
            verbose: cli.verbose || cli.debug,
            debug: cli.debug,
            report: cli.report,
            report_file: cli.report_file,
            stats: cli.stats,
            target_directory: cli.target_directory,
            no_target_directory: cli.no_target_directory,
            operands: cli.operands.into_iter().map(PathBuf::from).collect(),
        })
    }
}
