//! The fuzzer's randomness: a splitmix64 generator, and from one seed a whole case — a tree
//! (names that need quoting, every kind of entry, modes, owners, xattrs, ACLs, directories
//! whose names collide with the sources') and a GNU cp 9.1 command line over it.

use super::case::{Arg, Case, Entry, Kind, NOBODY, ROOT, Target};
use crate::common::Fs;

/// splitmix64: tiny, fast, and the same sequence everywhere for a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index into `weights`, each as likely as its weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut at = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if at < w {
                return i;
            }
            at -= w;
        }
        unreachable!("the weights sum to {total}")
    }
}

/// Names entries are given: a few plain ones, so that names in different directories
/// collide (a destination that exists), and some that need quoting or are long.
const PLAIN: &[&[u8]] = &[b"a", b"b", b"c", b"d", b"sub", b"x"];
const ODD: &[&[u8]] = &[
    b"sp ace",
    b"nl\nx",
    b"q'uote",
    b"-dash",
    b"caf\xff",
    b"dq\"x",
    b"back\\slash",
    b"*",
    b"tab\tx",
    b"--",
    b".hidden",
];

fn name(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        0..=15 => rng.pick(PLAIN).to_vec(),
        16..=18 => rng.pick(ODD).to_vec(),
        // 255 bytes: the longest name, with no room for a backup suffix.
        _ => [&b"L"[..]; 255].concat(),
    }
}

const FILE_MODES: &[u32] =
    &[0o644, 0o644, 0o644, 0o600, 0o755, 0o444, 0o000, 0o4755, 0o2755, 0o666];
const DIR_MODES: &[u32] =
    &[0o755, 0o755, 0o755, 0o700, 0o555, 0o000, 0o1777, 0o2755, 0o777, 0o500, 0o311];
const FILE_ACLS: &[&str] = &["u:1234:rw", "u:nobody:r", "g:5678:rwx,m::r"];
const DIR_ACLS: &[&str] = &["u:1234:rwx", "d:u:1234:rw", "d:u:nobody:rwx,d:g::r"];

/// Generates one tree, depth first, at most `MAX_ENTRIES` entries.
struct Tree<'r> {
    rng: &'r mut Rng,
    entries: Vec<Entry>,
    fifos: bool,
    fifo_count: usize,
}

const MAX_ENTRIES: usize = 36;

