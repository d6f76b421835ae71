//! The scenario table: fixtures (inputs) and one row per command line. To add a case, add a
//! row; a new kind of input is one small fixture function.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use super::{Scenario, T0, set_mtime};

fn sc(name: &'static str, setup: fn(&Path), args: &str) -> Scenario {
    Scenario {
        name,
        setup,
        args: args.split_whitespace().map(String::from).collect(),
        stdin: "",
        env: Vec::new(),
        unprivileged: false,
        tweak: None,
        deliberate: None,
        order_dependent: false,
    }
}

impl Scenario {
    fn stdin(mut self, text: &'static str) -> Self {
        self.stdin = text;
        self
    }
    fn env(mut self, key: &'static str, value: &'static str) -> Self {
        self.env.push((key, value));
        self
    }
    fn order_dependent(mut self) -> Self {
        self.order_dependent = true;
        self
    }
    fn nobody(mut self) -> Self {
        self.unprivileged = true;
        self
    }
    fn tweak(mut self, f: fn(&Path)) -> Self {
        self.tweak = Some(f);
        self
    }
    fn deliberate(
        mut self,
        why: &'static str,
        check: fn(&super::Run) -> Result<(), String>,
    ) -> Self {
        self.deliberate = Some((why, check));
        self
    }
    /// Arguments that contain spaces or odd bytes, given one by one.
    fn raw_args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mkdir(path: &Path, mode: u32) {
    fs::create_dir_all(path).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn sh(root: &Path, script: &str) {
    let ok = Command::new("sh").arg("-c").arg(script).current_dir(root).status().unwrap();
    assert!(ok.success(), "fixture script failed: {script}");
}

/// Plain files, directories and symlinks at the top level.
fn files(d: &Path) {
    write(&d.join("a"), "a\n", 0o644);
    write(&d.join("b"), "bb\n", 0o644);
    write(&d.join("e"), "", 0o600);
    write(&d.join("exe"), "#!/bin/sh\n", 0o755);
    write(&d.join("ro"), "read only\n", 0o444);
    write(&d.join("sp ace"), "space\n", 0o644);
    write(&d.join("-dash"), "dash\n", 0o644);
    mkdir(&d.join("dir"), 0o755);
    mkdir(&d.join("d/sub"), 0o755);
    write(&d.join("d/f"), "f\n", 0o644);
    write(&d.join("d/sub/g"), "g\n", 0o640);
    symlink("a", d.join("la")).unwrap();
    symlink("d", d.join("ld")).unwrap();
    symlink("nowhere", d.join("dang")).unwrap();
    symlink("la", d.join("lla")).unwrap();
}

/// A source tree with every kind of entry, plus an empty `dst` directory.
fn tree(d: &Path) {
    mkdir(&d.join("src/sub/deep/er"), 0o755);
    write(&d.join("src/f1"), "one\n", 0o644);
    write(&d.join("src/f2"), "two\n", 0o640);
    write(&d.join("src/x"), "exec\n", 0o755);
    write(&d.join("src/sub/g"), "g\n", 0o600);
    write(&d.join("src/sub/deep/er/c"), "c\n", 0o644);
    fs::set_permissions(d.join("src/sub"), fs::Permissions::from_mode(0o750)).unwrap();
    symlink("f1", d.join("src/rel")).unwrap();
    symlink("missing", d.join("src/dang")).unwrap();
    symlink("sub", d.join("src/dirlink")).unwrap();
    write(&d.join("src/h1"), "hard\n", 0o644);
    fs::hard_link(d.join("src/h1"), d.join("src/h2")).unwrap();
    sh(d, "mkfifo -m 0640 src/p");
    mkdir(&d.join("src/ro"), 0o755);
    write(&d.join("src/ro/r"), "r\n", 0o444);
    fs::set_permissions(d.join("src/ro"), fs::Permissions::from_mode(0o555)).unwrap();
    mkdir(&d.join("dst"), 0o755);
}

/// Sources `a`, `b` and a directory `out` that already holds older copies of both.
fn existing(d: &Path) {
    write(&d.join("a"), "new a\n", 0o644);
    write(&d.join("b"), "new b\n", 0o600);
    mkdir(&d.join("out"), 0o755);
    write(&d.join("out/a"), "OLD a\n", 0o600);
    write(&d.join("out/b"), "OLD b\n", 0o644);
    write(&d.join("c"), "old c\n", 0o644);
    write(&d.join("ro"), "OLD ro\n", 0o444);
    mkdir(&d.join("sub"), 0o755);
    write(&d.join("sub/a"), "sub a\n", 0o644);
    write(&d.join("a~"), "a backup\n", 0o644);
    symlink("c", d.join("lc")).unwrap();
    mkdir(&d.join("isdir"), 0o755);
    mkdir(&d.join("out/dir"), 0o755);
}

/// Three groups of hard links in a tree.
fn hardlinks(d: &Path) {
    mkdir(&d.join("src/sub"), 0o755);
    write(&d.join("src/g1a"), "group 1\n", 0o644);
    fs::hard_link(d.join("src/g1a"), d.join("src/g1b")).unwrap();
    fs::hard_link(d.join("src/g1a"), d.join("src/sub/g1c")).unwrap();
    write(&d.join("src/g2a"), "group 2\n", 0o600);
    fs::hard_link(d.join("src/g2a"), d.join("src/sub/g2b")).unwrap();
    write(&d.join("src/g3a"), "group 3\n", 0o755);
    fs::hard_link(d.join("src/g3a"), d.join("src/g3b")).unwrap();
    write(&d.join("src/single"), "alone\n", 0o644);
    symlink("g1a", d.join("src/sym")).unwrap();
}

/// Owners, setuid/setgid/sticky bits and odd modes.
fn modes(d: &Path) {
    mkdir(&d.join("src/sticky"), 0o755);
    write(&d.join("src/su"), "setuid\n", 0o644);
    write(&d.join("src/sg"), "setgid\n", 0o644);
    write(&d.join("src/owned"), "owned\n", 0o640);
    write(&d.join("src/none"), "none\n", 0o000);
    sh(d, "chmod 4755 src/su && chmod 2755 src/sg && chmod 1777 src/sticky");
    sh(d, "chown 1234:5678 src/owned && chown -h 1234:5678 src/sticky");
    mkdir(&d.join("src/d700"), 0o700);
    mkdir(&d.join("src/d777"), 0o777);
    write(&d.join("src/d777/w"), "w\n", 0o666);
    mkdir(&d.join("dst"), 0o755);
}

/// Devices, a fifo and a socket.
fn special(d: &Path) {
    mkdir(&d.join("src"), 0o755);
    sh(
        d,
        "mknod -m 0666 src/null c 1 3 && mknod -m 0640 src/blk b 7 200 && mkfifo -m 0600 src/fifo",
    );
    sh(d, "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.bind(\"src/sock\")'");
    write(&d.join("src/plain"), "plain\n", 0o644);
}

/// User xattrs and POSIX ACLs (when setfacl is installed).
fn xattrs(d: &Path) {
    mkdir(&d.join("src/dir"), 0o755);
    write(&d.join("src/f"), "xattr\n", 0o644);
    sh(d, "setfattr -n user.color -v blue src/f && setfattr -n user.dir -v yes src/dir");
    sh(
        d,
        "command -v setfacl >/dev/null && setfacl -m u:1234:rw src/f && setfacl -d -m u:1234:rwx src/dir || true",
    );
    write(&d.join("src/plain"), "plain\n", 0o644);
}

/// A file with a file capability, and a trusted xattr (root only).
fn capability(d: &Path) {
    mkdir(&d.join("src"), 0o755);
    write(&d.join("src/ping"), "cap\n", 0o755);
    sh(d, "setcap cap_net_raw+ep src/ping && setfattr -n trusted.t -v 1 src/ping");
    mkdir(&d.join("dst"), 0o755);
}

/// Names that need quoting in messages.
fn odd_names(d: &Path) {
    write(&d.join("q'uote"), "q\n", 0o644);
    write(&d.join("nl\nx"), "nl\n", 0o644);
    write(&d.join("tab\tx"), "tab\n", 0o644);
    mkdir(&d.join("dir"), 0o755);
}

/// Hostile names inside a directory: a non-UTF-8 byte, a newline, a leading dash, a
/// 255-byte name, shell metacharacters.
fn hostile(d: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let dir = d.join("h");
    mkdir(&dir, 0o755);
    for name in [&b"caf\xff"[..], b"new\nline", b"-rf", b"$(x)`y`*?", b"sp ace\t"] {
        write(&dir.join(std::ffi::OsStr::from_bytes(name)), "x\n", 0o644);
    }
    write(&dir.join("n".repeat(255)), "long\n", 0o644);
    symlink("caf\u{e9}-missing", dir.join("dangling-\u{e9}")).unwrap();
    mkdir(&d.join("out"), 0o755);
}

/// Files whose numbered backups already exist.
fn numbered(d: &Path) {
    write(&d.join("a"), "a\n", 0o644);
    write(&d.join("b"), "b\n", 0o644);
    write(&d.join("b.~1~"), "b1\n", 0o644);
    write(&d.join("b.~7~"), "b7\n", 0o644);
    write(&d.join("c"), "c\n", 0o644);
}

/// A directory nested in a parent chain for `--parents`.
fn parents(d: &Path) {
    mkdir(&d.join("p/q/r"), 0o755);
    write(&d.join("p/q/r/f"), "deep\n", 0o640);
    fs::set_permissions(d.join("p/q"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::set_permissions(d.join("p"), fs::Permissions::from_mode(0o700)).unwrap();
    mkdir(&d.join("dst"), 0o755);
    write(&d.join("top"), "top\n", 0o644);
    write(&d.join("dst/blocker"), "x\n", 0o644);
    mkdir(&d.join("blocker/in"), 0o755);
    write(&d.join("blocker/in/f"), "f\n", 0o644);
}

/// ACLs (an access ACL, and a default one below it) and an xattr on `parents`'
/// directories.
fn parents_acl(d: &Path) {
    sh(d, "setfacl -m u:1234:rx p/q && setfacl -d -m u:1234:rwx p/q/r");
    sh(d, "setfattr -n user.dir -v q p/q");
}

/// Symlinks to directories and a loop, for -L/-H/-P.
fn symlinks(d: &Path) {
    mkdir(&d.join("real/inner"), 0o755);
    write(&d.join("real/inner/f"), "f\n", 0o644);
    // A link to an ancestor: `-L` meets the same directory again ("cyclic").
    symlink("..", d.join("real/inner/up")).unwrap();
    symlink("real", d.join("lreal")).unwrap();
    write(&d.join("t"), "target\n", 0o644);
    symlink("t", d.join("lt")).unwrap();
    mkdir(&d.join("src"), 0o755);
    symlink("../t", d.join("src/lt")).unwrap();
    symlink("../real", d.join("src/lreal")).unwrap();
    mkdir(&d.join("out"), 0o755);
    symlink("../real", d.join("out/lr")).unwrap();
    symlink("self", d.join("self")).unwrap();
}

const BACKUP_BESIDE: &str = "GNU 9.1 puts a simple backup of DIR/f in the working directory \
(overwriting any f~ there); rcp puts it beside the file, as GNU 9.2 does";

/// `--backup=simple a out`: `out/a~` holds the old `out/a`; the working directory's `a~` is
/// untouched.
fn backup_beside(run: &super::Run) -> Result<(), String> {
    let old = run.tree.get("out/a~").is_some_and(|t| t.contains("OLD a"));
    let untouched = run.tree.get("a~").is_some_and(|t| t.contains("a backup"));
    let copied = run.tree.get("out/a").is_some_and(|t| t.contains("new a"));
    if run.code == Some(0) && old && untouched && copied {
        Ok(())
    } else {
        Err("backup not beside the destination".into())
    }
}

/// `out/real` is a symlink to a directory `elsewhere`.
fn dir_symlink_in_out(d: &Path) {
    fs::create_dir(d.join("elsewhere")).unwrap();
    symlink("../elsewhere", d.join("out/real")).unwrap();
}

fn b_newer(d: &Path) {
    set_mtime(&d.join("out/b"), T0 + 100);
    set_mtime(&d.join("out/a"), T0 - 100);
}

fn make_writable(d: &Path) {
    sh(d, "chmod -R a+rwX . ");
}

pub fn all() -> Vec<Scenario> {
    let mut v = vec![
        // Operands and targets.
        sc("file-to-new", files, "a new"),
        sc("file-to-existing", files, "a b"),
        sc("file-into-dir", files, "a dir"),
        sc("files-into-dir", files, "a b e dir"),
        sc("file-into-dir-slash", files, "a dir/"),
        sc("file-to-new-slash", files, "a new/"),
        sc("file-to-file-slash", files, "a b/"),
        sc("t-dir", files, "-t dir a b"),
        sc("t-attached", files, "-tdir a"),
        sc("t-long", files, "--target-directory=dir a b"),
        sc("t-long-abbrev", files, "--target dir a"),
        sc("T-file", files, "-T a b"),
        sc("T-onto-dir", files, "-T a dir"),
        sc("T-dir-to-dir", files, "-rT d dir"),
        sc("T-extra", files, "-T a b e"),
        sc("t-and-T", files, "-t dir -T a"),
        sc("t-missing", files, "-t nosuch a"),
        sc("t-file", files, "-t a b"),
        sc("t-no-sources", files, "-t dir"),
        sc("no-operands", files, ""),
        sc("one-operand", files, "a"),
        sc("many-to-file", files, "a b e"),
        sc("many-to-missing", files, "a b nosuch"),
        sc("many-to-dangling", files, "a b dang"),
        sc("dash-dash", files, "-- -dash dir"),
        sc("dash-operand", files, "-dash dir"),
        sc("missing-source", files, "nosuch dir"),
        sc("missing-then-ok", files, "nosuch a dir"),
        sc("options-after-operands", files, "d dir -r"),
        sc("r-dir-new", files, "-r d new"),
        sc("r-dir-existing", files, "-r d dir"),
        sc("r-dir-slash-new", files, "-r d/ new"),
        sc("r-dir-slash-existing", files, "-r d/ dir"),
        sc("r-dir-dot", files, "-r d/. dir").order_dependent(),
        sc("r-dot-into-sub", files, "-r . dir").order_dependent(),
        sc("r-dotdot", files, "-r d/sub/.. dir"),
        sc("R-upper", files, "-R d dir"),
        sc("recursive-long", files, "--recursive d dir"),
        sc("no-r-dir", files, "d dir"),
        sc("no-r-dir-and-file", files, "d a dir"),
        sc("strip-trailing", files, "--strip-trailing-slashes -r d/ dir"),
        sc("strip-trailing-file", files, "--strip-trailing-slashes a/ dir"),
        sc("file-slash-source", files, "a/ dir"),
        sc("space-name", files, "").raw_args(&["sp ace", "dir"]),
        // Names joined as GNU's file_name_concat joins them: a directory's trailing
        // slashes dropped, the rest kept.
        sc("v-into-dir-two-slashes", files, "-v a dir//"),
        sc("v-into-dir-three-slashes", files, "-v a dir///"),
        sc("v-into-dot-dir-slash", files, "-v a ./dir/"),
        sc("v-into-dir-dot", files, "-v a dir/."),
        sc("v-into-dot-two-slashes", files, "-v d//f .//"),
        sc("v-t-two-slashes", files, "-v -t dir// a b"),
        sc("rv-source-and-dir-two-slashes", files, "-rv d// dir//").order_dependent(),
        sc("same-file-two-slashes", files, "d//f d//"),
        sc("into-itself-two-slashes", files, "-r d// d//").order_dependent(),
        sc("into-itself-sub-slashes", files, "-r d/ d//sub//").order_dependent(),
        sc("parents-v-dir-two-slashes", files, "--parents -v d/sub/g dir//"),
        sc("parents-v-source-slashes", files, "--parents -v d//sub/g dir///"),
        sc("parents-v-t-two-slashes", files, "--parents -v -t dir// d/f"),
        sc("cyclic-two-slashes", symlinks, "-rvL real// out//").order_dependent(),
        // Same file and other safety rules.
        sc("same-file", files, "a a"),
        sc("same-file-dot", files, "a ./a"),
        sc("same-via-symlink", files, "la a"),
        sc("same-via-symlink-P", files, "-P la a"),
        sc("same-symlink-to-itself-d", files, "-d la la"),
        sc("same-dir-r", files, "-r d d").order_dependent(),
        sc("into-itself", files, "-r d d/sub").order_dependent(),
        sc("into-itself-deep", files, "-r d d/sub/new").order_dependent(),
        sc("dir-onto-file", files, "-r d a"),
        sc("file-onto-dir-T", files, "-T a d"),
        sc("dangling-dest", files, "a dang"),
        sc("dangling-dest-posix", files, "a dang").env("POSIXLY_CORRECT", "1"),
        sc("dangling-dest-f", files, "-f a dang"),
        sc("dangling-dest-remove", files, "--remove-destination a dang"),
        sc("just-created", files, "a d/f dir"),
        sc("specified-twice", files, "a a dir"),
        sc("specified-twice-dot", files, "a ./a dir"),
        sc("dir-specified-twice", files, "-r d d dir").order_dependent(),
        sc("through-just-created-symlink", files, "-d la a dir"),
        // Overwrite control.
        sc("f-unwritable", existing, "-f a ro"),
        sc("no-f-unwritable", existing, "a ro"),
        sc("f-plain", existing, "-f a b"),
        sc("n-skip", existing, "-n a b out"),
        sc("n-new", existing, "-n c out"),
        sc("n-v", existing, "-nv a c out"),
        sc("no-clobber-long", existing, "--no-clobber a out"),
        sc("i-yes", existing, "-i a out").stdin("y\n"),
        sc("i-no", existing, "-i a out").stdin("n\n"),
        sc("i-eof", existing, "-i a out"),
        sc("i-two", existing, "-i a b out").stdin("y\nn\n"),
        sc("i-yes-word", existing, "-i a out").stdin("yes please\n"),
        sc("i-unwritable", existing, "-i a ro").stdin("y\n"),
        sc("i-unwritable-f", existing, "-if a ro").stdin("n\n"),
        sc("i-then-n", existing, "-i -n a out"),
        sc("n-then-i", existing, "-n -i a out").stdin("n\n"),
        sc("i-new-file-no-prompt", existing, "-i c out"),
        sc("u-older-dst", existing, "-u a b out").tweak(b_newer),
        sc("u-v", existing, "-uv a b out").tweak(b_newer),
        sc("u-long", existing, "--update a b out").tweak(b_newer),
        sc("u-same-time", existing, "-u a out"),
        sc("u-new", existing, "-u c out"),
        sc("u-n", existing, "-u -n a out").tweak(b_newer),
        sc("u-r", existing, "-ru sub out").tweak(b_newer),
        sc("update-none", existing, "--update=none a c out").deliberate(
            "--update=WHEN is from GNU 9.3+",
            |run| {
                let kept = run.tree.get("out/a").is_some_and(|t| t.contains("OLD a"));
                let copied = run.tree.get("out/c").is_some_and(|t| t.contains("old c"));
                if run.code == Some(0) && kept && copied && run.stderr.is_empty() {
                    Ok(())
                } else {
                    Err("existing file replaced, or not silent".into())
                }
            },
        ),
        sc("update-none-fail", existing, "--update=none-fail a c out").deliberate(
            "--update=none-fail is from GNU 9.5",
            |run| {
                let kept = run.tree.get("out/a").is_some_and(|t| t.contains("OLD a"));
                let copied = run.tree.get("out/c").is_some_and(|t| t.contains("old c"));
                if run.code == Some(1)
                    && kept
                    && copied
                    && run.stderr == "PROG: not replacing 'out/a'\n"
                {
                    Ok(())
                } else {
                    Err("want exit 1, out/a kept, 'not replacing' message".into())
                }
            },
        ),
        sc("update-all", existing, "--update=all a out").tweak(b_newer).deliberate(
            "--update=all is from GNU 9.3+",
            |run| {
                let replaced = run.tree.get("out/a").is_some_and(|t| t.contains("new a"));
                if run.code == Some(0) && replaced { Ok(()) } else { Err("not replaced".into()) }
            },
        ),
        sc("update-older", existing, "--update=older a b out").tweak(b_newer).deliberate(
            "--update=older is GNU 9.3+'s spelling of -u",
            |run| {
                let a = run.tree.get("out/a").is_some_and(|t| t.contains("new a"));
                let b = run.tree.get("out/b").is_some_and(|t| t.contains("OLD b"));
                if run.code == Some(0) && a && b { Ok(()) } else { Err("not like -u".into()) }
            },
        ),
        sc("remove-destination", existing, "--remove-destination a b out"),
        sc("remove-destination-v", existing, "-v --remove-destination a out"),
        sc("remove-destination-symlink", existing, "--remove-destination a lc"),
        sc("write-through-symlink", existing, "a lc"),
        sc("file-onto-dir-entry", existing, "a out/dir"),
        sc("file-over-dir-in-target", existing, "-r isdir out/a"),
        // Backups.
        sc("b-simple", existing, "-b a b out"),
        sc("b-v", existing, "-bv a b out"),
        sc("backup-simple", existing, "--backup=simple a out")
            .deliberate(BACKUP_BESIDE, backup_beside),
        sc("backup-never-word", existing, "--backup=never a out")
            .deliberate(BACKUP_BESIDE, backup_beside),
        sc("backup-numbered", existing, "--backup=numbered a out"),
        sc("backup-t", existing, "--backup=t a out"),
        sc("backup-existing-none", existing, "--backup=existing a out"),
        sc("backup-nil", existing, "--backup=nil a out"),
        sc("backup-none", existing, "--backup=none a out"),
        sc("backup-off", existing, "--backup=off -v a out"),
        sc("backup-abbrev", existing, "--backup=nu a out"),
        sc("backup-ambiguous", existing, "--backup=n a out"),
        sc("backup-invalid", existing, "--backup=bogus a out"),
        sc("backup-bare-env", existing, "--backup a out").env("VERSION_CONTROL", "numbered"),
        sc("b-env-simple", existing, "-b a out")
            .env("VERSION_CONTROL", "simple")
            .deliberate(BACKUP_BESIDE, backup_beside),
        sc("b-env-invalid", existing, "-b a out").env("VERSION_CONTROL", "bogus"),
        sc("S-suffix", existing, "-S .bak a out"),
        sc("S-long", existing, "--suffix=.orig -v a out"),
        sc("S-slash", existing, "-S x/y a out"),
        sc("suffix-env", existing, "-b a out").env("SIMPLE_BACKUP_SUFFIX", ".old"),
        // A suffix that is its own last component is used, trailing slashes and all (the
        // rename then fails); one with a slash inside or in front is not.
        sc("suffix-trailing-slash", existing, "--suffix=.b/ a b"),
        sc("suffix-trailing-slashes-v", existing, "--suffix=.b// -v a b out"),
        sc("suffix-trailing-slash-r", existing, "-rb --suffix=.b/ sub/. out"),
        sc("suffix-trailing-slash-symlink", existing, "--suffix=.b/ a lc"),
        sc("suffix-trailing-slash-numbered", existing, "--backup=numbered --suffix=.b/ a out"),
        sc("suffix-trailing-slash-fb-same", existing, "-fb --suffix=.b/ a a"),
        sc("suffix-leading-slash", existing, "-S /x a out"),
        sc("suffix-env-trailing-slash", existing, "-b a out").env("SIMPLE_BACKUP_SUFFIX", "o/"),
        sc("b-numbered-exists", numbered, "--backup=existing a b"),
        sc("b-numbered-next", numbered, "--backup=numbered -v a b"),
        sc("b-existing-simple", numbered, "--backup=existing a c"),
        sc("b-twice", numbered, "--backup=t a c").tweak(|d| {
            fs::write(d.join("c.~2~"), "c2\n").unwrap();
            set_mtime(&d.join("c.~2~"), T0);
        }),
        sc("b-and-n", existing, "-b -n a out"),
        sc("b-destroys-source", existing, "-b a~ a"),
        sc("fb-same-name", existing, "-fb a a"),
        sc("b-r-tree", existing, "-rb sub out"),
        sc("b-new-file", existing, "-bv c out"),
        // Links and dereferencing.
        sc("symlink-default", files, "la dir"),
        sc("symlink-P", files, "-P la dir"),
        sc("symlink-d", files, "-d la lla dir"),
        sc("symlink-r", files, "-r la ld dir"),
        sc("symlink-rL", files, "-rL la ld dir"),
        sc("symlink-rH", files, "-rH ld dir"),
        sc("dangling-P", files, "-P dang dir"),
        sc("dangling-default", files, "dang dir"),
        sc("L-last-wins", files, "-P -L la dir"),
        sc("P-last-wins", files, "-L -P la dir"),
        sc("H-tree", symlinks, "-rH lreal out"),
        sc("L-tree-cycle", symlinks, "-rL real out").order_dependent(),
        sc("P-tree", symlinks, "-rP real src out"),
        sc("L-src", symlinks, "-rL src out"),
        sc("symlink-loop", symlinks, "self out"),
        sc("symlink-loop-P", symlinks, "-P self out"),
        sc("l-hard", files, "-l a b dir"),
        sc("l-hard-r", files, "-rl d dir").order_dependent(),
        sc("l-existing", existing, "-l a out"),
        sc("l-existing-f", existing, "-lf a out"),
        sc("l-symlink", files, "-l la dir"),
        sc("l-symlink-P", files, "-lP la dir"),
        sc("s-abs-fail-rel", files, "-s a dir"),
        sc("s-rel-here", files, "-s a newlink"),
        sc("s-existing", files, "-s a b"),
        sc("s-existing-f", files, "-sf a b"),
        sc("l-and-s", files, "-l -s a b"),
        // From GNU's tests/cp/same-file.sh.
        sc("dl-onto-symlink-to-it", files, "-dl a la"),
        sc("sf-onto-hard-link", files, "-sf a hl")
            .tweak(|d| fs::hard_link(d.join("a"), d.join("hl")).unwrap()),
        sc("s-onto-hard-link", files, "-s a hl")
            .tweak(|d| fs::hard_link(d.join("a"), d.join("hl")).unwrap()),
        sc("lf-onto-symlink-to-it", files, "-lf a la"),
        sc("s-r", files, "-rs d dir").order_dependent(),
        sc("copy-contents-fifo", special, "-r --copy-contents src/plain dst").tweak(|d| {
            fs::create_dir(d.join("dst")).unwrap();
        }),
        sc("x-one-fs", files, "-rx d dir"),
        sc("x-long", files, "--one-file-system -r d dir"),
        sc("attributes-only-new", files, "--attributes-only a new"),
        sc("attributes-only-existing", files, "--attributes-only a b"),
        sc("attributes-only-p", files, "--attributes-only -p exe b"),
        sc("Z-no-selinux", files, "-Z a dir"),
        sc("context-no-selinux", files, "--context a dir"),
        sc("context-ctx", files, "--context=user_u:object_r:tmp_t a dir"),
        sc("parents-dotdot", tree, "--parents -r src/sub/.. dst"),
        sc("parents-dotdot-existing", tree, "--parents -r src/sub/.. dst").tweak(|d| {
            std::fs::create_dir_all(d.join("dst/src/sub")).unwrap();
        }),
        sc("preserve-context-no-selinux", files, "--preserve=context a new"),
        sc("preserve-all-context-no-selinux", files, "--preserve=all,context a new"),
        sc("preserve-context-missing-operand", files, "--preserve=context a"),
        sc("preserve-all-keeps-going", files, "--preserve=all a new"),
        sc("keep-directory-symlink", symlinks, "-r --keep-directory-symlink real out")
            .tweak(dir_symlink_in_out)
            .deliberate("--keep-directory-symlink is from GNU 9.5", |run| {
                let kept = run.tree.get("out/real").is_some_and(|t| t.starts_with("symlink"));
                let through = run.tree.contains_key("elsewhere/inner/f");
                if run.code == Some(0) && kept && through { Ok(()) } else { Err("not kept".into()) }
            }),
        sc("no-keep-directory-symlink", symlinks, "-r real out").tweak(dir_symlink_in_out),
        // --parents.
        sc("parents", parents, "--parents p/q/r/f dst"),
        sc("parents-v", parents, "--parents -v p/q/r/f dst"),
        sc("parents-p", parents, "--parents -p p/q/r/f dst"),
        sc("parents-r", parents, "--parents -r p/q dst"),
        sc("parents-top", parents, "--parents top dst"),
        sc("parents-twice", parents, "--parents p/q/r/f top dst"),
        sc("parents-no-dir", parents, "--parents top newdir"),
        sc("parents-two-operands", parents, "--parents top"),
        sc("parents-blocked", parents, "--parents blocker/in/f dst"),
        sc("path-alias", parents, "--path top dst"),
        // re_protect copies the source directories' ACLs to the leading directories
        // under -p (whether or not the copy itself succeeds), not their xattrs.
        sc("parents-p-acl", parents, "--parents -p p/q/r/f dst").tweak(parents_acl),
        sc("parents-a-acl", parents, "--parents -a p/q/r/f dst").tweak(parents_acl),
        sc("parents-preserve-mode-acl", parents, "--parents --preserve=mode p/q/r/f dst")
            .tweak(parents_acl),
        sc(
            "parents-a-no-preserve-mode-acl",
            parents,
            "--parents -a --no-preserve=mode p/q/r/f dst",
        )
        .tweak(parents_acl),
        sc("parents-p-acl-source-fails", parents, "--parents -p p/q/r/nosuch dst")
            .tweak(parents_acl),
        sc("parents-a-acl-last-source-fails", parents, "--parents -a p/q/r/f p/q/r/nosuch dst")
            .tweak(parents_acl),
        sc("parents-r-acl-not-a-dir-fails", parents, "--parents -p p/q/r dst").tweak(parents_acl),
        sc("parents-no-p-acl", parents, "--parents p/q/r/f dst").tweak(parents_acl),
        sc("nobody-parents-a-acl-unreadable", parents, "--parents -a p/q/r/f p/q/r/g dst")
            .nobody()
            .tweak(|d| {
                parents_acl(d);
                sh(d, "echo g > p/q/r/g && chmod 000 p/q/r/g && chmod -R u+rwX dst");
            }),
        // Option parsing and messages.
        sc("reflink-bogus", files, "--reflink=bogus a b"),
        sc("reflink-ambiguous", files, "--reflink=a a b"),
        sc("reflink-never", files, "--reflink=never a new"),
        sc("reflink-auto", files, "--reflink=auto a new"),
        sc("reflink-abbrev", files, "--reflink=ne a new"),
        sc("sparse-never", files, "--sparse=never a new"),
        sc("sparse-separate-arg", files, "--sparse never a new"),
        sc("sparse-prefix", files, "--sparse=n a new"),
        sc("sparse-ambiguous", files, "--sparse=a a new"),
        sc("sparse-missing-arg", files, "a new --sparse"),
        sc("reflink-always-sparse", files, "--reflink=always --sparse=never a new"),
        sc("unknown-long", files, "--bogus a b"),
        sc("unknown-short", files, "-k a b"),
        sc("ambiguous-long", files, "--co a b"),
        // rcp's own --no-progress does not count where GNU's options match.
        sc("ambiguous-long-own-options", files, "--no a b"),
        sc("abbreviation-gnu-takes", files, "--li a b"),
        sc("help-with-arg", files, "--help=x"),
        sc("t-missing-arg", files, "a -t"),
        sc("S-missing-arg", files, "a b -S"),
        sc("preserve-bogus", files, "--preserve=bogus a b"),
        sc("no-preserve-bogus", files, "--no-preserve=mode,bogus a b"),
        // getopt: a value is the next word whatever it looks like, in clusters too.
        sc("S-takes-dashed-word", files, "-b -S --suffix a b"),
        sc("S-attached", files, "-bS.bak a b"),
        sc("S-in-cluster-takes-next", files, "-bS -x a b"),
        sc("S-takes-dash-dash", files, "-bS -- a b"),
        sc("suffix-takes-dashed-word", files, "--suffix -x a b"),
        sc("t-takes-dashed-word", files, "-t -dash a"),
        sc("t-in-cluster-takes-next", files, "-vt dir a"),
        // Every value is checked when getopt meets it, even one a later option overrides.
        sc("backup-bogus-then-bare", files, "--backup=bogus --backup a b"),
        sc("backup-bogus-then-b", files, "--backup=bogus -b a b"),
        sc("backup-bogus-then-empty", files, "--backup=bogus --backup= a b"),
        sc("backup-bogus-then-simple", files, "--backup=bogus --backup=numbered a b"),
        sc("sparse-bogus-then-auto", files, "--sparse=bogus --sparse=auto a b"),
        sc("reflink-bogus-then-auto", files, "--reflink=bogus --reflink=auto a new"),
        sc("preserve-bogus-then-p", files, "--preserve=bogus -p a new"),
        sc("no-preserve-bogus-then-preserve", files, "--no-preserve=bogus --preserve=all a new"),
        sc("t-twice", files, "-t dir -t dir a"),
        sc("t-twice-long", files, "-t dir --target-directory=dir a"),
        sc("t-twice-after-bad-value", files, "--sparse=x -t dir -t dir a"),
        sc("bad-value-before-unknown", files, "--reflink=bogus --bogus a b"),
        sc("unknown-before-bad-value", files, "--bogus --reflink=bogus a b"),
        sc("bad-value-before-help", files, "--reflink=bogus --help"),
        sc("bad-value-before-missing-arg", files, "--sparse=x a b -S"),
        sc("context-twice", files, "--context=x --context=y a dir"),
        sc("context-empty", files, "--context= a dir"),
        sc("context-then-bad-value", files, "--context=x --reflink=bogus a b"),
        sc("context-then-unknown", files, "--context=x -k a b"),
        sc("context-then-preserve-context", files, "--context=x --preserve=context a new"),
        // POSIXLY_CORRECT: options end at the first operand.
        sc("posix-option-after-operand", files, "a dir -v").env("POSIXLY_CORRECT", "1"),
        sc("posix-dash-dash-after-operand", files, "-v a -- dir").env("POSIXLY_CORRECT", "1"),
        sc("posix-options-first", files, "-v -b a e dir").env("POSIXLY_CORRECT", "1"),
        // An empty word is a prefix of every valid one: ambiguous.
        sc("no-preserve-empty-item", files, "--no-preserve=mode,,links a b"),
        sc("preserve-empty-first-item", files, "--preserve=,mode a b"),
        sc("preserve-empty", files, "--preserve= a b"),
        sc("reflink-empty", files, "--reflink= a b"),
        sc("sparse-empty", files, "--sparse= a b"),
        sc("backup-empty", files, "--backup= a b"),
        // Two things wrong: GNU's order (its loop, then -l/-s, --backup/-n, --reflink/
        // --sparse, the backup type, the SELinux check, then the operands).
        sc("bad-value-and-no-operand", files, "--reflink=bogus"),
        sc("bad-list-and-no-operand", files, "--preserve=,mode"),
        sc("bad-value-after-l-s", files, "-l -s --preserve=bogus a b"),
        sc("l-s-and-no-operand", files, "-l -s"),
        sc("l-s-before-b-n", files, "-b -n -l -s a b"),
        sc("b-n-before-reflink-sparse", files, "--reflink=always --sparse=never -b -n a b"),
        sc(
            "reflink-sparse-before-backup-type",
            files,
            "--backup=bogus --reflink=always --sparse=never a b",
        ),
        sc("backup-type-and-no-operand", files, "--backup=bogus"),
        sc("backup-type-before-extra-operand", files, "--backup=bogus -T a b e"),
        sc("l-s-before-preserve-context", files, "--preserve=context -l -s a"),
        sc("preserve-context-before-t-and-T", files, "--preserve=context -t dir -T a"),
        sc("preserve-context-before-bad-target", files, "--preserve=context -t nosuch a"),
        sc("t-and-T-without-operand", files, "-t dir -T"),
        sc("t-and-T-before-missing-target", files, "-t nosuch -T a"),
        sc("parents-and-T-two-operands", files, "--parents -T a b"),
        sc("unknown-before-t-twice", files, "-k -t dir -t dir"),
        sc("missing-arg-after-t", files, "-t dir -t"),
        sc("verbose-long", files, "--verbose a b e dir"),
        sc("v-r", files, "-rv d dir").order_dependent(),
        sc("v-r-new", files, "-rv d new").order_dependent(),
        sc("v-existing-tree", existing, "-rv sub out").order_dependent(),
        sc("quoted-names", odd_names, "").raw_args(&["-v", "q'uote", "nl\nx", "tab\tx", "dir"]),
        sc("quoted-missing", odd_names, "").raw_args(&["q'uote2", "nl\ny", "dir"]),
        // Hostile names.
        sc("hostile-r", hostile, "-r h out"),
        sc("hostile-rv", hostile, "-rv h out").order_dependent(),
        sc("hostile-a", hostile, "-a h out"),
        sc("hostile-dash-operand", hostile, "-- h/-rf out"),
        sc("hostile-name-too-long", hostile, "")
            .raw_args(&["h/-rf", &format!("out/{}", "y".repeat(300))]),
        // Recursive trees.
        sc("tree-r", tree, "-r src dst").order_dependent(),
        sc("tree-r-new", tree, "-r src new").order_dependent(),
        sc("tree-r-twice", tree, "-r src dst").tweak(|d| {
            let st = Command::new("/usr/bin/cp").args(["-r", "src", "dst"]).current_dir(d).status();
            assert!(st.unwrap().success());
            super::normalize_times(d);
        }),
        sc("tree-a", tree, "-a src dst").order_dependent(),
        sc("tree-a-new", tree, "-a src new").order_dependent(),
        sc("tree-p", tree, "-rp src dst"),
        sc("tree-d", tree, "-rd src dst"),
        sc("tree-L", tree, "-rL src dst"),
        sc("tree-l", tree, "-rl src dst").order_dependent(),
        sc("tree-u", tree, "-ru src dst").order_dependent(),
        sc("tree-n", tree, "-rn src dst").order_dependent(),
        sc("tree-into-itself", tree, "-r src src/sub").order_dependent(),
        sc("tree-no-preserve-mode", tree, "-a --no-preserve=mode src dst"),
        sc("tree-preserve-links", tree, "-r --preserve=links src dst"),
        sc("tree-preserve-all", tree, "-r --preserve=all src dst"),
        sc("tree-preserve-timestamps", tree, "-r --preserve=timestamps src dst"),
        // Metadata.
        sc("p-file", files, "-p exe ro dir"),
        sc("p-existing", existing, "-p a out"),
        sc("preserve-default", files, "--preserve exe dir"),
        sc("preserve-mode", files, "--preserve=mode ro dir"),
        sc("preserve-times", files, "--preserve=timestamps a dir"),
        sc("no-preserve-after-p", files, "-p --no-preserve=timestamps a dir"),
        sc("p-after-no-preserve", files, "--no-preserve=timestamps -p a dir"),
        sc("existing-keeps-mode", existing, "b out"),
        sc("new-masked-mode", files, "exe ro dir"),
        sc("hardlinks-a", hardlinks, "-a src dst"),
        sc("hardlinks-r", hardlinks, "-r src dst"),
        sc("hardlinks-d", hardlinks, "-rd src dst"),
        sc("hardlinks-preserve-links", hardlinks, "-r --preserve=links src dst"),
        sc("hardlinks-operands", hardlinks, "--preserve=links src/g1a src/g1b src/sub/g1c dst")
            .tweak(|d| fs::create_dir(d.join("dst")).unwrap()),
        sc("hardlinks-L", hardlinks, "-rL --preserve=links src dst"),
        sc("modes-r", modes, "-r src dst"),
        sc("modes-a", modes, "-a src dst"),
        sc("modes-p-setuid", modes, "-p src/su src/sg dst"),
        sc("modes-setuid-no-p", modes, "src/su src/sg src/owned dst"),
        sc("modes-no-preserve-mode", modes, "-r --no-preserve=mode src dst"),
        sc("modes-preserve-ownership", modes, "--preserve=ownership src/owned dst"),
        sc("special-r", special, "-r src dst"),
        sc("special-a", special, "-a src dst"),
        sc("special-null-no-r", special, "src/null out"),
        sc("special-copy-contents", special, "-r --copy-contents src/null out"),
        sc("xattr-a", xattrs, "-a src dst"),
        sc("xattr-preserve", xattrs, "--preserve=xattr src/f out"),
        sc("xattr-r-not-kept", xattrs, "-r src dst"),
        sc("xattr-p-not-kept", xattrs, "-p src/f out"),
        sc("xattr-no-preserve", xattrs, "-a --no-preserve=xattr src dst"),
        sc("capability-a", capability, "-a src dst"),
        sc("capability-p", capability, "-p src/ping dst"),
        sc("capability-preserve-xattr", capability, "--preserve=xattr,ownership src/ping dst"),
        sc("capability-r", capability, "-r src dst"),
        sc("acl-a", xattrs, "-a src/dir src/f out")
            .tweak(|d| fs::create_dir(d.join("out")).unwrap()),
        sc("acl-p-mode", xattrs, "--preserve=mode src/f out"),
        // New files and directories inherit the destination's default ACL; a source
        // without ACLs takes it away again (only the source's listing is skipped).
        sc("acl-a-into-a-default-acl", xattrs, "-a src/plain src out")
            .tweak(|d| sh(d, "mkdir out && setfacl -d -m u:1234:rwx out")),
        sc("setuid-root-no-p", modes, "src/su dst"),
        // As an unprivileged user.
        sc("nobody-p", modes, "-p src/owned src/su dst").nobody(),
        sc("nobody-a", modes, "-a src dst").nobody(),
        sc("nobody-tree-r", tree, "-r src dst").nobody(),
        sc("nobody-unreadable", files, "-r d dir")
            .nobody()
            .tweak(|d| {
                make_writable(d);
                sh(d, "chmod 000 d/sub && chmod 000 d/f");
            })
            .order_dependent(),
        sc("nobody-unwritable-dst", files, "a dir").nobody().tweak(|d| {
            sh(d, "chmod 555 dir");
        }),
        sc("nobody-i-unwritable", existing, "-i a ro").nobody().stdin("y\n"),
        // From GNU's tests/misc/xattr.sh: a read-only source's xattrs still reach its copy.
        sc("nobody-xattr-read-only", xattrs, "--preserve=xattr src/f out")
            .nobody()
            .tweak(|d| sh(d, "chmod a-w src/f")),
        sc("nobody-preserve-ownership", modes, "--preserve=ownership src/owned dst").nobody(),
        sc("nobody-hardlinks-a", hardlinks, "-a src dst").nobody(),
        sc("nobody-ro-tree", tree, "-a src dst").nobody(),
        // Merging into a destination directory rcp may write but not read (opened O_PATH;
        // its times are set through /proc/self/fd).
        sc("nobody-merge-write-only-dir", tree, "-r --preserve=timestamps src/. dst")
            .nobody()
            .tweak(|d| {
                make_writable(d);
                sh(d, "mkdir -p dst/sub && chown -R nobody dst && chmod 333 dst/sub");
            }),
        sc("nobody-f-ro-dir-file", existing, "-f a out").nobody().tweak(|d| {
            sh(d, "chmod 444 out/a");
        }),
    ];
    v.retain(|s| !s.name.is_empty());
    v
}
