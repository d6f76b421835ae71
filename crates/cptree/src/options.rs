//! Everything a run needs to know, resolved: what GNU cp's command line comes to once its
//! rules are applied (the `rcp` binary decides it from argv; `Copier` sets it from Rust).
//! `check` refuses the combinations GNU refuses after its option loop.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::UsageError;
use crate::exclude::Exclude;
use copychain::{Policy, Reflink, Sparse};

/// Which symlinks among the sources are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deref {
    /// `-P`: none (copied as symlinks).
    Never,
    /// `-H`: those named on the command line.
    CommandLine,
    /// `-L`: every one.
    Always,
}

/// What to do when the destination exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interactive {
    /// Overwrite.
    Unset,
    /// `-n`, `--update=none`: skip silently, exit status unaffected.
    Skip,
    /// `--update=none-fail`: skip with `not replacing 'x'`, exit status 1.
    Fail,
    /// `-i`: ask on stderr, read the answer from stdin.
    Ask,
}

/// Backups of replaced destinations (`--backup=CONTROL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    /// No backups.
    None,
    /// `simple`: `NAME~` (the suffix).
    Simple,
    /// `existing`: numbered if numbered ones exist, else simple.
    Existing,
    /// `numbered`: `NAME.~N~`.
    Numbered,
}

/// Which attributes the copy carries over (`-p`, `-a`, `--preserve`, `--no-preserve`),
/// and how hard it tries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attributes {
    /// Permission bits and ACLs.
    pub mode: bool,
    /// Owner and group.
    pub ownership: bool,
    /// Access and modification times.
    pub timestamps: bool,
    /// Hard links among the sources stay hard links.
    pub links: bool,
    /// SELinux contexts (accepted; without SELinux nothing is copied).
    pub context: bool,
    /// Extended attributes.
    pub xattr: bool,
    /// `--no-preserve=mode`: new files get 0666/0777 less the umask.
    pub explicit_no_mode: bool,
    /// Failing to preserve is an error (any of `-p`, `--preserve`; `-a` sets it too).
    pub required: bool,
    /// `--preserve=xattr` named: an xattr that cannot be copied fails the entry.
    pub require_xattr: bool,
    /// `--preserve=context` named (not through `all` or `-a`): without SELinux, GNU refuses
    /// to start.
    pub require_context: bool,
    /// `-a`: some failures (xattrs on filesystems without them) stay silent.
    pub reduce_diagnostics: bool,
}

/// How records are written (`--report=text|json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// One line per entry for people.
    Text,
    /// JSON Lines (`doc/report.schema.json`).
    Json,
}

/// Everything a run needs to know, resolved. `Options::default()` is `cp SRC DST` with no
/// option; set fields, then `check`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// `-r`: copy directories and their contents.
    pub recursive: bool,
    /// Which symlinks are followed.
    pub deref: Deref,
    /// What to do about an existing destination.
    pub interactive: Interactive,
    /// `-u`: skip when the destination is not older.
    pub update_older: bool,
    /// `-f`: unlink a destination that cannot be opened and try again.
    pub force: bool,
    /// `--remove-destination`.
    pub remove_destination: bool,
    /// Backups of replaced destinations.
    pub backup: Backup,
    /// The simple backup suffix (`~`).
    pub suffix: OsString,
    /// `-l`: hard links instead of copies.
    pub hard_link: bool,
    /// `-s`: symbolic links instead of copies.
    pub symbolic_link: bool,
    /// Special files are read as data: without `-r`, or with `--copy-contents`.
    pub copy_as_regular: bool,
    /// `--keep-directory-symlink`.
    pub keep_directory_symlink: bool,
    /// `-x`: stay on the sources' filesystems.
    pub one_file_system: bool,
    /// False with `--attributes-only`.
    pub data: bool,
    /// `--parents`: the source's path is made under the target directory.
    pub parents: bool,
    /// `--strip-trailing-slashes`.
    pub strip_trailing_slashes: bool,
    /// The attributes carried over.
    pub preserve: Attributes,
    /// POSIXLY_CORRECT: write through a dangling destination symlink.
    pub open_dangling_symlink: bool,
    /// The engine's `--reflink` and `--sparse`.
    pub policy: Policy,
    /// `-v`.
    pub verbose: bool,
    /// `--debug`.
    pub debug: bool,
    /// `--report`.
    pub report: Option<ReportFormat>,
    /// `--report-file`.
    pub report_file: Option<PathBuf>,
    /// `--stats`.
    pub stats: bool,
    /// `-t`.
    pub target_directory: Option<PathBuf>,
    /// `-T`.
    pub no_target_directory: bool,
    /// The operands: sources, then the destination (unless `-t`).
    pub operands: Vec<PathBuf>,
    /// `-j`: threads filling files (1: all in line); `None`: one per CPU, counted only when
    /// a tree is copied (a single file pays for no cgroup reads).
    pub jobs: Option<usize>,
    /// `--verify`: read each copied file back and compare it with the source.
    pub verify: bool,
    /// `--resume`: skip regular files whose destination passes the quick check.
    pub resume: bool,
    /// `--dry-run`: decide, report, write nothing.
    pub dry_run: bool,
    /// `--exclude`, `--exclude-from`: entries below an operand to leave out.
    pub exclude: Option<Exclude>,
    /// Show the progress bar.
    pub progress: bool,
    /// `--atomic`: write each regular file under a temporary name, rename it into place.
    pub atomic: bool,
    /// `--fsync`: make each file (and, with `--atomic`, its rename) durable before going on.
    pub fsync: bool,
    /// `--chunk-size`: under several ranks (`spread`), a regular file bigger than this is
    /// cut into pieces of this many bytes that several ranks copy at once.
    pub chunk_size: u64,
    /// `--link-dest`, `--copy-dest`, `--compare-dest` (rsync's): earlier copies an
    /// unchanged regular file is taken from.
    pub basis: Option<Basis>,
}

