//! The engine crate on its own, as another program would use it: open two files, copy,
//! read the record. Real files on the filesystems of this machine: the build directory's
//! (ext4 here and in CI: no reflinks) and /dev/shm (tmpfs), so the fallbacks are the
//! kernel's, not simulated.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use copychain::{Copied, Dest, Errno, Failure, Policy, Progress, Reflink, Scratch, Source, Sparse};
use copychain::{Stop, Strategy};

const AUTO: Policy = Policy { reflink: Reflink::Auto, sparse: Sparse::Auto };

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8 + 1).collect()
}

/// Copies `src` to a new `dst` with `w`, as a caller of the crate would.
fn copy(src: &Path, dst: &Path, policy: Policy, w: &mut Scratch) -> Result<Copied, Failure> {
    let (from, to) = (File::open(src).unwrap(), File::create(dst).unwrap());
    let (s, d) = (from.metadata().unwrap(), to.metadata().unwrap());
    let source =
        Source { fd: from.as_fd(), dev: s.dev(), size: s.len(), blocks: s.blocks(), regular: true };
    let dest = Dest { fd: to.as_fd(), dev: d.dev(), regular: true };
    copychain::copy(&source, &dest, policy, w)
}

fn here(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(name).tempdir_in(env!("CARGO_TARGET_TMPDIR"));
    dir.expect("a directory in the build's temporary directory")
}

fn magic(path: &Path) -> Option<u32> {
    let fd = File::open(path).ok()?;
    copychain::fs::Filesystem::of(fd.as_fd()).ok().map(|fs| fs.magic)
}

#[test]
fn a_file_within_one_filesystem_is_copied_and_counted_and_its_record_says_how() {
    let dir = here("engine-one-fs");
    let (src, dst) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&src, data(3 << 20)).unwrap();
    let progress = Arc::new(Progress::default());
    let mut w = Scratch::new(Arc::clone(&progress), Stop::new());
    let copied = copy(&src, &dst, AUTO, &mut w).expect("copied");
    assert_eq!(std::fs::read(&dst).unwrap(), data(3 << 20));
    assert_eq!(copied.bytes, 3 << 20);
    assert!(!copied.holes && !copied.predicted && copied.resumed_from == 0);
    let fs = copychain::fs::Filesystem::of(File::open(&src).unwrap().as_fd()).unwrap();
    if fs.clones {
        assert_eq!(copied.strategy, Strategy::Clone, "{copied:?}");
        assert!(copied.fell_back.is_empty());
    } else {
        // FICLONE refused, the kernel's copy_file_range took it.
        assert_eq!(copied.strategy, Strategy::CopyFileRange, "{copied:?}");
        let clone = copied.fell_back.first().expect("the clone's refusal");
        assert_eq!((clone.strategy, clone.cached), (Strategy::Clone, false), "{copied:?}");
        assert!(clone.errno.is_some());
    }
    assert_eq!((progress.files(), progress.moved_bytes()), (1, 3 << 20));
    assert_eq!(progress.done_bytes(), 3 << 20);
}

#[test]
fn between_two_filesystems_splice_takes_it_and_the_refusals_are_remembered() {
    let dir = here("engine-two-fs");
    let shm = Path::new("/dev/shm");
    let (there, here_) = (magic(shm), magic(dir.path()));
    if there.is_none() || there == here_ {
        let why = "/dev/shm is missing or on the build's filesystem";
        assert!(std::env::var_os("RCP_REQUIRE_FS").is_none_or(|v| v != "1"), "{why}");
        return eprintln!("SKIPPED between_two_filesystems: {why}");
    }
    let src = tempfile::NamedTempFile::new_in(shm).unwrap();
    src.as_file().write_all(&data(1 << 20)).unwrap();
    let mut first = Scratch::default();
    let mut second = first.sibling();
    let copied = copy(src.path(), &dir.path().join("b"), AUTO, &mut first).expect("copied");
    assert_eq!(copied.strategy, Strategy::Splice, "{copied:?}");
    let tried: Vec<_> = copied.fell_back.iter().map(|f| (f.strategy, f.errno, f.cached)).collect();
    assert_eq!(
        tried,
        [
            (Strategy::Clone, Some(Errno::XDEV), false),
            (Strategy::CopyFileRange, Some(Errno::XDEV), false)
        ]
    );
    // A sibling knows without asking the kernel again.
    let again = copy(src.path(), &dir.path().join("c"), AUTO, &mut second).expect("copied");
    assert_eq!(again.strategy, Strategy::Splice);
    assert!(again.fell_back.iter().all(|f| f.cached), "{again:?}");
    assert_eq!(std::fs::read(dir.path().join("c")).unwrap(), data(1 << 20));
}

#[test]
fn a_stop_request_gives_the_file_up_with_ecanceled() {
    let dir = here("engine-stop");
    let (src, dst) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&src, data(1 << 20)).unwrap();
    let stop = Stop::new();
    let mut w = Scratch::new(Arc::default(), stop.clone());
    assert!(stop.request(), "the first request");
    assert!(!stop.request(), "not the first");
    // Only read/write runs here (no clone, no offload to give up on): it checks first.
    let never = Policy { reflink: Reflink::Never, sparse: Sparse::Always };
    let failure = copy(&src, &dst, never, &mut w).expect_err("stopped");
    assert_eq!(failure.errno, Errno::CANCELED);
    assert_eq!(failure.record.strategy, Strategy::ReadWrite);
    assert_eq!(w.progress().moved_bytes(), 0);
}

#[test]
fn a_sparse_file_keeps_its_holes_and_they_count_as_done_not_moved() {
    let dir = here("engine-sparse");
    let (src, dst) = (dir.path().join("a"), dir.path().join("b"));
    let file = File::create(&src).unwrap();
    file.set_len(64 << 20).unwrap();
    file.write_all_at(&data(1 << 20), 32 << 20).unwrap();
    drop(file);
    let mut w = Scratch::default();
    let copied = copy(&src, &dst, AUTO, &mut w).expect("copied");
    let meta = std::fs::metadata(&dst).unwrap();
    assert_eq!(meta.len(), 64 << 20);
    if copied.strategy != Strategy::Clone {
        assert!(copied.holes, "{copied:?}");
        assert!(meta.blocks() * 512 <= 2 << 20, "{} blocks: the holes were written", meta.blocks());
        assert_eq!(w.progress().moved_bytes(), 1 << 20);
    }
    assert_eq!(w.progress().done_bytes(), 64 << 20);
    let mut back = vec![0; 1 << 20];
    File::open(&dst).unwrap().read_exact_at(&mut back, 32 << 20).unwrap();
    assert_eq!(back, data(1 << 20));
}
