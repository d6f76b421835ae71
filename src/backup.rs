//! Backups of destinations about to be replaced (`-b`, `--backup=CONTROL`, `-S`): GNU's
//! simple (`f~`) and numbered (`f.~3~`) names, and its check that a backup would not destroy
//! the source.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, Stat, renameat, statat};
use rustix::io::Errno;

use crate::links::ino;
use crate::options::Backup;
use crate::plan::{dir_of, last_component};

/// The name `dst` would be backed up to.
pub fn backup_name(dst: &Path, kind: Backup, suffix: &OsString) -> PathBuf {
    let numbered = || {
        let next = highest_number(dst).map_or(1, |n| n + 1);
        append(dst, format!(".~{next}~").as_bytes())
    };
    match kind {
        Backup::Numbered => numbered(),
        Backup::Existing if highest_number(dst).is_some() => numbered(),
        _ => append(dst, suffix.as_bytes()),
    }
}

/// Renames `dst` to its backup name; returns that name (ENOENT: nothing to back up).
pub fn backup(dst: &Path, kind: Backup, suffix: &OsString) -> Result<PathBuf, Errno> {
    let name = backup_name(dst, kind, suffix);
    renameat(CWD, dst, CWD, &name)?;
    Ok(name)
}

/// GNU's `source_is_dst_backup`: the source is the simple backup of this destination.
pub fn source_is_backup_of(src: &Path, src_st: &Stat, dst: &Path, suffix: &OsString) -> bool {
    let (srcbase, dstbase) = (last_component(src).as_bytes(), last_component(dst).as_bytes());
    let mut expected = dstbase.to_vec();
    expected.extend_from_slice(suffix.as_bytes());
    if srcbase != expected.as_slice() {
        return false;
    }
    let backup = append(dst, suffix.as_bytes());
    statat(CWD, &backup, AtFlags::empty()).is_ok_and(|st| ino(&st) == ino(src_st))
}

fn append(path: &Path, suffix: &[u8]) -> PathBuf {
    let mut bytes = path.as_os_str().as_bytes().to_vec();
    while bytes.len() > 1 && bytes.ends_with(b"/") {
        bytes.pop();
    }
    bytes.extend_from_slice(suffix);
    PathBuf::from(OsString::from_vec(bytes))
}

/// The highest N among existing `NAME.~N~` beside `dst`.
fn highest_number(dst: &Path) -> Option<u64> {
    let base = last_component(dst).as_bytes().to_vec();
    let dir = dir_of(dst);
    let mut prefix = base;
    prefix.extend_from_slice(b".~");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let rest = name.as_bytes().strip_prefix(prefix.as_slice())?.strip_suffix(b"~")?;
            let valid = !rest.is_empty() && rest[0] != b'0' && rest.iter().all(u8::is_ascii_digit);
            valid.then(|| std::str::from_utf8(rest).ok()?.parse::<u64>().ok()).flatten()
        })
        .max()
}
