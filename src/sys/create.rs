//! Creating an entry that may replace an existing one atomically: make it under a fresh
//! temporary name (`.rcp-PID-N`) beside the destination, then rename it over (GNU's forced
//! link and symlink; `--atomic` files use the same names).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;

use super::at::At;

/// What forced creation did: made the entry, or replaced an existing one.
pub(crate) enum Made {
    New,
    Replaced,
}

/// `link(src, dst)`; with `replace`, an existing `dst` is atomically replaced.
pub(crate) fn force_link(src: &At, dst: &At, replace: bool, follow: bool) -> Result<Made, Errno> {
    force_create(dst, replace, |at| at.link_from(src, follow))
}

/// `symlink(target, dst)`; with `replace`, an existing `dst` is atomically replaced.
pub(crate) fn force_symlink(target: &Path, dst: &At, replace: bool) -> Result<Made, Errno> {
    force_create(dst, replace, |at| at.symlink(target))
}

/// A fresh temporary name in `dst`'s directory: `.rcp-PID-N`, N counting for the whole
/// process (forced links and `--atomic` files share it, so they never race for a name).
pub(crate) fn temp_beside(dst: &At) -> At {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dst.sibling(format!(".rcp-{}-{n}", std::process::id()).as_ref())
}

/// The process id in a temporary name rcp makes (`.rcp-PID-N`), if `name` is one.
pub(crate) fn temp_owner(name: &[u8]) -> Option<u32> {
    let rest = name.strip_prefix(b".rcp-")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (pid, n) = (&rest[..dash], &rest[dash + 1..]);
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(pid) || !digits(n) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

fn force_create(
    dst: &At,
    replace: bool,
    create: impl Fn(&At) -> rustix::io::Result<()>,
) -> Result<Made, Errno> {
    match create(dst) {
        Ok(()) => return Ok(Made::New),
        Err(Errno::EXIST) if replace => {}
        Err(e) => return Err(e),
    }
    for _ in 0..100u32 {
        let tmp = temp_beside(dst);
        match create(&tmp) {
            Ok(()) => {}
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e),
        }
        return match tmp.rename_to(dst) {
            Ok(()) => Ok(Made::Replaced),
            Err(e) => {
                let _ = tmp.unlink();
                Err(e)
            }
        };
    }
    Err(Errno::EXIST)
}

#[cfg(test)]
mod tests {
    use super::temp_owner;

    #[test]
    fn only_rcps_own_temporary_names_have_an_owner() {
        assert_eq!(temp_owner(b".rcp-123-0"), Some(123));
        assert_eq!(temp_owner(b".rcp-9-77"), Some(9));
        for name in
            [&b".rcp-123"[..], b".rcp--0", b".rcp-12a-0", b".rcp-1-", b"rcp-1-0", b".rcp-1-0x"]
        {
            assert_eq!(temp_owner(name), None, "{}", String::from_utf8_lossy(name));
        }
    }
}
