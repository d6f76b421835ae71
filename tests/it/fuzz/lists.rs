//! The fuzzer's two named lists. `DELIBERATE`: where rcp differs from GNU cp 9.1 on purpose
//! (README, "Differences from GNU cp (deliberate)"), each recognised from the case and either
//! translated into 9.1's words for the GNU run, normalised away, or accepted. `KNOWN`: real
//! differences the fuzzer found that are not fixed yet, each with its minimised reproducer,
//! so CI stays green while they wait. Nothing else is ignored.

use super::case::{Arg, Case, Kind, ROOT};
use super::generate::GNU_LONG;
use crate::gnu::Run;

/// What a deliberate difference does to a case.
pub enum Treatment {
    /// GNU 9.1 runs this command line instead (a later GNU's option in 9.1's words); a
    /// difference left is still one.
    Translate(fn(&Case, &[Arg]) -> Option<Vec<Arg>>),
    /// Both runs are adjusted before they are compared (GNU's, rcp's).
    Normalise(fn(&mut Run, &mut Run)),
    /// Any difference in such a case is this one.
    Accept,
}

pub struct Deliberate {
    pub name: &'static str,
    pub why: &'static str,
    pub applies: fn(&Case) -> bool,
    pub treatment: Treatment,
}

pub const DELIBERATE: &[Deliberate] = &[
    Deliberate {
        name: "update-when",
        why: "--update=all|none|older is GNU 9.3+; alone, 9.1 says it as nothing, -n, -u",
        applies: |c| translatable_update(c).is_some(),
        treatment: Treatment::Translate(|c, args| {
            let word: &[&[u8]] = match translatable_update(c)? {
                "older" => &[b"-u"],
                "none" => &[b"-n"],
                _ => &[],
            };
            Some(rewrite(args, "update", word))
        }),
    },
    Deliberate {
        name: "update-when-mixed",
        why: "--update=none-fail (GNU 9.5), or --update=WHEN with -u/-n/-i, has no 9.1 equivalent",
        applies: |c| c.values("update").any(|v| v.is_some()) && translatable_update(c).is_none(),
        treatment: Treatment::Accept,
    },
    Deliberate {
        name: "keep-directory-symlink",
        why: "--keep-directory-symlink is GNU 9.5: 9.1 runs without it",
        applies: |c| c.has("keep-directory-symlink"),
        treatment: Treatment::Translate(|_, args| {
            Some(rewrite(args, "keep-directory-symlink", &[]))
        }),
    },
    Deliberate {
        name: "keep-directory-symlink-kept",
        why: "with --keep-directory-symlink a symlink to a directory in the destination is kept",
        applies: |c| {
            c.has("keep-directory-symlink")
                && c.entries.iter().any(|e| matches!(e.kind, Kind::Symlink(_)))
        },
        treatment: Treatment::Accept,
    },
    Deliberate {
        name: "own-option-abbreviation",
        why: "rcp's own options (--debug, --report, --stats...) make more abbreviations ambiguous",
        applies: |c| c.args.iter().flat_map(|a| a.words.iter()).any(|w| own_abbreviation(w)),
        treatment: Treatment::Accept,
    },
    Deliberate {
        name: "simple-backup-beside",
        why: "GNU 9.1 puts a simple backup of DIR/f in the working directory; rcp beside f (9.2)",
        applies: |c| matches!(backup_control(c).as_deref(), Some("simple" | "never")),
        treatment: Treatment::Accept,
    },
    Deliberate {
        name: "incomplete-named",
        why: "README: rcp names an existing file a failed copy left truncated ('f' is incomplete)",
        applies: |_| true,
        treatment: Treatment::Normalise(|_, rcp| {
            let lines = rcp.stderr.split_inclusive('\n');
            let kept =
                lines.filter(|l| !(l.starts_with("PROG: '") && l.ends_with("' is incomplete\n")));
            rcp.stderr = kept.collect();
        }),
    },
    Deliberate {
        name: "failed-clone-removed",
        why: "a failed --reflink=always leaves no empty file (GNU 9.2+); 9.1 leaves one",
        applies: |c| c.values("reflink").last().is_some_and(|v| v.is_none_or(|v| v == "always")),
        treatment: Treatment::Normalise(|gnu, rcp| {
            gnu.tree.retain(|k, v| rcp.tree.contains_key(k) || !is_new_empty_file(v));
        }),
    },
];

