//! Creating an entry that may replace an existing one atomically: make it under a fresh
//! temporary name (`.rcp-PLACE-PID-START-N`) beside the destination, then rename it over (GNU's forced
//! link and symlink; `--atomic` files use the same names).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;

use super::at::At;
use super::process::Run;

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

/// A fresh temporary name in `dst`'s directory: `.rcp-PLACE-PID-START-N` (this run's
/// `process::Run`, PLACE in hex), N counting for the whole process (forced links and
/// `--atomic` files share it, so they never race for a name). Without /proc, `.rcp-PID-N`:
/// a name no run can judge stale.
pub(crate) fn temp_beside(dst: &At) -> At {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = match Run::this() {
        Some(Run { place, pid, start }) => format!(".rcp-{place:016x}-{pid}-{start}-{n}"),
        None => format!(".rcp-{}-{n}", std::process::id()),
    };
    dst.sibling(name.as_ref())
}

/// `--resume`'s name for the data of an interrupted copy to `dst`: `.NAME.rcp-partial`
/// beside it (`None` where that name would be longer than a name may be).
pub(crate) fn partial_beside(dst: &At) -> Option<At> {
    use std::os::unix::ffi::OsStrExt;
    let base = dst.base().as_bytes();
    let name = [b".", base, b".rcp-partial"].concat();
    (name.len() <= 255 && !base.is_empty() && base != b"." && base != b"..")
        .then(|| dst.sibling(std::ffi::OsStr::from_bytes(&name)))
}

/// The run that made a temporary name (`.rcp-PLACE-PID-START-N`), if `name` is one.
pub(crate) fn temp_owner(name: &[u8]) -> Option<Run> {
    let rest = std::str::from_utf8(name.strip_prefix(b".rcp-")?).ok()?;
    let mut parts = rest.split('-');
    let place = parts.next().filter(|p| p.len() == 16)?;
    let numbers = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || ![numbers.0, numbers.1, numbers.2].iter().all(|s| digits(s)) {
        return None;
    }
    Some(Run {
        place: u64::from_str_radix(place, 16).ok()?,
        pid: numbers.0.parse().ok()?,
        start: numbers.1.parse().ok()?,
    })
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
            Ok(()) => {
                // rename(2) of a name onto another link of the same inode does nothing and
                // succeeds: the temporary is still there (a hard link to `dst`).
                let _ = tmp.unlink();
                Ok(Made::Replaced)
            }
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
    use crate::sys::process::Run;

    #[test]
    fn only_names_of_rcps_own_pattern_have_an_owner() {
        let run = Run { place: 0xabc, pid: 123, start: 456 };
        assert_eq!(temp_owner(b".rcp-0000000000000abc-123-456-0"), Some(run));
        for name in [
            &b".rcp-123-0"[..],
            b".rcp-abc-123-456-0",
            b".rcp-0000000000000abc-123-456",
            b".rcp-0000000000000abc-12a-456-0",
            b".rcp-0000000000000abc-123-456-0-1",
            b".rcp-000000000000zabc-123-456-0",
            b"rcp-0000000000000abc-123-456-0",
        ] {
            assert_eq!(temp_owner(name), None, "{}", String::from_utf8_lossy(name));
        }
    }
}
