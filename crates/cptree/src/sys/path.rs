//! Path text as GNU handles it: `last_component`, `file_name_concat`, trailing slashes, the
//! directory a name is in, and `same_name` (two names for one directory entry).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, statat};

use super::ino;

/// gnulib's `file_name_concat`: `dir`'s trailing slashes dropped (`h//` → `h`; a root
/// such as `/` or `//` kept whole), then one slash unless `base` starts with one (a root
/// and a `/base` are joined with `.`: `/./base`). So `h//` and `f` make `h/f`, `./h/` and
/// `f` make `./h/f`, `h/.` and `f` make `h/./f`.
pub(crate) fn concat(dir: &Path, base: &OsStr) -> PathBuf {
    let dir = dir.as_os_str().as_bytes();
    let base = base.as_bytes();
    let mut bytes = Vec::with_capacity(dir.len() + 2 + base.len());
    let kept = dir_kept(dir);
    bytes.extend_from_slice(&dir[..kept]);
    let root = kept == dir.len() && dir.iter().all(|&b| b == b'/');
    match (root, base.starts_with(b"/")) {
        (false, false) => bytes.push(b'/'),
        (true, true) => bytes.push(b'.'),
        _ => {}
    }
    bytes.extend_from_slice(base);
    PathBuf::from(OsString::from_vec(bytes))
}

/// How much of `dir` `file_name_concat` keeps: up to the end of its last component (its
/// trailing slashes dropped), or all of it when it has none (`/`, `//`, the empty name).
pub(crate) fn dir_kept(dir: &[u8]) -> usize {
    match dir.iter().rposition(|&b| b != b'/') {
        Some(last) => last + 1,
        None => dir.len(),
    }
}

/// The path without trailing slashes (`/` stays `/`).
pub(crate) fn strip_slashes(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    let end = bytes.iter().rposition(|&b| b != b'/').map_or(bytes.len().min(1), |i| i + 1);
    PathBuf::from(OsStr::from_bytes(&bytes[..end]))
}

/// `path` without its leading `.` components (`./../x` → `../x`, `./` → ``).
pub(crate) fn without_dots(path: &Path) -> &Path {
    let mut parts = path.components();
    while parts.clone().next() == Some(std::path::Component::CurDir) {
        parts.next();
    }
    parts.as_path()
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
        // Repeated and trailing slashes, as GNU joins them.
        for (dir, base, want) in [
            ("h//", "f", "h/f"),
            ("h///", "f", "h/f"),
            ("./h/", "f", "./h/f"),
            ("h/.", "f", "h/./f"),
            (".//", "f", "./f"),
            ("a//b//", "c/d", "a//b/c/d"),
            ("d//", "/a", "d/a"),
            ("/", "f", "/f"),
            ("//", "f", "//f"),
            ("/", "/f", "/./f"),
            ("", "f", "f"),
        ] {
            assert_eq!(concat(Path::new(dir), OsStr::new(base)).as_os_str(), want, "{dir} {base}");
        }
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
