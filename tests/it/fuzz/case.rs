//! One fuzz case as data: the tree to build (entries in creation order), the command line
//! (options and operands as argv words, each item knowing which option it spells), stdin,
//! environment and user; building it on disk, making it smaller for the minimiser, and
//! printing it as a shell reproducer.

use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use crate::common::Fs;
use crate::gnu::{T0, T0_NSEC, normalize_times, set_mtime};

/// Stands for the twin's root directory in an argument (an absolute operand); replaced by
/// the real path when run, by `$PWD` in the reproducer.
pub const ROOT: &[u8] = b"@ROOT@";

/// nobody:nogroup.
pub const NOBODY: (u32, u32) = (65534, 65534);

#[derive(Clone, Debug)]
pub struct Case {
    pub seed: u64,
    pub fs: Fs,
    /// Run as `nobody`; the tree is then owned by nobody but for entries with an owner.
    pub nobody: bool,
    /// Parents before their children; every hard link after the file it links to.
    pub entries: Vec<Entry>,
    pub args: Vec<Arg>,
    pub stdin: String,
    pub env: Vec<(&'static str, String)>,
}

#[derive(Clone, Debug)]
pub struct Entry {
    /// Relative to the twin's root, `/`-separated; may hold any byte but NUL and `/`.
    pub path: Vec<u8>,
    pub kind: Kind,
    /// Permission bits (with setuid/setgid/sticky); unused for symlinks and hard links.
    pub mode: u32,
    pub owner: Option<(u32, u32)>,
    /// One `user.` xattr (files and directories only).
    pub xattr: Option<(String, String)>,
    /// A `setfacl -m` spec (files and directories only).
    pub acl: Option<&'static str>,
    /// Seconds added to T0 for the mtime.
    pub age: i64,
}

#[derive(Clone, Debug)]
pub enum Kind {
    /// A file of `len` bytes, holes but where `writes` put text.
    File {
        len: u64,
        writes: Vec<(u64, String)>,
    },
    Dir,
    Symlink(Target),
    /// A hard link to the file at this path.
    HardLink(Vec<u8>),
    Fifo,
}

#[derive(Clone, Debug)]
pub enum Target {
    /// Written as is.
    Rel(Vec<u8>),
    /// The twin root's absolute path, `/`, then this.
    Abs(Vec<u8>),
}

/// One item of the command line: an option (maybe with its value, maybe several short
/// options bundled), an operand, or `--`.
#[derive(Clone, Debug)]
pub struct Arg {
    /// The argv words it is spelt with (`-S` `.bak` is two).
    pub words: Vec<Vec<u8>>,
    /// What it means: GNU's long name (short-only options: the letter) and the value, spelt
    /// out in full where the spelling was an unambiguous abbreviation.
    pub opts: Vec<(&'static str, Option<String>)>,
}

impl Arg {
    pub fn operand(word: Vec<u8>) -> Arg {
        Arg { words: vec![word], opts: Vec::new() }
    }
}

impl Case {
    /// Whether an option is given (by GNU's long name, or the letter of a short-only one).
    pub fn has(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    /// The values given to an option, in order (`None` where it came without one).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Option<&'a str>> + 'a {
        self.args
            .iter()
            .flat_map(|a| a.opts.iter())
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_deref())
    }

    pub fn env(&self, var: &str) -> Option<&str> {
        self.env.iter().find(|(k, _)| *k == var).map(|(_, v)| v.as_str())
    }

    /// The argv after the program name, with `ROOT` replaced by `root`.
    pub fn argv(&self, args: &[Arg], root: &Path) -> Vec<OsString> {
        let root = root.as_os_str().as_bytes();
        args.iter()
            .flat_map(|a| a.words.iter())
            .map(|w| OsString::from(OsStr::from_bytes(&replace(w, ROOT, root))))
            .collect()
    }

    /// The case without entry `i`, what is below it, and hard links to anything removed.
    pub fn without_entry(&self, i: usize) -> Case {
        let mut gone = vec![self.entries[i].path.clone()];
        let mut kept = Vec::new();
        for e in &self.entries {
            let below = gone.iter().any(|g| e.path == *g || is_below(&e.path, g));
            let dangling = matches!(&e.kind, Kind::HardLink(t) if gone.contains(t));
            if below || dangling {
                gone.push(e.path.clone());
            } else {
                kept.push(e.clone());
            }
        }
        Case { entries: kept, ..self.clone() }
    }

