//! Backups of destinations about to be replaced (`-b`, `--backup=CONTROL`, `-S`): GNU's
//! simple (`f~`) and numbered (`f.~3~`) names, and its check that a backup would not destroy
//! the source.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::Stat;
use rustix::io::Errno;

use crate::options::Backup;
use crate::sys::at::At;
use crate::sys::ino;

/// The name `dst` would be backed up to.
pub fn backup_name(dst: &Path, kind: Backup, suffix: &OsString) -> PathBuf {
    backup_at(&At::cwd(dst), kind, suffix).path().to_path_buf()
}

/// The name `dst` would be backed up to, beside it.
pub(crate) fn backup_at(dst: &At, kind: Backup, suffix: &OsString) -> At {
    let numbered = || {
        let next = highest_number(dst).map_or(1, |n| n + 1);
        fit(dst, dst.with_suffix(format!(".~{next}~").as_bytes()))
    };
    match kind {
        Backup::Numbered => numbered(),
        Backup::Existing if highest_number(dst).is_some() => numbered(),
        // gnulib checks the length of a name it chose (numbered, or simple for want of
        // numbered ones), not of the simple name asked for.
        Backup::Existing => fit(dst, dst.with_suffix(suffix.as_bytes())),
        _ => dst.with_suffix(suffix.as_bytes()),
    }
}

/// gnulib's `check_extension`: a backup name longer than gnulib allows (a name's limit,
/// 255, less one: 254 bytes) is the file's own name, cut to 253 bytes if longer, then `~`.
fn fit(dst: &At, name: At) -> At {
    const BASE_MAX: usize = 254;
    if name.base().len() <= BASE_MAX {
        return name;
    }
    let own = dst.base().as_bytes();
    let short = [&own[..own.len().min(BASE_MAX - 1)], b"~"].concat();
    dst.sibling(std::ffi::OsStr::from_bytes(&short))
}

/// Renames `dst` to its backup name; returns that name (ENOENT: nothing to back up).
pub(crate) fn backup(dst: &At, kind: Backup, suffix: &OsString) -> Result<At, Errno> {
    let name = backup_at(dst, kind, suffix);
    dst.rename_to(&name)?;
    Ok(name)
}

/// GNU's `source_is_dst_backup`: the source is the simple backup of this destination.
pub(crate) fn source_is_backup_of(src: &At, src_st: &Stat, dst: &At, suffix: &OsString) -> bool {
    let (srcbase, dstbase) = (src.base().as_bytes(), dst.base().as_bytes());
    let mut expected = dstbase.to_vec();
    expected.extend_from_slice(suffix.as_bytes());
    if srcbase != expected.as_slice() {
        return false;
    }
    dst.with_suffix(suffix.as_bytes()).stat().is_ok_and(|st| ino(&st) == ino(src_st))
}

/// The highest N among existing `NAME.~N~` beside `dst`.
fn highest_number(dst: &At) -> Option<u64> {
    let mut prefix = dst.base().as_bytes().to_vec();
    prefix.extend_from_slice(b".~");
    dst.siblings()
        .into_iter()
        .filter_map(|name| {
            let rest = name.as_bytes().strip_prefix(prefix.as_slice())?.strip_suffix(b"~")?;
            let valid = !rest.is_empty() && rest[0] != b'0' && rest.iter().all(u8::is_ascii_digit);
            valid.then(|| std::str::from_utf8(rest).ok()?.parse::<u64>().ok()).flatten()
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_follow_gnus_version_control() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        let name = |kind, suffix: &str, existing: &[&str]| {
            for e in existing {
                std::fs::write(dir.path().join(e), "").unwrap();
            }
            let got = backup_name(&f, kind, &suffix.into());
            for e in existing {
                std::fs::remove_file(dir.path().join(e)).unwrap();
            }
            got.file_name().unwrap().to_string_lossy().into_owned()
        };
        // (control, suffix, backups already there) → the backup's name
        let table: [(Backup, &str, &[&str], &str); 9] = [
            (Backup::Simple, "~", &[], "f~"),
            (Backup::Simple, ".bak", &["f.~1~"], "f.bak"),
            (Backup::Numbered, "~", &[], "f.~1~"),
            (Backup::Numbered, "~", &["f.~1~", "f.~9~"], "f.~10~"),
            (Backup::Existing, "~", &[], "f~"),
            (Backup::Existing, "~", &["f.~2~"], "f.~3~"),
            // Not numbered backups of f: a leading zero, no digits, another file's.
            (Backup::Numbered, "~", &["f.~01~", "f.~x~", "g.~5~", "f.~~"], "f.~1~"),
            (Backup::Existing, "~", &["f.~07~"], "f~"),
            (Backup::Numbered, "~", &["f.~18446744073709551614~"], "f.~18446744073709551615~"),
        ];
        for (kind, suffix, existing, want) in table {
            assert_eq!(name(kind, suffix, existing), want, "{kind:?} {suffix} {existing:?}");
        }
        assert_eq!(backup_name(Path::new("d/f/"), Backup::Simple, &"~".into()), Path::new("d/f~"));
    }
}
