//! `-i`: GNU's overwrite questions on stderr and its yes/no answer read from stdin.

use std::io::{BufRead, Write};

use rustix::fs::{Access, AtFlags, FileType, Stat, accessat};

use crate::quote::quote;
use crate::sys::at::At;

/// Asks whether to overwrite `dst` (status `st`), as GNU's `overwrite_ok` does.
pub(crate) fn overwrite_ok(program: &str, dst_at: &At, st: &Stat, replacing: bool) -> bool {
    let dst = dst_at.path();
    let writable = FileType::from_raw_mode(st.st_mode) == FileType::Symlink
        || rustix::process::geteuid().is_root()
        || accessat(dst_at.fd(), dst_at.name(), Access::WRITE_OK, AtFlags::EACCESS).is_ok();
    let question = if writable {
        format!("{program}: overwrite {}? ", quote(dst))
    } else {
        let (mode, perms) = (st.st_mode & 0o7777, permission_string(st.st_mode));
        if replacing {
            format!("{program}: replace {}, overriding mode {mode:04o} ({perms})? ", quote(dst))
        } else {
            format!("{program}: unwritable {} (mode {mode:04o}, {perms}); try anyway? ", quote(dst))
        }
    };
    let _ = std::io::stdout().flush();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(question.as_bytes());
    let _ = err.flush();
    yes()
}

/// Reads one line from stdin: yes if it starts with `y` or `Y` (glibc's C-locale rpmatch).
fn yes() -> bool {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => false,
        Ok(_) => line.starts_with(['y', 'Y']),
    }
}

/// `rw-r--r--` as `strmode` gives it, with setuid/setgid/sticky letters.
fn permission_string(mode: u32) -> String {
    let bit = |m: u32, c: char| if mode & m != 0 { c } else { '-' };
    let exec =
        |x: u32, special: u32, set: char, unset: char| match (mode & x != 0, mode & special != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        };
    [
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        exec(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        exec(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        exec(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}
