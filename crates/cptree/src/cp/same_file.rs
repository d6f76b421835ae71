//! GNU's `same_file_ok` (without its `mv` branches): may `src` be copied onto the existing
//! `dst` when both may be one file — through hard links, symlinks, or one name given twice?

use rustix::fs::{FileType, Stat};

use crate::options::{Backup, Deref, Options};
use crate::sys::at::At;
use crate::sys::path::same_name;
use crate::sys::{ino, is};

/// The answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SameFile {
    /// Copy as usual.
    Proceed,
    /// Nothing to do: `dst` already is what the copy would make (a hard link to the
    /// source under `-l`, the same symlink).
    AlreadyDone,
    /// `'a' and 'b' are the same file`.
    Refuse,
}

fn symlink(st: &Stat) -> bool {
    is(st.st_mode, FileType::Symlink)
}

/// Whether `src` (status `src_st`) may be copied onto the existing `dst` (status `dst_st`,
/// an lstat when symlinks are not followed).
pub(crate) fn same_file(
    opts: &Options,
    (src_at, src_st): (&At, &Stat),
    (dst_at, dst_st): (&At, &Stat),
) -> SameFile {
    use SameFile::{AlreadyDone, Proceed, Refuse};
    let (src, dst) = (src_at.path(), dst_at.path());
    let same = ino(src_st) == ino(dst_st);
    if same && opts.hard_link {
        return AlreadyDone;
    }
    let (src_l, dst_l, same_link);
    if opts.deref == Deref::Never {
        same_link = same;
        if symlink(src_st) && symlink(dst_st) {
            if same_name(src, dst) {
                return Refuse;
            }
            return if opts.backup == Backup::None && same_link { AlreadyDone } else { Proceed };
        }
        (src_l, dst_l) = (*src_st, *dst_st);
    } else {
        if !same {
            return Proceed;
        }
        let (Ok(d), Ok(s)) = (dst_at.lstat(), src_at.lstat()) else { return Proceed };
        (src_l, dst_l) = (s, d);
        same_link = ino(&src_l) == ino(&dst_l);
        if symlink(&src_l) && symlink(&dst_l) && opts.remove_destination {
            return Proceed;
        }
    }
    if opts.backup != Backup::None {
        let ok = if same_link {
            !same_name(src, dst)
        } else {
            !(opts.deref != Deref::Never && symlink(&src_l) && !symlink(&dst_l))
        };
        return if ok { Proceed } else { Refuse };
    }
    if opts.remove_destination
        && (symlink(&dst_l) || (same_link && dst_l.st_nlink > 1 && !same_name(src, dst)))
    {
        return Proceed;
    }
    if !symlink(&src_l) && !symlink(&dst_l) {
        if ino(&src_l) != ino(&dst_l) {
            return Proceed;
        }
        if opts.hard_link {
            return AlreadyDone;
        }
    }
    if opts.symbolic_link && symlink(&dst_l) {
        return Proceed;
    }
    if opts.deref == Deref::Never {
        // What each names once a final symlink is followed.
        let target = |at: &At, l: Stat| if symlink(&l) { at.stat().ok() } else { Some(l) };
        let (Some(s), Some(d)) = (target(src_at, src_l), target(dst_at, dst_l)) else {
            return Proceed;
        };
        if ino(&s) != ino(&d) {
            return Proceed;
        }
        if opts.hard_link {
            // Linking the same file is fine; replacing a symlink to it still goes ahead.
            return if symlink(&dst_l) { Proceed } else { AlreadyDone };
        }
    }
    Refuse
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::Path;

    use super::*;
    use crate::options::Options;

    /// Options as `rcp ARGS a b` resolves them, for the options this table uses.
    fn for_args(args: &[&str]) -> Options {
        let mut opts = Options::default();
        for arg in args {
            match *arg {
                "-P" => opts.deref = Deref::Never,
                "-l" => opts.hard_link = true,
                "-s" => opts.symbolic_link = true,
                "--remove-destination" => opts.remove_destination = true,
                "--backup=simple" => opts.backup = Backup::Simple,
                other => panic!("{other}: not in this table's options"),
            }
        }
        opts
    }

    /// `same_file` for `rcp ARGS src dst` in `dir`, with the statuses `copy_internal` has.
    fn verdict(dir: &Path, args: &[&str], src: &str, dst: &str) -> SameFile {
        let opts = for_args(args);
        let (s, d) = (At::cwd(&dir.join(src)), At::cwd(&dir.join(dst)));
        let follow = opts.deref != Deref::Never;
        let src_st = s.stat_as(follow).expect("source");
        // GNU lstats the destination whenever it makes links, backups or removals.
        let lstat = opts.backup != Backup::None
            || opts.hard_link
            || opts.symbolic_link
            || opts.remove_destination
            || !follow;
        let dst_st = d.stat_as(!lstat).expect("destination");
        same_file(&opts, (&s, &src_st), (&d, &dst_st))
    }

    #[test]
    fn same_file_rules_are_gnus() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("f"), "f").unwrap();
        std::fs::write(d.join("other"), "o").unwrap();
        std::fs::hard_link(d.join("f"), d.join("hard")).unwrap();
        symlink("f", d.join("sym")).unwrap();
        symlink("f", d.join("sym2")).unwrap();
        std::fs::hard_link(d.join("sym"), d.join("symhard")).unwrap();
        use SameFile::{AlreadyDone, Proceed, Refuse};
        // (options, source, destination) → verdict, as GNU cp 9.1 decides
        let table: [(&[&str], &str, &str, SameFile); 15] = [
            (&[], "f", "other", Proceed),
            (&[], "f", "f", Refuse),
            (&[], "f", "hard", Refuse),
            (&[], "f", "sym", Refuse),
            (&["-P"], "f", "sym", Refuse),
            (&["-l"], "f", "hard", AlreadyDone),
            (&["-s"], "f", "sym", Proceed),
            (&["--remove-destination"], "f", "sym", Proceed),
            (&["-P", "--remove-destination"], "f", "hard", Proceed),
            (&["--backup=simple"], "f", "hard", Proceed),
            (&["--backup=simple"], "f", "f", Refuse),
            (&["-P"], "sym", "sym2", Proceed),
            (&["-P"], "sym", "symhard", AlreadyDone),
            (&["-P", "--backup=simple"], "sym", "symhard", Proceed),
            (&["-P"], "sym", "sym", Refuse),
        ];
        for (args, src, dst, want) in table {
            assert_eq!(verdict(d, args, src, dst), want, "rcp {args:?} {src} {dst}");
        }
    }
}