impl Tree<'_> {
    fn dir(&mut self, dir: &[u8], depth: usize, children: usize) {
        for _ in 0..children {
            if self.entries.len() >= MAX_ENTRIES {
                return;
            }
            let files = self.entries.iter().filter(|e| matches!(e.kind, Kind::File { .. })).count();
            let weights = [
                40,
                if depth < 3 { 22 } else { 0 },
                18,
                if files > 0 { 8 } else { 0 },
                if self.fifos { 3 } else { 0 },
            ];
            let which = self.rng.weighted(&weights);
            // Fifos have names of their own: nothing is ever copied onto one (GNU would open
            // it and wait for a reader) and no symlink points at one.
            let leaf = if which == 4 {
                self.fifo_count += 1;
                format!("fifo{}", self.fifo_count).into_bytes()
            } else {
                name(self.rng)
            };
            let path = join(dir, &leaf);
            if self.entries.iter().any(|e| e.path == path) {
                continue;
            }
            let kind = match which {
                0 => self.file(),
                1 => Kind::Dir,
                2 => Kind::Symlink(self.target(dir, &leaf)),
                3 => {
                    let files: Vec<&Entry> = self
                        .entries
                        .iter()
                        .filter(|e| matches!(e.kind, Kind::File { .. }))
                        .collect();
                    Kind::HardLink(self.rng.pick(&files).path.clone())
                }
                _ => Kind::Fifo,
            };
            let entry = self.attributes(path.clone(), kind);
            let is_dir = matches!(entry.kind, Kind::Dir);
            self.entries.push(entry);
            if is_dir {
                let n = self.rng.below(5);
                self.dir(&path, depth + 1, n);
            }
        }
    }

    fn file(&mut self) -> Kind {
        let rng = &mut *self.rng;
        match rng.below(10) {
            0..=1 => Kind::File { len: 0, writes: Vec::new() },
            2..=7 => {
                let text = words(rng);
                Kind::File { len: text.len() as u64, writes: vec![(0, text)] }
            }
            _ => {
                // Holes: a size set first, then text at a few offsets (maybe past the end).
                let len = 4096 * (1 + rng.below(24)) as u64;
                let writes = (0..rng.below(3))
                    .map(|_| (4096 * rng.below(32) as u64 + rng.below(100) as u64, words(rng)))
                    .collect();
                Kind::File { len, writes }
            }
        }
    }

    /// Where a new symlink in `dir` points.
    fn target(&mut self, dir: &[u8], own: &[u8]) -> Target {
        let candidates: Vec<Vec<u8>> = self
            .entries
            .iter()
            .filter(|e| !matches!(e.kind, Kind::Fifo))
            .map(|e| e.path.clone())
            .collect();
        let rng = &mut *self.rng;
        match rng.below(20) {
            0..=8 if !candidates.is_empty() => {
                Target::Rel(relative(dir, &rng.pick(&candidates)[..]))
            }
            9..=11 if !candidates.is_empty() => Target::Abs(rng.pick(&candidates[..]).clone()),
            12..=13 => Target::Rel(rng.pick(&[&b"nowhere"[..], b"../gone", b"sub/none"]).to_vec()),
            14 => Target::Rel(own.to_vec()),
            // An ancestor (a loop under -L), never above the tree.
            15 => {
                let depth =
                    dir.iter().filter(|&&b| b == b'/').count() + usize::from(!dir.is_empty());
                let ups = rng.below(depth + 1);
                Target::Rel(if ups == 0 {
                    b".".to_vec()
                } else {
                    b"../".repeat(ups)[..3 * ups - 1].to_vec()
                })
            }
            _ => Target::Rel(rng.pick(PLAIN).to_vec()),
        }
    }

    fn attributes(&mut self, path: Vec<u8>, kind: Kind) -> Entry {
        let rng = &mut *self.rng;
        let (mode, attrs) = match kind {
            Kind::File { .. } => (*rng.pick(FILE_MODES), true),
            Kind::Dir => (*rng.pick(DIR_MODES), true),
            Kind::Fifo => (*rng.pick(&[0o644, 0o600, 0o666]), false),
            _ => (0o777, false),
        };
        let owner = match (rng.below(10), matches!(kind, Kind::HardLink(_))) {
            (_, true) | (0..=6, _) => None,
            (7, _) => Some(NOBODY),
            (8, _) => Some((1234, 5678)),
            _ => Some((0, 0)),
        };
        let xattr = (attrs && rng.chance(15)).then(|| {
            let key = rng.pick(&["user.k", "user.color", "user.x.y"]).to_string();
            (key, words(rng))
        });
        let acls = if matches!(kind, Kind::Dir) { DIR_ACLS } else { FILE_ACLS };
        let acl = (attrs && rng.chance(10)).then(|| *rng.pick(acls));
        let age = *rng.pick(&[0, 0, 0, 0, 0, 0, -100, 100]);
        Entry { path, kind, mode, owner, xattr, acl, age }
    }

    /// A directory `dst` (or one more level down) whose entries have the names of a source
    /// directory's, each of a random kind: what a copy into it meets.
    fn overlap(&mut self) {
        let dirs: Vec<Vec<u8>> = std::iter::once(Vec::new())
            .chain(
                self.entries.iter().filter(|e| matches!(e.kind, Kind::Dir)).map(|e| e.path.clone()),
            )
            .collect();
        let source = self.rng.pick(&dirs).clone();
        let names: Vec<Vec<u8>> = self
            .entries
            .iter()
            .filter(|e| parent(&e.path) == source.as_slice() && !matches!(e.kind, Kind::Fifo))
            .map(|e| e.path[e.path.len() - leaf(&e.path).len()..].to_vec())
            .collect();
        let dst = if self.rng.chance(70) || source.is_empty() {
            b"dst".to_vec()
        } else {
            join(b"dst", leaf(&source))
        };
        if self.entries.iter().any(|e| e.path == dst || e.path == b"dst") {
            return;
        }
        if dst != b"dst" {
            let e = self.attributes(b"dst".to_vec(), Kind::Dir);
            self.entries.push(Entry { mode: 0o755, ..e });
        }
        let e = self.attributes(dst.clone(), Kind::Dir);
        self.entries.push(Entry { mode: 0o755, ..e });
        for n in names {
            if self.rng.chance(30) {
                continue;
            }
            let path = join(&dst, &n);
            let kind = match self.rng.below(4) {
                0 | 1 => self.file(),
                2 => Kind::Dir,
                _ => Kind::Symlink(self.target(&dst, &n)),
            };
            let entry = self.attributes(path, kind);
            self.entries.push(entry);
        }
    }
}

