//! Recursive copies: the resulting tree (types, bytes, modes, symlink targets, fifos,
//! devices) matches what GNU cp -r makes, and so do the operand forms that name it.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use crate::common::{assert_like_gnu, skip};

fn tree(d: &Path) {
    let s = d.join("src");
    fs::create_dir_all(s.join("sub/deeper")).unwrap();
    fs::create_dir_all(s.join("empty")).unwrap();
    fs::write(s.join("top"), "top\n").unwrap();
    fs::write(s.join("sub/file"), "x".repeat(100_000)).unwrap();
    fs::write(s.join("sub/deeper/empty-file"), "").unwrap();
    fs::write(s.join("private"), "p\n").unwrap();
    fs::set_permissions(s.join("private"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::write(s.join("script"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(s.join("script"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("top", s.join("link")).unwrap();
    symlink("../nowhere", s.join("sub/dangling")).unwrap();
    let status = Command::new("mkfifo").arg(s.join("fifo")).status().unwrap();
    assert!(status.success());
    fs::create_dir(s.join("readonly")).unwrap();
    fs::write(s.join("readonly/inside"), "r\n").unwrap();
    fs::set_permissions(s.join("readonly"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(s.join("sub"), fs::Permissions::from_mode(0o750)).unwrap();
}

#[test]
fn recursive_copy_makes_the_tree_gnu_makes() {
    assert_like_gnu("tree-new", tree, &["-r", "src", "dst"]);
    assert_like_gnu("tree-R", tree, &["-R", "src", "dst"]);
    assert_like_gnu("tree-v", tree, &["-rv", "src", "dst"]);
}

#[test]
fn recursive_copy_into_an_existing_directory() {
    let with_dst = |d: &Path| {
        tree(d);
        fs::create_dir(d.join("dst")).unwrap();
    };
    assert_like_gnu("tree-into", with_dst, &["-r", "src", "dst"]);
    assert_like_gnu("tree-slash", with_dst, &["-r", "src/", "dst"]);
    assert_like_gnu("tree-slash-new", tree, &["-r", "src/", "new/"]);
    assert_like_gnu("tree-dot", with_dst, &["-r", "src/.", "dst"]);
    assert_like_gnu("tree-t", with_dst, &["-r", "-t", "dst", "src"]);
    assert_like_gnu("tree-T", with_dst, &["-rT", "src", "dst"]);
    assert_like_gnu(
        "tree-twice",
        |d| {
            with_dst(d);
            fs::create_dir_all(d.join("dst/src/sub")).unwrap();
            fs::write(d.join("dst/src/top"), "old contents, longer than the new\n").unwrap();
        },
        &["-r", "src", "dst"],
    );
}

#[test]
fn files_into_directories_and_by_name() {
    let files = |d: &Path| {
        fs::write(d.join("a"), "a\n").unwrap();
        fs::write(d.join("b"), "bb\n").unwrap();
        fs::create_dir(d.join("dir")).unwrap();
        symlink("a", d.join("link-to-a")).unwrap();
    };
    assert_like_gnu("file", files, &["a", "c"]);
    assert_like_gnu("overwrite", files, &["a", "b"]);
    assert_like_gnu("into-dir", files, &["a", "b", "dir"]);
    assert_like_gnu("follow-link", files, &["link-to-a", "c"]);
    assert_like_gnu("link-r", files, &["-r", "link-to-a", "c"]);
    assert_like_gnu("through-link", files, &["b", "link-to-a"]);
    assert_like_gnu(
        "dashdash",
        |d| {
            files(d);
            fs::write(d.join("-x"), "dash\n").unwrap();
        },
        &["--", "-x", "dir"],
    );
}

#[test]
fn device_nodes_are_recreated_under_r() {
    if !rustix::process::geteuid().is_root() {
        return skip("devices", "mknod needs root");
    }
    assert_like_gnu(
        "devices",
        |d: &Path| {
            fs::create_dir(d.join("src")).unwrap();
            let ok = Command::new("mknod").arg(d.join("src/null")).args(["c", "1", "3"]).status();
            assert!(ok.unwrap().success());
        },
        &["-r", "src", "dst"],
    );
}
