//! The man page (`rcp --generate man`), written as roff here: every option from the clap
//! definition (once, with its values), around the sections a reader of `man rcp` looks for
//! (EXIT STATUS, ENVIRONMENT, the report, the differences from GNU cp, EXAMPLES).

use std::fmt::Write as _;

use clap::{Command, CommandFactory};

use crate::cli::{Cli, value_form};

/// The page, for `command` as `generate::described` gives it.
pub(crate) fn page(command: &Command) -> String {
    let mut page = String::new();
    let version = env!("CARGO_PKG_VERSION");
    let _ = writeln!(page, ".TH RCP 1 \"\" \"rcp {version}\" \"User Commands\"");
    page += HEAD;
    page += ".SH OPTIONS\n";
    page += "Mandatory arguments to long options are mandatory for short options too.\n";
    // In the definition's order (changing an argument moves it to the end).
    let order: Vec<String> =
        Cli::command().get_arguments().map(|a| a.get_id().to_string()).collect();
    let mut args: Vec<&clap::Arg> =
        command.get_arguments().filter(|a| !a.is_positional()).collect();
    args.sort_by_key(|a| order.iter().position(|id| id == a.get_id().as_str()));
    for arg in args {
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(page, ".TP\n{}\n{}", spec(arg), escape(&help));
        let values: Vec<String> =
            arg.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
        if arg.get_action().takes_values() && !values.is_empty() {
            let _ = writeln!(page, ".br\nValues: {}.", escape(&values.join(", ")));
        }
    }
    page += TAIL;
    page
}

/// `\fB\-b\fR, \fB\-\-backup\fR[=\fICONTROL\fR]`.
fn spec(arg: &clap::Arg) -> String {
    let mut names = Vec::new();
    if let Some(c) = arg.get_short() {
        names.push(format!("\\fB\\-{c}\\fR"));
    }
    if arg.get_id() == "recursive" {
        names.push("\\fB\\-r\\fR".into());
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
    }
    let mut spec = names.join(", ");
    if let Some((before, name, after)) = value_form(arg) {
        spec += &format!("{before}\\fI{name}\\fR{after}");
    }
    spec
}

/// Text as roff shows it: backslashes and hyphens escaped, no line starting a request.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with(['.', '\'']) { format!("\\&{text}") } else { text }
}