/// A few lowercase words and maybe a newline: file contents and xattr values.
fn words(rng: &mut Rng) -> String {
    const W: &[&str] = &["alpha", "beta", "gamma", "delta", "x", "new\n", "old"];
    (0..1 + rng.below(3)).map(|_| *rng.pick(W)).collect::<Vec<_>>().join(" ")
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() { name.to_vec() } else { [dir, b"/", name].concat() }
}

fn parent(path: &[u8]) -> &[u8] {
    path.iter().rposition(|&b| b == b'/').map_or(&[][..], |i| &path[..i])
}

fn leaf(path: &[u8]) -> &[u8] {
    path.iter().rposition(|&b| b == b'/').map_or(path, |i| &path[i + 1..])
}

/// `to` (relative to the root) as seen from directory `from`.
fn relative(from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return to.to_vec();
    }
    if super::case::is_below(to, from) {
        return to[from.len() + 1..].to_vec();
    }
    let ups = from.iter().filter(|&&b| b == b'/').count() + 1;
    [b"../".repeat(ups), to.to_vec()].concat()
}

/// How an option takes a value.
#[derive(Clone, Copy, PartialEq)]
enum Takes {
    No,
    Required,
    Optional,
}

/// One of GNU cp 9.1's options (and the two later ones rcp has): long name (empty for
/// short-only), short letter, value, value words, weight.
struct Opt {
    long: &'static str,
    short: Option<u8>,
    takes: Takes,
    values: &'static [&'static str],
    weight: u32,
}

const fn opt(long: &'static str, short: Option<u8>, takes: Takes, weight: u32) -> Opt {
    Opt { long, short, takes, values: &[], weight }
}

const CONTROLS: &[&str] = &["none", "off", "numbered", "t", "existing", "nil", "simple", "never"];
const WHEN: &[&str] = &["auto", "always", "never"];
const PRESERVE: &[&str] = &["mode", "ownership", "timestamps", "links", "xattr", "all"];
const UPDATE: &[&str] = &["all", "none", "older", "none-fail"];

const OPTS: &[Opt] = &[
    opt("archive", Some(b'a'), Takes::No, 8),
    opt("attributes-only", None, Takes::No, 2),
    Opt { values: CONTROLS, ..opt("backup", Some(b'b'), Takes::Optional, 5) },
    opt("copy-contents", None, Takes::No, 1),
    opt("d", Some(b'd'), Takes::No, 3),
    opt("dereference", Some(b'L'), Takes::No, 3),
    opt("force", Some(b'f'), Takes::No, 3),
    opt("interactive", Some(b'i'), Takes::No, 3),
    opt("H", Some(b'H'), Takes::No, 2),
    opt("link", Some(b'l'), Takes::No, 3),
    opt("no-clobber", Some(b'n'), Takes::No, 3),
    opt("no-dereference", Some(b'P'), Takes::No, 2),
    opt("p", Some(b'p'), Takes::No, 4),
    opt("parents", None, Takes::No, 3),
    Opt { values: PRESERVE, ..opt("preserve", None, Takes::Optional, 4) },
    Opt { values: PRESERVE, ..opt("no-preserve", None, Takes::Required, 2) },
    opt("recursive", Some(b'r'), Takes::No, 16),
    Opt { values: WHEN, ..opt("reflink", None, Takes::Optional, 2) },
    opt("remove-destination", None, Takes::No, 3),
    Opt { values: WHEN, ..opt("sparse", None, Takes::Required, 2) },
    opt("strip-trailing-slashes", None, Takes::No, 2),
    Opt { values: &["~", ".bak", "x", ".~1~"], ..opt("suffix", Some(b'S'), Takes::Required, 2) },
    opt("symbolic-link", Some(b's'), Takes::No, 3),
    opt("target-directory", Some(b't'), Takes::Required, 4),
    opt("no-target-directory", Some(b'T'), Takes::No, 3),
    Opt { values: UPDATE, ..opt("update", Some(b'u'), Takes::Optional, 4) },
    opt("verbose", Some(b'v'), Takes::No, 8),
    opt("one-file-system", Some(b'x'), Takes::No, 1),
    opt("keep-directory-symlink", None, Takes::No, 1),
];

