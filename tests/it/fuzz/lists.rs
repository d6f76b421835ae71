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
    // GNU 9.1's bug (fuzz cases 1209, 2945, 3247, 50203, 50547): with an absolute source
    // it fixes up the --parents directories by a path without the leading '/', fails, and
    // leaves them 700 (`cp -p --parents "$PWD"/d/nosuch out`); rcp gives them their modes.
    Deliberate {
        name: "parents-absolute-source",
        why: "--parents with an absolute source: GNU 9.1 fails to fix up the parents (its bug)",
        applies: |c| c.has("parents") && words(c).any(|w| w.starts_with(ROOT)),
        treatment: Treatment::Accept,
    },
    // GNU 9.1's bug (fuzz cases 51928): `cp --preserve=all -s c dst` with a user xattr on c
    // says "setting attribute 'user.k' for 'user.k'"; rcp names the file.
    Deliberate {
        name: "xattr-error-names-file",
        why: "a failed xattr on a symlink: GNU 9.1 names the attribute where the file belongs",
        applies: |c| c.has("symbolic-link"),
        treatment: Treatment::Normalise(|gnu, rcp| {
            let named = |run: &mut Run| {
                let lines: Vec<String> = run
                    .stderr
                    .split_inclusive('\n')
                    .map(|l| match l.split_once("' for '") {
                        Some((head, _)) if l.contains("setting attribute '") => {
                            format!("{head}'\n")
                        }
                        _ => l.to_string(),
                    })
                    .collect();
                run.stderr = lines.concat();
            };
            named(gnu);
            named(rcp);
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
    // fuzz cases 1755, 91681, minimised:
    //   ln -s . c; echo x > f; cp -r c/ dst
    //   GNU: will not create hard link 'dst/dst' to directory 'dst'
    //   rcp: cannot copy a directory, 'c/', into itself, 'dst'
    //   ln -s . c; cp -rL c dst
    //   GNU: copies c/dst/dst/... until File name too long   rcp: into itself, at once
    // fuzz case 1796579120216560615 (random run), in short:
    //   mkdir x; ln -s x x/a; cp -R --link x ./x      (-R --link follows symlinks, as -L)
    //   GNU: x/a/a/... down to PATH_MAX, File name too long, then into itself
    //   rcp: into itself, at once (it used to go on until killed: deep.rs)
    Known {
        name: "into-itself-through-symlink",
        what: "a directory reached through a symlink copied into itself: another message",
        matches: |_, gnu, rcp| {
            rcp.stderr.contains("into itself")
                && (!gnu.stderr.contains("into itself")
                    || gnu.stderr.contains("File name too long"))
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
    "chunk-size",
    "compare-dest",
    "copy-dest",
    "link-dest",
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
        && !GNU_LONG.iter().any(|g| g.starts_with(name.as_ref()))
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
