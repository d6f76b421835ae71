//! Path text as GNU handles it: `last_component`, `file_name_concat`, trailing slashes, the
//! directory a name is in, and `same_name` (two names for one directory entry).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, statat};

use super::ino;

/// gnulib's `file_name_concat`: one slash between, none added when either side has one.
pub(crate) fn concat(dir: &Path, base: &OsStr) -> PathBuf {
    let mut bytes = dir.as_os_str().as_bytes().to_vec();
    let base = base.as_bytes();
    if !bytes.ends_with(b"/") && !base.starts_with(b"/") {
        bytes.push(b'/');
    }
    bytes.extend_from_slice(base);
    PathBuf::from(OsString::from_vec(bytes))
}

/// The path without trailing slashes (`/` stays `/`).
pub(crate) fn strip_slashes(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    let end = bytes.iter().rposition(|&b| b != b'/').map_or(bytes.len().min(1), |i| i + 1);
    PathBuf::from(OsStr::from_bytes(&bytes[..end]))
}

/// The directory `path` is in, for `*at` calls and names beside it (`f` → `.`).
pub(crate) fn dir_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// GNU's `last_component`: the name after the last slash, trailing slashes ignored
/// (`a/b/` → `b`, `a/.` → `.`), unlike `Path::file_name`, which skips `.`.
pub(crate) fn last_component(path: &Path) -> &OsStr {
    let bytes = path.as_os_str().as_bytes();
    let end = bytes.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let start = bytes[..end].iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    OsStr::from_bytes(&bytes[start..end])
}

/// GNU's `same_name`: the two names are one directory entry (same last component in the
/// same directory).
pub(crate) fn same_name(a: &Path, b: &Path) -> bool {
    if last_component(a) != last_component(b) {
        return false;
    }
    let parent = |p: &Path| {
        let bytes = p.as_os_str().as_bytes();
        let end = bytes.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
        match bytes[..end].iter().rposition(|&c| c == b'/') {
            Some(0) => PathBuf::from("/"),
            Some(i) => PathBuf::from(OsString::from_vec(bytes[..i].to_vec())),
            None => PathBuf::from("."),
        }
    };
    match (statat(CWD, parent(a), AtFlags::empty()), statat(CWD, parent(b), AtFlags::empty())) {
        (Ok(x), Ok(y)) => ino(&x) == ino(&y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_component_is_gnus() {
        for (path, want) in [("a", "a"), ("a/b", "b"), ("a/b/", "b"), ("a/.", "."), ("/x//", "x")] {
            assert_eq!(last_component(Path::new(path)), OsStr::new(want), "{path}");
        }
    }

    #[test]
    fn concat_is_gnus() {
        assert_eq!(concat(Path::new("d"), OsStr::new("a/b")), Path::new("d/a/b"));
        assert_eq!(concat(Path::new("d/"), OsStr::new("a")), Path::new("d/a"));
        assert_eq!(concat(Path::new("d"), OsStr::new("/a")).as_os_str(), "d/a");
        assert_eq!(strip_slashes(Path::new("a//")), Path::new("a"));
        assert_eq!(strip_slashes(Path::new("/")).as_os_str(), "/");
    }

    #[test]
    fn dir_of_names_the_working_directory_for_a_bare_name() {
        assert_eq!(dir_of(Path::new("f")), Path::new("."));
        assert_eq!(dir_of(Path::new("a/b")), Path::new("a"));
        assert_eq!(dir_of(Path::new("/f")), Path::new("/"));
    }
}
