//! Property test (proptest, whose shrinking finds the smallest tree that breaks): random
//! trees of files (with holes), directories, symlinks, hard links and modes, copied with
//! `rcp -a`, come out equal to the source — types, bytes, modes, owners, nanosecond mtimes,
//! link groups, and no more blocks than the source (holes kept) — on ext4 and btrfs.

use std::fs;
use std::os::unix::fs::{FileExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

use crate::common::{Fs, dir_on};
use crate::gnu::{normalize_times, snapshot};

#[derive(Debug, Clone)]
enum Node {
    /// Data written at these (offset KiB, length) places of a file of this many KiB.
    File {
        kib: u64,
        data: Vec<(u64, u16)>,
        mode: u32,
    },
    Dir {
        mode: u32,
        children: Vec<(String, Node)>,
    },
    Symlink(String),
    /// A hard link to the n-th file made so far (if there is one).
    HardLink(usize),
}

fn node(depth: u32) -> BoxedStrategy<Node> {
    let mode = prop::sample::select(vec![0o644u32, 0o600, 0o755, 0o444, 0o4755, 0o640]);
    let file = (0u64..2048, prop::collection::vec((0u64..2048, 1u16..8192), 0..4), mode.clone())
        .prop_map(|(kib, data, mode)| Node::File { kib, data, mode });
    let link = "[a-z]{1,6}".prop_map(Node::Symlink);
    let hard = (0usize..8).prop_map(Node::HardLink);
    let leaf = prop_oneof![4 => file, 1 => link, 1 => hard];
    if depth == 0 {
        return leaf.boxed();
    }
    let dir_mode = prop::sample::select(vec![0o755u32, 0o700, 0o555, 0o1777]);
    let children = prop::collection::vec(("[a-z]{1,6}", node(depth - 1)), 0..6);
    prop_oneof![3 => leaf, 1 => (dir_mode, children).prop_map(|(mode, children)| Node::Dir { mode, children })]
        .boxed()
}

/// Builds `children` under `dir`; directory modes are set last, after their contents.
fn build(dir: &Path, children: &[(String, Node)], files: &mut Vec<std::path::PathBuf>) {
    for (name, node) in children {
        let path = dir.join(name);
        if fs::symlink_metadata(&path).is_ok() {
            continue; // a repeated name
        }
        match node {
            Node::File { kib, data, mode } => {
                let f = fs::File::create(&path).unwrap();
                f.set_len(kib * 1024).unwrap();
                for (at, len) in data {
                    let bytes: Vec<u8> = (0..*len).map(|i| (i % 251) as u8 + 1).collect();
                    f.write_all_at(&bytes, at * 1024).unwrap();
                }
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
                files.push(path);
            }
            Node::Dir { mode, children } => {
                fs::create_dir(&path).unwrap();
                build(&path, children, files);
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
            }
            Node::Symlink(target) => symlink(target, &path).unwrap(),
            Node::HardLink(n) => {
                if let Some(first) = files.get(*n) {
                    fs::hard_link(first, &path).unwrap();
                }
            }
        }
    }
}

fn check(fs_kind: Fs, tree: &[(String, Node)]) -> Result<(), TestCaseError> {
    let Some(dir) = dir_on(fs_kind, "property") else { return Ok(()) };
    let root = dir.path();
    let src = root.join("src");
    fs::create_dir(&src).unwrap();
    build(&src, tree, &mut Vec::new());
    normalize_times(&src);
    let out = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .arg("-a")
        .arg(&src)
        .arg(root.join("dst"))
        .output()
        .unwrap();
    prop_assert!(out.status.success(), "rcp -a failed: {}", String::from_utf8_lossy(&out.stderr));
    let (a, b) = (snapshot(&src), snapshot(&root.join("dst")));
    prop_assert_eq!(a, b, "{:?}: the copy differs from the source", fs_kind);
    // Holes stay holes: no copy takes more than its source plus a block or two.
    for (path, kind) in snapshot(&src) {
        if kind.starts_with("file") {
            let (s, d) = (src.join(&path), root.join("dst").join(&path));
            let (sb, db) = (crate::common::blocks(&s), crate::common::blocks(&d));
            prop_assert!(
                db <= sb + 16,
                "{:?}: {} takes {} blocks, source {}",
                fs_kind,
                path,
                db,
                sb
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_copy_equal_with_a(tree in prop::collection::vec(("[a-z]{1,6}", node(3)), 1..10)) {
        check(Fs::Ext4, &tree)?;
        check(Fs::Btrfs, &tree)?;
    }
}