/// A real difference the fuzzer found and that is not fixed yet.
pub struct Known {
    pub name: &'static str,
    pub what: &'static str,
    /// Whether a difference between GNU's run and rcp's in this case is this one.
    pub matches: fn(&Case, &Run, &Run) -> bool,
}

pub const KNOWN: &[Known] = &[
    // fuzz case 2796, minimised:
    //   mkdir -p dst/b; chown -R nobody:nogroup .; chown 1234:5678 dst/b; chmod 1777 dst/b
    //   setpriv --reuid=nobody --regid=nogroup --clear-groups cp -a dst new
    //   GNU: new/b is 1777   rcp: new/b is 777
    Known {
        name: "sticky-dropped-without-owner",
        what: "as nobody, a directory whose owner cannot be kept loses its sticky bit in rcp",
        matches: |c, gnu, rcp| c.nobody && only_modes_differ(gnu, rcp, |g, r| g == r | 0o1000),
    },
    // fuzz cases 1227, 2153, 2741, 2833, 1562, minimised:
    //   mkdir a dst; chmod 2755 a; cp -a dst a        GNU: a/dst is 2755  rcp: 755
    //   mkdir a dst; chmod 1777 a; cp -R --preserve=all -T dst a   GNU: a is 1755  rcp: 755
    //   GNU sets a directory's permissions through its access ACL, which leaves the set-gid
    //   bit it inherited and the sticky bit an existing one had; rcp's chmod clears them.
    Known {
        name: "dir-special-bits-kept",
        what: "preserving a directory's mode, GNU keeps setgid/sticky bits the copy already has",
        matches: |_, gnu, rcp| only_modes_differ(gnu, rcp, |g, r| g != r && g == r | (g & 0o7000)),
    },
    // fuzz case 1894, minimised:
    //   mkdir b s; setfacl -m d:u:1234:rw b; cp -r --no-preserve=mode s b
    //   GNU: b/s has b's default ACL only   rcp: also the access ACL it inherited
    //   (a file too: cp --no-preserve=mode f b keeps user:1234 in rcp)
    Known {
        name: "no-preserve-mode-keeps-inherited-acl",
        what: "explicit --no-preserve=mode resets the inherited access ACL in GNU, not in rcp",
        matches: |c, gnu, rcp| {
            c.values("no-preserve").flatten().any(|v| v.contains("mode") || v.contains("all"))
                && only_xattrs_differ(gnu, rcp)
        },
    },
    // fuzz cases 1209, 2945, 3247, 50203, 50547, minimised:
    //   mkdir d out; cp -p --parents "$PWD"/d/nosuch out
    //   GNU: also "'tmp/.../d': No such file or directory"; out/tmp is 1700, the others 700
    //   rcp: out/tmp is 1777, the others 755
    //   (mkdir b; echo x > b/sub; cp --preserve=mode --parents "$PWD"/b/sub b
    //    GNU: the same message, exit 1; rcp: exit 0)
    //   GNU 9.1's bug: it fixes up the parents by a path without the leading '/'.
    Known {
        name: "parents-absolute-source",
        what: "--parents with an absolute source: GNU 9.1 fails to fix the parents (its bug)",
        matches: |c, _, _| c.has("parents") && words(c).any(|w| w.starts_with(ROOT)),
    },
    // fuzz case 51072, minimised:
    //   mkdir 'back\slash' dst; echo x > "dst/q'uote"; echo y > "back\slash/q'uote"
    //   cp -r 'back\slash' "dst/q'uote" 'back\slash/.'
    //   GNU: cannot copy a directory ... into itself ..., then overwrite '...q'uote'?
    //   rcp: the prompt first, then the error
    Known {
        name: "prompt-before-earlier-error",
        what: "rcp writes a prompt before the error of an earlier operand",
        matches: |_, gnu, rcp| {
            let sorted = |s: &str| {
                let mut c: Vec<char> = s.chars().collect();
                c.sort_unstable();
                c
            };
            gnu.code == rcp.code
                && gnu.tree == rcp.tree
                && gnu.stderr.contains("? ")
                && sorted(&gnu.stderr) == sorted(&rcp.stderr)
        },
    },
    // fuzz case 51928, minimised:
    //   echo x > c; setfattr -n user.k -v v c; cp --preserve=all -s c dst
    //   GNU: setting attribute 'user.k' for 'user.k': Operation not permitted
    //   rcp: setting attribute 'user.k' for 'dst': Operation not permitted
    //   GNU 9.1 names the attribute twice (its bug); rcp names the file.
    Known {
        name: "xattr-error-names-file",
        what: "a failed xattr on a symlink: GNU 9.1's message names the attribute as the file",
        matches: |_, gnu, rcp| {
            gnu.code == rcp.code
                && gnu.tree == rcp.tree
                && gnu.stderr.contains("setting attribute")
                && rcp.stderr.contains("setting attribute")
        },
    },
    // fuzz case 50156 (a symlink to the mount's root: the copy met a tree GNU had just made
    // thousands of levels deep), minimised by hand:
    //   python3 -c "import os; os.makedirs('src/' + '/'.join(['x'] * 1200))"  (fd by fd)
    //   cp -r src dst   GNU: cannot ... File name too long (exit 1)
    //                   rcp (debug build): thread 'main' has overflowed its stack (SIGABRT)
    Known {
        name: "deep-tree-stack-overflow",
        what: "rcp's recursion overflows its stack on trees 1,000+ levels deep (debug build)",
        matches: |_, _, rcp| rcp.stderr.contains("overflowed its stack"),
    },
    // fuzz cases 1755, 91681, minimised:
    //   ln -s . c; echo x > f; cp -r c/ dst
    //   GNU: will not create hard link 'dst/dst' to directory 'dst'
    //   rcp: cannot copy a directory, 'c/', into itself, 'dst'
    //   ln -s . c; cp -rL c dst
    //   GNU: copies c/dst/dst/... until File name too long   rcp: into itself, at once
    Known {
        name: "into-itself-through-symlink",
        what: "a directory reached through a symlink copied into itself: another message",
        matches: |_, gnu, rcp| {
            !gnu.stderr.contains("into itself") && rcp.stderr.contains("into itself")
        },
    },
];