/// GNU cp 9.1's long options, for abbreviations.
pub const GNU_LONG: &[&str] = &[
    "archive",
    "attributes-only",
    "backup",
    "copy-contents",
    "dereference",
    "force",
    "interactive",
    "link",
    "no-clobber",
    "no-dereference",
    "no-preserve",
    "no-target-directory",
    "one-file-system",
    "parents",
    "path",
    "preserve",
    "recursive",
    "remove-destination",
    "sparse",
    "reflink",
    "strip-trailing-slashes",
    "suffix",
    "symbolic-link",
    "target-directory",
    "update",
    "verbose",
    "context",
    "help",
    "version",
];

/// `name` or a prefix of it: usually one only it starts with among GNU's and rcp's options,
/// now and then one unique only among GNU's, or ambiguous.
fn abbreviate(rng: &mut Rng, name: &str) -> String {
    if rng.chance(70) {
        return name.to_string();
    }
    let mut both: Vec<&str> = GNU_LONG.to_vec();
    both.extend(super::lists::RCP_ONLY);
    let all = if rng.chance(85) { &both[..] } else { GNU_LONG };
    let unique = (1..=name.len())
        .find(|&n| all.iter().filter(|o| o.starts_with(&name[..n])).count() == 1)
        .unwrap_or(name.len());
    let shortest = if rng.chance(8) { 1 } else { unique };
    name[..shortest + rng.below(name.len() - shortest + 1)].to_string()
}

