//! Syscalls with no GNU policy: names relative to open directories (`At`) and reading them,
//! path helpers, creating entries under temporary names, attribute calls (times, owner,
//! mode, xattrs, ACLs) and the stop flag the signal handlers set. Nothing here names a
//! module above it.

pub(crate) mod at;
pub(crate) mod attr;
pub(crate) mod create;
pub(crate) mod fs;
pub mod interrupt;
pub(crate) mod path;
pub(crate) mod process;

use rustix::fs::{FileType, Stat};

/// A file's identity: (device, inode).
pub(crate) type Ino = (u64, u64);

/// The identity `st` describes.
pub(crate) fn ino(st: &Stat) -> Ino {
    (st.st_dev, st.st_ino)
}

/// A file's identity as another process saw it: its inode, and its device where device
/// numbers mean the same to both (one host: a network filesystem's device number is each
/// client's own, its inode numbers the server's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) dev: Option<u64>,
    pub(crate) ino: u64,
}

impl Seen {
    /// An identity this host saw.
    pub(crate) fn here((dev, ino): Ino) -> Seen {
        Seen { dev: Some(dev), ino }
    }

    /// Whether `st` is of the file seen.
    pub(crate) fn is(self, st: &Stat) -> bool {
        st.st_ino == self.ino && self.dev.is_none_or(|dev| dev == st.st_dev)
    }
}

/// The filesystem's handle for the file open as `fd` (`name_to_handle_at`): its identity
/// as the filesystem itself gives it — on a network filesystem the server's, alike on every
/// client; on btrfs it names the subvolume too. `None` where the filesystem has none.
pub(crate) fn handle_of(fd: std::os::fd::BorrowedFd) -> Option<Vec<u8>> {
    use std::os::fd::AsRawFd;
    const MAX_HANDLE_SZ: usize = 128;
    #[repr(C)]
    struct Handle {
        bytes: u32,
        kind: i32,
        data: [u8; MAX_HANDLE_SZ],
    }
    let mut handle = Handle { bytes: MAX_HANDLE_SZ as u32, kind: 0, data: [0; MAX_HANDLE_SZ] };
    let mut mount_id = 0;
    // SAFETY: `handle` is a `struct file_handle` with room for MAX_HANDLE_SZ bytes, as its
    // `handle_bytes` says; the path is an empty C string and AT_EMPTY_PATH names the fd.
    let rc = unsafe {
        libc::name_to_handle_at(
            fd.as_raw_fd(),
            c"".as_ptr(),
            (&raw mut handle).cast::<libc::file_handle>(),
            &mut mount_id,
            libc::AT_EMPTY_PATH,
        )
    };
    let len = (handle.bytes as usize).min(MAX_HANDLE_SZ);
    (rc == 0).then(|| [&handle.kind.to_le_bytes()[..], &handle.data[..len]].concat())
}

/// Whether `mode` is of type `ft`.
pub(crate) fn is(mode: u32, ft: FileType) -> bool {
    FileType::from_raw_mode(mode) == ft
}