/// The deliberate differences that apply to a case.
pub fn deliberate(case: &Case) -> impl Iterator<Item = &'static Deliberate> + '_ {
    DELIBERATE.iter().filter(|d| (d.applies)(case))
}

/// The command line GNU 9.1 runs for the case.
pub fn gnu_args(case: &Case) -> Vec<Arg> {
    let mut args = case.args.clone();
    for d in deliberate(case) {
        if let Treatment::Translate(f) = d.treatment
            && let Some(translated) = f(case, &args)
        {
            args = translated;
        }
    }
    args
}

/// Every argv word of the case.
fn words(case: &Case) -> impl Iterator<Item = &Vec<u8>> {
    case.args.iter().flat_map(|a| a.words.iter())
}

/// The snapshot lines (GNU's, rcp's) that differ.
fn tree_differences<'a>(
    gnu: &'a Run,
    rcp: &'a Run,
) -> impl Iterator<Item = (Option<&'a String>, Option<&'a String>)> + 'a {
    let keys: std::collections::BTreeSet<&String> =
        gnu.tree.keys().chain(rcp.tree.keys()).collect();
    keys.into_iter().map(|k| (gnu.tree.get(k), rcp.tree.get(k))).filter(|(g, r)| g != r)
}

/// Whether the runs differ, and only in modes of entries both have, each pair of modes
/// (GNU's, rcp's) accepted by `ok`.
fn only_modes_differ(gnu: &Run, rcp: &Run, ok: fn(u32, u32) -> bool) -> bool {
    let mode = |line: &str| {
        let mut parts = line.splitn(3, ' ');
        let kind = parts.next().unwrap_or_default().to_string();
        let mode = u32::from_str_radix(parts.next().unwrap_or_default(), 8).ok();
        (kind, mode, parts.next().unwrap_or_default().to_string())
    };
    gnu.code == rcp.code
        && gnu.stdout == rcp.stdout
        && gnu.stderr == rcp.stderr
        && tree_differences(gnu, rcp).count() > 0
        && tree_differences(gnu, rcp).all(|(g, r)| match (g, r) {
            (Some(g), Some(r)) => {
                let ((gk, gm, grest), (rk, rm, rrest)) = (mode(g), mode(r));
                gk == rk && grest == rrest && gm.zip(rm).is_some_and(|(g, r)| ok(g, r))
            }
            _ => false,
        })
}