/// Earlier copies of the tree (the last snapshot, say), each a directory that stands where
/// the destination directory does: a regular file whose copy at the same relative path in
/// one of them is unchanged (rsync's quick check) is linked to it, copied from it, or left
/// out, as `how` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Basis {
    /// What an unchanged file gets.
    pub how: BasisHow,
    /// The directories as given (a relative one is relative to the destination directory),
    /// tried in order.
    pub dirs: Vec<PathBuf>,
}

/// What a file unchanged in a `Basis` directory gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BasisHow {
    /// `--compare-dest`: nothing: it is left out of the copy.
    Compare,
    /// `--copy-dest`: it is copied from there (a clone where the filesystem can).
    Copy,
    /// `--link-dest`: a hard link to it.
    Link,
}

impl BasisHow {
    /// The option that asks for it.
    pub fn option(self) -> &'static str {
        match self {
            BasisHow::Compare => "--compare-dest",
            BasisHow::Copy => "--copy-dest",
            BasisHow::Link => "--link-dest",
        }
    }
}

/// The most `Basis` directories (rsync's limit).
pub const MAX_BASIS_DIRS: usize = 20;

/// `--chunk-size`'s default: 64 MiB.
pub const DEFAULT_CHUNK: u64 = 64 << 20;

impl Default for Options {
    fn default() -> Options {
        Options {
            recursive: false,
            deref: Deref::Always,
            interactive: Interactive::Unset,
            update_older: false,
            force: false,
            remove_destination: false,
            backup: Backup::None,
            suffix: "~".into(),
            hard_link: false,
            symbolic_link: false,
            copy_as_regular: true,
            keep_directory_symlink: false,
            one_file_system: false,
            data: true,
            parents: false,
            strip_trailing_slashes: false,
            preserve: Attributes::default(),
            open_dangling_symlink: false,
            policy: Policy { reflink: Reflink::Auto, sparse: Sparse::Auto },
            verbose: false,
            debug: false,
            report: None,
            report_file: None,
            stats: false,
            target_directory: None,
            no_target_directory: false,
            operands: Vec::new(),
            jobs: None,
            verify: false,
            resume: false,
            dry_run: false,
            exclude: None,
            progress: false,
            atomic: false,
            fsync: false,
            chunk_size: DEFAULT_CHUNK,
            basis: None,
        }
    }
}

impl Options {
    /// The combinations GNU refuses after its option loop, in its order: `-l` with `-s`,
    /// backups with `-n`, `--reflink=always` with a `--sparse` other than `auto`; `-j 0`;
    /// and `--attributes-only` with an earlier copy (`--link-dest`...: it copies no data).
    pub fn check(&self) -> Result<(), UsageError> {
        if self.hard_link && self.symbolic_link {
            return Err(UsageError::new("cannot make both hard and symbolic links"));
        }
        let no_clobber = matches!(self.interactive, Interactive::Skip | Interactive::Fail);
        if self.backup != Backup::None && no_clobber {
            return Err(UsageError::new(
                "options --backup and --no-clobber are mutually exclusive",
            ));
        }
        if self.policy.reflink == Reflink::Always && self.policy.sparse != Sparse::Auto {
            return Err(UsageError::new("--reflink can be used only with --sparse=auto"));
        }
        if self.jobs == Some(0) {
            return Err(UsageError::bare("invalid number of jobs: '0'"));
        }
        if let (false, Some(basis)) = (self.data, &self.basis) {
            let option = basis.how.option();
            return Err(UsageError::new(format!(
                "options --attributes-only and {option} are mutually exclusive"
            )));
        }
        Ok(())
    }
}