const HEAD: &str = r#".SH NAME
rcp \- copy files by the cheapest kernel path
.SH SYNOPSIS
.B rcp
[\fIOPTION\fR]... [\fB\-T\fR] \fISOURCE\fR \fIDEST\fR
.br
.B rcp
[\fIOPTION\fR]... \fISOURCE\fR... \fIDIRECTORY\fR
.br
.B rcp
[\fIOPTION\fR]... \fB\-t\fR \fIDIRECTORY\fR \fISOURCE\fR...
.SH DESCRIPTION
Copy SOURCE to DEST, or multiple SOURCEs to DIRECTORY.
.B rcp
is a drop\-in replacement for GNU
.BR cp (1):
the same options, messages and exit statuses.
For every regular file it takes the first kernel path that works:
.IP 1. 4
.B ioctl(FICLONE)
\(em a reflink: no data moves, the two files share extents (Btrfs, XFS with reflink,
bcachefs, NFS 4.2, overlayfs on those);
.IP 2. 4
.BR copy_file_range (2)
\(em the kernel copies, and may clone or offload the copy to a server;
.IP 3. 4
.BR splice (2)
through a pipe \(em an in\-kernel copy between filesystems of different types;
.IP 4. 4
.BR read (2)/ write (2)
\(em the last resort (files that report size 0 but have data, as in /proc; pipes; devices).
.PP
A path is given up only for "not supported here" errors, and only before it has moved a
byte; any other error fails that file with cp's message and the copy goes on.
.B \-\-debug
and
.B \-\-report
say which path each file took, and why it fell back.
A file rcp created and could not finish is removed, so a torn file never looks complete;
.B \-\-atomic
also keeps an existing destination whole until its replacement is complete.
"#;

const TAIL: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Everything was copied, or skipped as asked (\fB\-n\fR, \fB\-u\fR, a declined \fB\-i\fR).
.TP
.B 1
An entry failed, the command line was wrong, or standard output or the report could not be
written. The other operands are still copied.
.TP
.B 129, 130, 143
Stopped by SIGHUP, SIGINT or SIGTERM: the file being written is removed if rcp created it
(under \fB\-\-resume\fR, its data is kept as \fI.NAME.rcp\-partial\fR for the next run),
and rcp says \fBrcp: interrupted by SIGINT\fR (or the signal's name). A second such signal,
100 ms or more later, exits at once.
.PP
SIGUSR1 prints one status line on standard error (files and bytes done, of the total once
counted, the rate) and the copy goes on.
.SH ENVIRONMENT
.TP
.B VERSION_CONTROL
The backup method when \fB\-\-backup\fR is given without a value: none/off, numbered/t,
existing/nil, simple/never.
.TP
.B SIMPLE_BACKUP_SUFFIX
The backup suffix, unless \fB\-\-suffix\fR is given (default \fB~\fR).
.TP
.B POSIXLY_CORRECT
As in GNU cp: a dangling symlink destination is opened (and its target created) rather
than refused.
.TP
.B LC_ALL, LC_CTYPE, LANG
The progress bar draws UTF\-8 characters only when the locale is UTF\-8, ASCII otherwise.
.SH REPORT
.B \-\-report
writes one record for every operand and every entry below it \(em copied, skipped (with a
reason) or failed (with the message printed on standard error) \(em then one summary record,
always last, also when nothing could be copied or the run was interrupted.
.B \-\-report=json
writes one JSON object per line, described by the JSON Schema that
.B rcp \-\-generate report\-schema
prints (\fIdoc/report.schema.json\fR in rcp's source); with it on standard output, \fB\-v\fR and \fB\-\-debug\fR lines go to
standard error.
.B \-\-report\-file=\fIPATH\fR
writes the records to PATH instead (JSON unless \fB\-\-report=text\fR).
.SH EXCLUDING
\fB\-\-exclude\fR patterns follow gitignore's rules on each entry's path relative to its
SOURCE operand: a pattern without \fB/\fR matches a name at any depth, a trailing \fB/\fR
matches directories only, a leading \fB/\fR anchors at the operand, \fB**\fR matches any
number of directories, and \fB!\fR takes a name back; later patterns win. An excluded
directory is not entered; each excluded entry has a skipped record with reason
\fBexcluded\fR. Operands are never excluded.
.SH "DRY RUN"
\fB\-\-dry\-run\fR makes every decision of a real run \(em created, overwritten, backed up,
removed, skipped, refused \(em and writes nothing to the destination: sources are opened and
read as a real run reads them, destinations only looked at. Messages, \fB\-v\fR lines and
the exit status are the real run's; \fB\-v\fR ends with \fBdry run: nothing was written\fR,
each record has \fB"dry_run": true\fR and the summary says so. A regular file's record holds
the copy path rcp predicts (\fB"predicted": true\fR) from the filesystems at both ends, their
devices and the policy: \fBclone\fR within one Btrfs, bcachefs or reflink XFS;
\fBcopy_file_range\fR within any other filesystem; \fBsplice\fR between two (but NFS, CIFS,
Ceph and FUSE to their own kind); \fBread_write\fR for empty files and \fB\-\-sparse=always\fR.
A copy into itself is refused at its operand, since no directory is made for the walk to meet.
.SH PROGRESS
On a terminal rcp draws a bar on standard error: a spinner while it counts the files and
bytes to copy (on a thread of its own, never delaying the copy), then files and bytes done
of the totals, the rate and the time left. It is cleared before any line is printed and
when the copy ends. With \fB\-\-progress\fR and standard error not a terminal, rcp writes a
plain status line every 5 seconds and one at the end, for logs. By default the bar is
drawn only when standard error is a terminal and no \fB\-v\fR, \fB\-\-debug\fR or report
lines go to a standard output that is not that same terminal.
.SH "MANY MACHINES"
Built with MPI (\fBcargo install \-\-path . \-\-features mpi\fR, with Open MPI's or MPICH's
development packages and libclang), rcp started as the ranks of one job by \fBmpirun\fR or
\fBsrun\fR (\fBsrun \-n 64 rcp \-a \-\-resume \-T src dst\fR) copies the operands
together: rank 0 checks the operands and prints all output, every rank walks, and a rank
that runs dry is sent a directory tree another rank made. \fB\-j\fR is threads per rank.
Files with several hard links go to the rank owning their inode, which keeps them linked;
the directories they go into are finished after them, deepest first. The summary,
\fB\-\-stats\fR and the exit status are the whole job's. A killed rank ends the job; the
same command with \fB\-\-resume\fR completes it. \fB\-i\fR is refused across ranks;
\fB\-\-atomic\fR removes only stale temporaries of its own host. \fB\-\-progress\fR shows the whole
job's files and bytes done, without a total (the tree is not walked twice to count it).
When the ranks run on more than one host, a regular file bigger than
\fB\-\-chunk\-size\fR (64M) that cannot be cloned whole is cut into pieces of that size: its rank copies them from the front while idle ranks take them
from the back, the last piece goes last (a copy cut short is shorter than its source), a
piece that fails elsewhere is copied again by the file's rank, and the file has one record
(with \fBpieces\fR: how many, and how many other ranks copied). A build without MPI started
as one of several ranks refuses to copy.
.SH "DIFFERENCES FROM GNU CP"
.IP \(bu 2
A destination rcp created is removed when its copy fails; GNU cp 9.1 leaves it partial.
.IP \(bu 2
SIGINT, SIGTERM and SIGHUP are caught: the file being written is removed, then rcp exits
130, 143 or 129 with a message.
.IP \(bu 2
A regular file is copied up to the size it had when opened; one that shrinks while it is
copied fails. Files reporting size 0, and files on pseudo-filesystems (sysfs, procfs,
debugfs...), are read to their end.
.IP \(bu 2
\fB\-\-sparse=never\fR and \fB\-\-reflink=never\fR avoid copy_file_range, since the kernel
may clone inside it.
.IP \(bu 2
A simple backup goes beside the file it backs up, as in GNU cp 9.2.
.IP \(bu 2
Declining \fB\-i\fR exits 0, as GNU cp 9.1 does (9.2 and later exit 1).
.IP \(bu 2
A directory swapped for a symlink during the copy is not followed; trees deeper than
PATH_MAX are copied.
.IP \(bu 2
\fB\-\-debug\fR (GNU 9.2's format plus a \fBstrategy:\fR line), \fB\-\-report\fR,
\fB\-\-report\-file\fR, \fB\-\-stats\fR, \fB\-\-atomic\fR, \fB\-\-fsync\fR, \fB\-j\fR, \fB\-\-chunk\-size\fR,
\fB\-\-progress\fR, \fB\-\-resume\fR, \fB\-\-verify\fR, \fB\-\-dry\-run\fR, \fB\-\-exclude\fR, \fB\-\-exclude\-from\fR, \fB\-\-link\-dest\fR, \fB\-\-copy\-dest\fR, \fB\-\-compare\-dest\fR and \fB\-\-generate\fR are rcp's own; where a prefix matches one of GNU cp's options, only GNU's count, so every abbreviation GNU cp takes means the same here.
.IP \(bu 2
With \fB\-j\fR, files are filled by several threads; names in the destination are still
made in GNU's order on one thread, and every line comes out in that order.
.SH EXAMPLES
.TP
.B rcp \-a \-\-resume \-\-reflink=auto \-\-exclude='*.o' \-\-exclude=.cache/ \-\-report\-file=/var/log/backup.json /home/. /mnt/backup/home
A backup: attributes kept, files already there with the same size and time left alone
(\fB\-\-resume\fR), reflinks where the filesystem has them, object files and cache
directories left out, a JSON record of every entry for the script to check; the exit status
says whether anything failed.
.TP
.B rcp \-a \-\-resume \-\-exclude='*.o' \-\-dry\-run \-\-report=text /home/. /mnt/backup/home
What that backup would do, entry by entry, each file's predicted copy path included, with
nothing written; then run it without \fB\-\-dry\-run\fR (and with \fB\-\-verify\fR to read
each copied file back).
.TP
.B rcp \-\-atomic \-\-fsync build/app /usr/local/bin/app
Replace a file so that a crash leaves the old one or the new one, never a torn one.
.TP
.B rcp \-p build/app $(DESTDIR)/bin/
In a Makefile recipe, in place of cp: the same options, messages and exit status.
.TP
.B rcp \-\-debug big.iso /mnt/btrfs/
Prints which path the copy took:
.br
\fBstrategy: clone\fR, or \fBstrategy: splice (fell back from: clone: EXDEV,
copy_file_range: EXDEV)\fR.
.TP
.B kill \-USR1 $(pidof rcp)
Ask a running copy how far it is.
.SH "SEE ALSO"
.BR cp (1),
.BR ioctl_ficlone (2),
.BR copy_file_range (2),
.BR splice (2),
.BR rsync (1)
.PP
rcp's README, and its report schema:
.BR "rcp \-\-generate report\-schema" .
"#;
