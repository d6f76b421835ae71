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
