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

/// A usage error: printed with the `Try 'rcp --help'` line, exit status 1.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl Options {
    pub fn resolve(cli: Cli) -> Result<Options, UsageError> {
        if cli.target_directory.is_some() && cli.no_target_directory {
            return Err(UsageError(
                "cannot combine --target-directory (-t) and --no-target-directory (-T)".into(),
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
            return Err(UsageError("--reflink can be used only with --sparse=auto".into()));
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