/// The full value an abbreviation means, if it names one value.
fn resolve(value: &str, values: &[&'static str]) -> String {
    if values.contains(&value) {
        return value.to_string();
    }
    let matches: Vec<&&str> = values.iter().filter(|v| v.starts_with(value)).collect();
    match matches.as_slice() {
        [one] => one.to_string(),
        _ => value.to_string(),
    }
}

/// Generates the whole case for `seed`.
pub fn case(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let fs = match rng.below(10) {
        0..=4 => Fs::Btrfs,
        5..=7 => Fs::Ext4,
        _ => Fs::Xfs,
    };
    let nobody = rng.chance(25);
    // The options first: --copy-contents decides whether fifos may exist.
    let opts = options(&mut rng);
    let fifos = !opts.iter().any(|(o, _)| o.long == "copy-contents");
    let mut tree = Tree { rng: &mut rng, entries: Vec::new(), fifos, fifo_count: 0 };
    let top = 2 + tree.rng.below(4);
    tree.dir(b"", 0, top);
    if tree.rng.chance(45) {
        tree.overlap();
    }
    let entries = tree.entries;
    let mut case =
        Case { seed, fs, nobody, entries, args: Vec::new(), stdin: String::new(), env: Vec::new() };
    case.args = command_line(&mut rng, &case, opts);
    if case.has("interactive") || rng.chance(10) {
        let answers = ["y\n", "n\n", "yes\n", "no\n", "Y\n", "\n"];
        case.stdin = (0..rng.below(5)).map(|_| *rng.pick(&answers)).collect();
    }
    if rng.chance(12) {
        let v = *rng.pick(&["simple", "numbered", "existing", "never", "t", "nil", "bogus"]);
        case.env.push(("VERSION_CONTROL", v.to_string()));
    }
    if rng.chance(6) {
        case.env.push(("SIMPLE_BACKUP_SUFFIX", rng.pick(&[".old", "~~", ""]).to_string()));
    }
    if rng.chance(5) {
        case.env.push(("POSIXLY_CORRECT", "1".to_string()));
    }
    case
}

/// 0 to 5 options, with a value word chosen for each that takes one (`-t` gets its later).
fn options(rng: &mut Rng) -> Vec<(&'static Opt, Option<String>)> {
    let weights: Vec<u32> = OPTS.iter().map(|o| o.weight).collect();
    let mut chosen = Vec::new();
    for _ in 0..rng.weighted(&[6, 18, 26, 24, 16, 10]) {
        let o = &OPTS[rng.weighted(&weights)];
        let value = match o.takes {
            Takes::No => None,
            _ if o.long == "target-directory" => None,
            _ if o.long.ends_with("preserve") => {
                let n = 1 + rng.below(if o.takes == Takes::Required { 2 } else { 3 });
                Some((0..n).map(|_| *rng.pick(PRESERVE)).collect::<Vec<_>>().join(","))
            }
            Takes::Optional if rng.chance(35) => None,
            // Rarely: a later GNU's --update=WHEN.
            _ if o.long == "update" && rng.chance(60) => None,
            _ => Some(rng.pick(o.values).to_string()),
        };
        chosen.push((o, value));
    }
    chosen
}

fn command_line(rng: &mut Rng, case: &Case, opts: Vec<(&'static Opt, Option<String>)>) -> Vec<Arg> {
    let paths: Vec<&Entry> =
        case.entries.iter().filter(|e| !matches!(e.kind, Kind::Fifo)).collect();
    let dirs: Vec<&Entry> = paths.iter().copied().filter(|e| matches!(e.kind, Kind::Dir)).collect();
    let mut sources = Vec::new();
    for _ in 0..rng.weighted(&[2, 60, 28, 10]) {
        let word = match rng.below(20) {
            0 => b".".to_vec(),
            1 => b"nosuch".to_vec(),
            2 if rng.chance(30) => b"..".to_vec(),
            _ if paths.is_empty() => b"a".to_vec(),
            _ => rng.pick(&paths).path.clone(),
        };
        sources.push(inside_tree(decorate(rng, word)));
    }
    let target = match rng.below(20) {
        0..=7 if !dirs.is_empty() => rng.pick(&dirs).path.clone(),
        8..=10 => rng.pick(&[&b"new"[..], b"dst/new", b"new/"]).to_vec(),
        11..=14 if !paths.is_empty() => rng.pick(&paths).path.clone(),
        // A directory inside a source: the copy would go into itself.
        15..=16 => {
            let inside: Vec<&&Entry> = dirs
                .iter()
                .filter(|d| sources.iter().any(|s| super::case::is_below(&d.path, s)))
                .collect();
            if inside.is_empty() { b".".to_vec() } else { rng.pick(&inside).path.clone() }
        }
        17 => b".".to_vec(),
        _ => b"dst".to_vec(),
    };
    let target = inside_tree(decorate(rng, target));
    let mut items: Vec<Arg> = Vec::new();
    let mut target_used = false;
    for (o, value) in opts {
        items.push(spell(rng, o, value, &target));
        target_used |= o.long == "target-directory";
    }
    // Bundle some short options: `-r -v` as `-rv`.
    let mut i = 0;
    while i + 1 < items.len() {
        let bundles =
            |a: &Arg| a.words.len() == 1 && a.words[0].len() == 2 && a.words[0][0] == b'-';
        if bundles(&items[i])
            && items[i + 1].words.len() == 1
            && items[i + 1].words[0].starts_with(b"-")
            && !items[i + 1].words[0].starts_with(b"--")
            && rng.chance(40)
        {
            let next = items.remove(i + 1);
            items[i].words[0].extend_from_slice(&next.words[0][1..]);
            items[i].opts.extend(next.opts);
        } else {
            i += 1;
        }
    }
    let mut operands: Vec<Arg> = sources.into_iter().map(Arg::operand).collect();
    if !target_used {
        operands.push(Arg::operand(target));
    }
    if rng.chance(12) {
        items.push(Arg { words: vec![b"--".to_vec()], opts: Vec::new() });
        items.extend(operands);
    } else if !items.is_empty() && rng.chance(15) {
        // An option after the operands: getopt permutes (unless POSIXLY_CORRECT).
        let moved = items.remove(rng.below(items.len()));
        items.extend(operands);
        items.push(moved);
    } else {
        items.extend(operands);
    }
    items
}

/// How an option is written: short or long (maybe abbreviated), the value attached or not.
fn spell(rng: &mut Rng, o: &'static Opt, value: Option<String>, target: &[u8]) -> Arg {
    let value = if o.long == "target-directory" {
        Some(target.to_vec())
    } else {
        value.map(String::into_bytes)
    };
    // Short forms: -b and -u take no value; -S and -t do.
    let short_ok = o.short.is_some() && (o.takes != Takes::Optional || value.is_none());
    let long_ok = o.long.len() > 1;
    if short_ok && (!long_ok || rng.chance(55)) {
        let opts = vec![(o.long, value.as_deref().map(|v| meaning(o, v)))];
        let letter = match o.short {
            Some(b'r') if rng.chance(40) => b'R',
            Some(c) => c,
            None => unreachable!("short_ok"),
        };
        let flag = vec![b'-', letter];
        let words = match value {
            None => vec![flag],
            Some(v) if rng.chance(50) => vec![[flag, v].concat()],
            Some(v) => vec![flag, v],
        };
        return Arg { words, opts };
    }
    let name = abbreviate(rng, o.long);
    let flag = format!("--{name}").into_bytes();
    let Some(mut v) = value else {
        return Arg { words: vec![flag], opts: vec![(o.long, None)] };
    };
    if o.values.len() > 1 && !o.long.ends_with("preserve") && rng.chance(25) {
        // An abbreviated value (argmatch accepts unique prefixes).
        v.truncate(1 + rng.below(v.len()));
    }
    let opts = vec![(o.long, Some(meaning(o, &v)))];
    let words = if o.takes == Takes::Required && rng.chance(40) {
        vec![flag, v]
    } else {
        vec![[flag, b"=".to_vec(), v].concat()]
    };
    Arg { words, opts }
}

/// What a value word means for option `o`: the value it abbreviates, if just one.
fn meaning(o: &Opt, value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value).into_owned();
    if o.long.ends_with("preserve") {
        text.split(',').map(|p| resolve(p, PRESERVE)).collect::<Vec<_>>().join(",")
    } else if o.values.is_empty() {
        text
    } else {
        resolve(&text, o.values)
    }
}

/// An operand as a user might write it: trailing slashes, `./`, `/.`, `//`, `/..`, or the
/// absolute path.
/// `word`, or `.` where it would lead above the tree (`..`, `./..`): the twins are built
/// one after the other at one path, so what GNU's run left above the tree would still be
/// there for rcp's.
fn inside_tree(word: Vec<u8>) -> Vec<u8> {
    let rest = word.strip_prefix(ROOT).unwrap_or(&word);
    let mut depth = 0i32;
    for part in rest.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return b".".to_vec();
        }
    }
    word
}

fn decorate(rng: &mut Rng, path: Vec<u8>) -> Vec<u8> {
    match rng.below(40) {
        0..=3 => [path, b"/".to_vec()].concat(),
        4 => [path, b"//".to_vec()].concat(),
        5 | 6 => [b"./".to_vec(), path].concat(),
        7 => [path, b"/.".to_vec()].concat(),
        8 => [path, b"/..".to_vec()].concat(),
        9 | 10 => [ROOT, b"/", &path].concat(),
        11 if path.contains(&b'/') => {
            let at = path.iter().position(|&b| b == b'/').unwrap_or(0);
            [&path[..at], b"/", &path[at..]].concat()
        }
        _ => path,
    }
}
