//! What a filesystem is and can do, read without writing (a prediction of a file's copy
//! path is made from it): its type from `fstatfs`, whether it shares extents (for XFS, the
//! reflink flag of its geometry), whether the kernel lets `copy_file_range` cross
//! between two of its mounts, and which XFS allocation group an inode is in.

use std::os::fd::BorrowedFd;

use rustix::fs::{StatFs, fstatfs};
use rustix::io::Errno;

const BTRFS: u32 = 0x9123_683e;
const XFS: u32 = 0x5846_5342;
const BCACHEFS: u32 = 0xca45_1a4e;
const NFS: u32 = 0x6969;
const CIFS: u32 = 0xff53_4d42;
const SMB2: u32 = 0xfe53_4d42;
const CEPH: u32 = 0x00c3_6400;
const FUSE: u32 = 0x6573_5546;

/// Filesystems whose files' sizes say nothing of their data: sysfs gives every attribute
/// 4096, procfs 0 or anything, and the rest are alike. Their files are read to EOF.
const PSEUDO: &[u32] = &[
    0x6265_6572, // sysfs
    0x0000_9fa0, // proc
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0x6265_6570, // configfs
    0x7363_6673, // securityfs
    0x0027_e0eb, // cgroup
    0x6367_7270, // cgroup2
    0xcafe_4a11, // bpf
    0xde5e_81e4, // efivarfs
    0x6165_676c, // pstore
    0xf97c_ff8c, // selinuxfs
    0x4249_4e4d, // binfmt_misc
    0x6e73_6673, // nsfs
];

/// Whether `fd` is on a pseudo-filesystem (sysfs, procfs, debugfs...), where a file's
/// size is no measure of what reading it gives.
pub fn is_pseudo(fd: BorrowedFd) -> bool {
    fstatfs(fd).is_ok_and(|fs| PSEUDO.contains(&(fs.f_type as u32)))
}

/// A filesystem, as far as choosing a copy path goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filesystem {
    /// `f_type` (the superblock magic).
    pub magic: u32,
    /// FICLONE works within it: Btrfs, bcachefs, XFS made with reflink=1.
    pub clones: bool,
}

impl Filesystem {
    /// The filesystem `fd` is on.
    pub fn of(fd: BorrowedFd) -> Result<Filesystem, Errno> {
        Ok(Filesystem::from_statfs(&fstatfs(fd)?, fd))
    }

    fn from_statfs(fs: &StatFs, fd: BorrowedFd) -> Filesystem {
        // The kernel's `f_type` is a 32-bit magic in a wider field.
        let magic = fs.f_type as u32;
        let clones = match magic {
            BTRFS | BCACHEFS => true,
            XFS => xfs_has_reflink(fd),
            _ => false,
        };
        Filesystem { magic, clones }
    }

    /// A filesystem rcp knows nothing of: it does not clone.
    pub fn unknown() -> Filesystem {
        Filesystem { magic: 0, clones: false }
    }

    /// Whether copy_file_range works between two different mounts of this filesystem and
    /// `other`: the kernel (5.19 and later) allows it only where both use the same
    /// `copy_file_range` of their own (NFS, CIFS, Ceph, FUSE); elsewhere it is EXDEV.
    pub fn copies_across(&self, other: &Filesystem) -> bool {
        self.magic == other.magic && matches!(self.magic, NFS | CIFS | SMB2 | CEPH | FUSE)
    }
}

/// `XFS_IOC_FSGEOMETRY` (read-only, any user): whether the filesystem was made with
/// reflinks (`XFS_FSOP_GEOM_FLAGS_REFLINK`).
fn xfs_has_reflink(fd: BorrowedFd) -> bool {
    const REFLINK: u32 = 1 << 20;
    xfs_geometry(fd).is_some_and(|g| g.words[Geometry::FLAGS] & REFLINK != 0)
}

/// How far to shift an inode number of the filesystem `fd` is on to get its XFS allocation
/// group (the group's number sits above `agblklog + inopblog` bits); `None` elsewhere. An
/// allocation group has one lock for making inodes (the AGI) and one for its space and
/// shared-extent counts (the AGF), held until each transaction commits: threads that
/// create, or clone from, the same group at once take turns.
pub fn allocation_group_shift(fd: BorrowedFd) -> Option<u32> {
    if fstatfs(fd).ok()?.f_type as u32 != XFS {
        return None;
    }
    let words = xfs_geometry(fd)?.words;
    group_shift(words[Geometry::BLOCKSIZE], words[Geometry::AGBLOCKS], words[Geometry::INODESIZE])
}

/// An XFS inode number is its group, its block in the group (`agblklog` bits: libxfs's
/// `highbit32(agblocks - 1) + 1`) and its place in the block (`inopblog` bits: log2 of
/// inodes per block).
fn group_shift(block: u32, ag_blocks: u32, inode: u32) -> Option<u32> {
    if ag_blocks < 2 || inode == 0 || block < inode {
        return None;
    }
    let ag_block_log = u32::BITS - (ag_blocks - 1).leading_zeros();
    Some(ag_block_log + (block / inode).ilog2())
}

/// `struct xfs_fsop_geom`: 256 bytes of `u32`s (and `u64`s, unused here).
#[repr(C)]
struct Geometry {
    words: [u32; 64],
}

impl Geometry {
    const BLOCKSIZE: usize = 0;
    const AGBLOCKS: usize = 2;
    const INODESIZE: usize = 6;
    const FLAGS: usize = 92 / 4;
}

/// `XFS_IOC_FSGEOMETRY`, or `None` if the filesystem is not XFS.
fn xfs_geometry(fd: BorrowedFd) -> Option<Geometry> {
    const OPCODE: rustix::ioctl::Opcode = rustix::ioctl::opcode::read::<Geometry>(b'X', 126);
    // SAFETY: XFS_IOC_FSGEOMETRY fills exactly a `struct xfs_fsop_geom` (256 bytes).
    let getter = unsafe { rustix::ioctl::Getter::<OPCODE, Geometry>::new() };
    // SAFETY: the opcode and output type agree (above); the fd is only read.
    unsafe { rustix::ioctl::ioctl(fd, getter) }.ok()
}

#[cfg(test)]
mod tests {
    use super::group_shift;

    #[test]
    fn an_inode_s_group_is_above_its_block_and_place_in_the_block() {
        // mkfs.xfs of a 4 GiB image: 4 groups of 262,144 4-KiB blocks, 512-byte inodes
        // (its directories are inodes 128, 2097281 (group 1), 6291584 (group 3), ...).
        assert_eq!(group_shift(4096, 262_144, 512), Some(18 + 3));
        assert_eq!(6_291_584 >> group_shift(4096, 262_144, 512).unwrap(), 3);
        // A group that is not a power of two rounds its block bits up.
        assert_eq!(group_shift(4096, 262_145, 512), Some(19 + 3));
        assert_eq!(group_shift(1024, 1000, 256), Some(10 + 2));
        assert_eq!(group_shift(4096, 0, 512), None);
    }
}