    /// Builds the tree under `root` (an empty directory): entries, then xattrs and ACLs, then
    /// owners, then modes (children first), then times.
    pub fn build(&self, root: &Path) {
        for e in &self.entries {
            let path = root.join(OsStr::from_bytes(&e.path));
            let made = match &e.kind {
                Kind::Dir => fs::create_dir(&path),
                Kind::File { len, writes } => fs::File::create(&path).and_then(|f| {
                    f.set_len(*len)?;
                    writes.iter().try_for_each(|(at, text)| f.write_all_at(text.as_bytes(), *at))
                }),
                Kind::Symlink(target) => {
                    symlink(OsStr::from_bytes(&target_bytes(target, root)), &path)
                }
                Kind::HardLink(to) => fs::hard_link(root.join(OsStr::from_bytes(to)), &path),
                Kind::Fifo => mkfifo(&path),
            };
            made.unwrap_or_else(|err| panic!("building {path:?} ({:?}): {err}", e.kind));
        }
        for e in self.entries.iter().filter(|e| e.takes_attributes()) {
            let path = root.join(OsStr::from_bytes(&e.path));
            if let Some((name, value)) = &e.xattr {
                let (c, n) = (cstr(&path), CString::new(name.as_str()).expect("no NUL"));
                // SAFETY: valid C strings, value pointer and length match.
                let rc = unsafe {
                    libc::lsetxattr(c.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0)
                };
                assert_eq!(
                    rc,
                    0,
                    "setxattr {name} on {path:?}: {}",
                    std::io::Error::last_os_error()
                );
            }
            if let Some(spec) = e.acl {
                let out = Command::new("setfacl").args(["-m", spec, "--"]).arg(&path).output();
                let out = out.unwrap_or_else(|err| panic!("run setfacl: {err}"));
                assert!(out.status.success(), "setfacl -m {spec} {path:?}: {out:?}");
            }
        }
        if self.nobody {
            lchown(root, NOBODY);
        }
        for e in &self.entries {
            let owner = e.owner.or(if self.nobody { Some(NOBODY) } else { None });
            if let (Some(owner), false) = (owner, matches!(e.kind, Kind::HardLink(_))) {
                lchown(&root.join(OsStr::from_bytes(&e.path)), owner);
            }
        }
        for e in self.entries.iter().rev().filter(|e| e.has_mode()) {
            let path = root.join(OsStr::from_bytes(&e.path));
            fs::set_permissions(&path, fs::Permissions::from_mode(e.mode))
                .unwrap_or_else(|err| panic!("chmod {:o} {path:?}: {err}", e.mode));
        }
        normalize_times(root);
        for e in self.entries.iter().filter(|e| e.age != 0 && !matches!(e.kind, Kind::HardLink(_)))
        {
            set_mtime(&root.join(OsStr::from_bytes(&e.path)), T0 + e.age);
        }
    }