/// Whether the runs differ, and only in the xattrs (ACLs) of entries both have.
fn only_xattrs_differ(gnu: &Run, rcp: &Run) -> bool {
    let bare = |line: &str| line.split(" xattrs [").next().unwrap_or_default().to_string();
    gnu.code == rcp.code
        && gnu.stdout == rcp.stdout
        && gnu.stderr == rcp.stderr
        && tree_differences(gnu, rcp)
            .all(|(g, r)| g.zip(r).is_some_and(|(g, r)| bare(g) == bare(r)))
}

/// The WHEN of a lone `--update=WHEN` that 9.1 can say (all, none, older).
fn translatable_update(case: &Case) -> Option<&str> {
    let given: Vec<Option<&str>> = case.values("update").collect();
    let alone = !case.has("no-clobber") && !case.has("interactive");
    match given.as_slice() {
        [Some(when @ ("all" | "none" | "older"))] if alone => Some(when),
        _ => None,
    }
}

/// `args` with the option `name`'s words replaced by `word`.
fn rewrite(args: &[Arg], name: &str, word: &[&[u8]]) -> Vec<Arg> {
    args.iter()
        .map(|a| {
            if a.opts.iter().any(|(n, _)| *n == name) {
                Arg { words: word.iter().map(|w| w.to_vec()).collect(), ..a.clone() }
            } else {
                a.clone()
            }
        })
        .collect()
}

/// rcp's long options that GNU cp 9.1 does not have.
pub const RCP_ONLY: &[&str] = &[
    "atomic",
    "debug",
    "dry-run",
    "exclude",
    "exclude-from",
    "fsync",
    "generate",
    "jobs",
    "keep-directory-symlink",
    "no-progress",
    "progress",
    "report",
    "report-file",
    "resume",
    "stats",
    "verify",
];

/// `--X` or `--X=V` where X is an abbreviation that also abbreviates one of rcp's own.
fn own_abbreviation(word: &[u8]) -> bool {
    let Some(rest) = word.strip_prefix(b"--") else { return false };
    let name = rest.split(|&b| b == b'=').next().unwrap_or_default();
    let name = String::from_utf8_lossy(name);
    !name.is_empty()
        && !GNU_LONG.contains(&name.as_ref())
        && RCP_ONLY.iter().any(|o| o.starts_with(name.as_ref()))
}

/// The version control a backup would use: the last `--backup=CONTROL`, else
/// `$VERSION_CONTROL`, else `existing`; `None` without `-b`/`--backup`/`-S`.
fn backup_control(case: &Case) -> Option<String> {
    if !case.has("backup") && !case.has("suffix") {
        return None;
    }
    let given = case.values("backup").flatten().last().or(case.env("VERSION_CONTROL"));
    Some(given.unwrap_or("existing").to_string())
}

/// A snapshot line of an empty regular file made by the run.
fn is_new_empty_file(line: &str) -> bool {
    line.starts_with("file ") && line.contains(" \"\" ") && line.contains("mtime new")
}