    /// A bash script that builds the tree in a new directory `t` and runs GNU cp with
    /// `gnu_args` (put `rcp` in its place to compare; where rcp's command line differs, a
    /// comment gives it).
    pub fn script(&self, gnu_args: &[Arg]) -> String {
        let mut s = format!(
            "# fuzz case {} on {:?}{}\nmkdir t && cd t\n",
            self.seed,
            self.fs,
            if self.nobody { ", as nobody" } else { "" }
        );
        for e in &self.entries {
            let p = shq_path(&e.path);
            s += &match &e.kind {
                Kind::Dir => format!("mkdir {p}\n"),
                Kind::File { len, writes } => {
                    let mut line = format!(": > {p}");
                    if *len > 0 {
                        line += &format!("; truncate -s {len} {p}");
                    }
                    for (at, text) in writes {
                        let data = shq(text.as_bytes());
                        line += &format!(
                            "; printf %s {data} | dd of={p} bs=1 seek={at} conv=notrunc status=none"
                        );
                    }
                    line + "\n"
                }
                Kind::Symlink(Target::Rel(t)) => format!("ln -s {} {p}\n", shq(t)),
                Kind::Symlink(Target::Abs(t)) => format!("ln -s \"$PWD\"/{} {p}\n", shq(t)),
                Kind::HardLink(to) => format!("ln {} {p}\n", shq_path(to)),
                Kind::Fifo => format!("mkfifo {p}\n"),
            };
        }
        for e in self.entries.iter().filter(|e| e.takes_attributes()) {
            let p = shq_path(&e.path);
            if let Some((name, value)) = &e.xattr {
                s += &format!("setfattr -n {name} -v {} {p}\n", shq(value.as_bytes()));
            }
            if let Some(spec) = e.acl {
                s += &format!("setfacl -m {spec} {p}\n");
            }
        }
        if self.nobody {
            s += "chown -hR nobody:nogroup .\n";
        }
        for e in self.entries.iter().filter(|e| !matches!(e.kind, Kind::HardLink(_))) {
            if let Some((u, g)) = e.owner {
                s += &format!("chown -h {u}:{g} {}\n", shq_path(&e.path));
            }
        }
        for e in self.entries.iter().rev().filter(|e| e.has_mode()) {
            s += &format!("chmod {:o} {}\n", e.mode, shq_path(&e.path));
        }
        s += &format!("find . -depth -exec touch -h -d @{T0}.{T0_NSEC} {{}} +\n");
        for e in self.entries.iter().filter(|e| e.age != 0 && !matches!(e.kind, Kind::HardLink(_)))
        {
            s += &format!("touch -h -d @{}.{T0_NSEC} {}\n", T0 + e.age, shq_path(&e.path));
        }
        let words = |args: &[Arg]| {
            let all = args.iter().flat_map(|a| a.words.iter());
            all.map(|w| shq_word(w)).collect::<Vec<_>>().join(" ")
        };
        if words(gnu_args) != words(&self.args) {
            s += &format!("# rcp runs: rcp {}\n", words(&self.args));
        }
        let mut line = String::new();
        for (k, v) in &self.env {
            line += &format!("{k}={} ", shq(v.as_bytes()));
        }
        if self.nobody {
            line += "setpriv --reuid=nobody --regid=nogroup --clear-groups ";
        }
        line += "cp ";
        line += &words(gnu_args);
        if !self.stdin.is_empty() {
            line = format!("printf %s {} | {line}", shq(self.stdin.as_bytes()));
        } else {
            line += " </dev/null";
        }
        s + &line + "; echo \"exit $?\"\n"
    }
}

impl Entry {
    /// Files and directories take xattrs and ACLs.
    fn takes_attributes(&self) -> bool {
        matches!(self.kind, Kind::File { .. } | Kind::Dir)
    }

    fn has_mode(&self) -> bool {
        !matches!(self.kind, Kind::Symlink(_) | Kind::HardLink(_))
    }
}

/// Whether `path` lies below directory `dir` (both relative, `/`-separated).
pub fn is_below(path: &[u8], dir: &[u8]) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

fn target_bytes(target: &Target, root: &Path) -> Vec<u8> {
    match target {
        Target::Rel(t) => t.clone(),
        Target::Abs(t) => [root.as_os_str().as_bytes(), b"/", t].concat(),
    }
}

fn replace(word: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        if word[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(word[i]);
            i += 1;
        }
    }
    out
}

fn cstr(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("paths hold no NUL")
}

fn mkfifo(path: &Path) -> std::io::Result<()> {
    // SAFETY: a valid C string.
    if unsafe { libc::mkfifo(cstr(path).as_ptr(), 0o644) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn lchown(path: &Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|err| panic!("chown {uid}:{gid} {path:?}: {err}"));
}

/// Bash quoting: bare when plainly safe, `'…'` when printable, `$'…'` otherwise.
pub fn shq(bytes: &[u8]) -> String {
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"._/-+=,:@%".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    if bytes.iter().all(|&b| (b' '..=b'~').contains(&b) && b != b'\'') {
        return format!("'{}'", String::from_utf8_lossy(bytes));
    }
    let mut s = String::from("$'");
    for &b in bytes {
        match b {
            b'\'' | b'\\' => s += &format!("\\{}", b as char),
            b' '..=b'~' => s.push(b as char),
            _ => s += &format!("\\x{b:02x}"),
        }
    }
    s + "'"
}

/// A relative path for a build command: `./` first, so a leading `-` is no option.
fn shq_path(path: &[u8]) -> String {
    shq(&[b"./", path].concat())
}

/// A cp argument, with `ROOT` as `"$PWD"`.
fn shq_word(word: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut rest = word;
    while let Some(at) = rest.windows(ROOT.len()).position(|w| w == ROOT) {
        if at > 0 {
            parts.push(shq(&rest[..at]));
        }
        parts.push("\"$PWD\"".to_string());
        rest = &rest[at + ROOT.len()..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(shq(rest));
    }
    parts.concat()
}
