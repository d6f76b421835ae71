//! The differential fuzzer: from a seed, a random tree and a random GNU cp command line
//! (`generate.rs`); the tree is built twice in one place on an ext4, btrfs or xfs loop mount, once
//! for `/usr/bin/cp` and once for rcp, as root or as `nobody`, and the two runs are compared
//! as the scenario suite compares them (exit status, stdout, stderr, the whole tree). A
//! difference is minimised (options, operands, entries and attributes dropped while it
//! persists) and reported as a shell reproducer, unless `lists.rs` names it: deliberate, or
//! known and not fixed yet.
//!
//! A fixed set of seeds always runs; `RCP_FUZZ_SECONDS` (default 30 when `CI` is set, else 0)
//! adds a time-boxed run from a random seed, or from `RCP_FUZZ_SEED` to replay one.

mod case;
mod generate;
mod lists;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{Fs, dir_on, have, skip};
use crate::gnu::{Invocation, Run, differences, exec};
use case::{Arg, Case};

/// Cases the fixed run covers: seeds `FIXED_BASE..FIXED_BASE + FIXED`.
const FIXED: u64 = 600;
const FIXED_BASE: u64 = 1;
/// A program that runs longer than this is killed (timeout's status 124).
const TIME_LIMIT: u32 = 20;
/// At most this many differences are minimised per run (each takes a few hundred runs),
/// unless `RCP_FUZZ_MINIMISE` says otherwise.
const MINIMISE: usize = 3;
/// Longer lines of a difference are cut to this many characters.
const LINE_MAX: usize = 600;

/// What comparing one case came to.
enum Verdict {
    Same,
    Deliberate(&'static str),
    Known(&'static str),
    /// The twins' directories list their entries in different inode orders however often
    /// they are rebuilt, so GNU and rcp would not walk the same order: not compared.
    Unordered,
    Differs(String),
}

/// The most directories whose order `walk_order` keeps (a run that makes more is told by
/// its snapshot, which stops there too).
const ORDERED_DIRS: usize = 10_000;

/// A directory's entry names in inode order (the order cp and rcp both walk), for each
/// directory under `root` (up to `ORDERED_DIRS`).
fn walk_order(root: &Path) -> BTreeMap<PathBuf, Vec<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if out.len() >= ORDERED_DIRS {
            break;
        }
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let mut names = Vec::new();
        for entry in entries.flatten() {
            let Ok(meta) = fs::symlink_metadata(entry.path()) else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            }
            names.push((meta.ino(), entry.file_name().into_encoded_bytes()));
        }
        names.sort();
        out.insert(dir, names.into_iter().map(|(_, n)| n).collect());
    }
    out
}

/// Each directory's entry names in walk order.
type Order = BTreeMap<PathBuf, Vec<Vec<u8>>>;

/// What one program did to one twin: the walk order before and after, and the run.
struct Twin {
    before: Order,
    after: Order,
    run: Run,
}

/// Builds the case in `dir/t`, runs `program` with `args` there, and removes it again.
fn twin(case: &Case, program: &Path, args: &[Arg], dir: &Path) -> Twin {
    let root = dir.join("t");
    if root.exists() {
        remove_tree(&root);
    }
    fs::create_dir(&root).unwrap_or_else(|e| panic!("mkdir {root:?}: {e}"));
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod the twin root");
    case.build(&root);
    let before = walk_order(&root);
    let argv = case.argv(args, &root);
    let env: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let how = Invocation {
        args: &argv,
        stdin: case.stdin.as_bytes(),
        env: &env,
        nobody: case.nobody,
        timeout: Some(TIME_LIMIT),
    };
    let run = exec(program, &root, &how);
    let after = walk_order(&root);
    remove_tree(&root);
    Twin { before, after, run }
}

/// Removes a twin however deep a run made it: GNU's copy into itself through a symlink
/// goes down until PATH_MAX (2,000 levels), a bug could go further, and std's
/// `remove_dir_all` recurses once a level (16,000 levels overflow a test's stack, which
/// aborts the whole run without naming the case). GNU rm walks any depth.
fn remove_tree(root: &Path) {
    let status = std::process::Command::new("rm").arg("-rf").arg("--").arg(root).status();
    let status = status.unwrap_or_else(|e| panic!("rm -rf {root:?}: {e}"));
    assert!(status.success() && !root.exists(), "rm -rf {root:?}: {status}");
}

/// A run with its output lines sorted.
fn sorted_lines(run: Run) -> Run {
    let sorted = |text: &str| {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort();
        lines.join("\n")
    };
    Run { stdout: sorted(&run.stdout), stderr: sorted(&run.stderr), ..run }
}

/// Whether both programs met the same walk order: the same before the run, and in every
/// directory that existed before, the names both runs left there in the same order (entries
/// a run made in a directory it then reads, as in a copy into itself, get inode numbers
/// from the filesystem's allocator, which on XFS need not follow creation order).
fn same_walk(gnu: &Twin, rcp: &Twin) -> bool {
    if gnu.before != rcp.before {
        return false;
    }
    gnu.before.keys().all(|dir| {
        let (Some(g), Some(r)) = (gnu.after.get(dir), rcp.after.get(dir)) else { return true };
        let g: Vec<&Vec<u8>> = g.iter().filter(|n| r.contains(n)).collect();
        let r: Vec<&Vec<u8>> = r.iter().filter(|n| g.contains(n)).collect();
        g == r
    })
}

struct Programs {
    gnu: PathBuf,
    rcp: PathBuf,
}

impl Programs {
    /// Runs both programs on the case; `None` (after `skip`) when no loop mount is possible.
    fn check(&self, case: &Case) -> Option<Verdict> {
        let dir = dir_on(case.fs, "fuzz")?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .expect("chmod the case directory");
        let mut pair = None;
        let mut last = None;
        for _ in 0..4 {
            let gnu = twin(case, &self.gnu, &lists::gnu_args(case), dir.path());
            let rcp = twin(case, &self.rcp, &case.args, dir.path());
            if same_walk(&gnu, &rcp) {
                pair = Some((gnu.run, rcp.run));
                break;
            }
            last = Some((gnu.run, rcp.run));
        }
        // XFS hands a rebuilt twin other inode numbers (new directories go round the
        // allocation groups), so its twins rarely walk alike: there, where the walk order
        // cannot change the result, the output lines are compared sorted.
        let order_free = |(gnu, rcp): (Run, Run)| {
            let changes = |r: &Run| r.stderr.contains("into itself");
            let free =
                case.fs == Fs::Xfs && !case.has("interactive") && !changes(&gnu) && !changes(&rcp);
            free.then(|| (sorted_lines(gnu), sorted_lines(rcp)))
        };
        let Some((mut gnu, mut rcp)) = pair.or_else(|| last.and_then(order_free)) else {
            return Some(Verdict::Unordered);
        };
        for d in lists::deliberate(case) {
            if let lists::Treatment::Normalise(f) = d.treatment {
                f(&mut gnu, &mut rcp);
            }
        }
        if gnu == rcp {
            return Some(Verdict::Same);
        }
        if let Some(d) =
            lists::deliberate(case).find(|d| matches!(d.treatment, lists::Treatment::Accept))
        {
            return Some(Verdict::Deliberate(d.name));
        }
        if let Some(k) = lists::KNOWN.iter().find(|k| (k.matches)(case, &gnu, &rcp)) {
            return Some(Verdict::Known(k.name));
        }
        Some(Verdict::Differs(differences(&gnu, &rcp)))
    }

    fn differs(&self, case: &Case) -> bool {
        matches!(self.check(case), Some(Verdict::Differs(_)))
    }

    /// The smallest case found, by dropping one thing at a time, that still differs.
    fn minimise(&self, mut best: Case) -> Case {
        loop {
            let mut progress = false;
            let mut attempt = |best: &mut Case, candidate: Case| {
                if self.differs(&candidate) {
                    *best = candidate;
                    progress = true;
                }
            };
            for i in (0..best.args.len()).rev() {
                if i < best.args.len() {
                    let mut c = best.clone();
                    c.args.remove(i);
                    attempt(&mut best, c);
                }
            }
            for i in (0..best.entries.len()).rev() {
                if i < best.entries.len() {
                    let c = best.without_entry(i);
                    attempt(&mut best, c);
                }
            }
            for i in 0..best.entries.len() {
                for simpler in simplifications(&best, i) {
                    attempt(&mut best, simpler);
                }
            }
            for i in (0..best.env.len()).rev() {
                let mut c = best.clone();
                c.env.remove(i);
                attempt(&mut best, c);
            }
            if !best.stdin.is_empty() {
                let mut c = best.clone();
                c.stdin.clear();
                attempt(&mut best, c);
            }
            if best.nobody {
                let c = Case { nobody: false, ..best.clone() };
                attempt(&mut best, c);
            }
            if !progress {
                return best;
            }
        }
    }
}

/// The case with entry `i` plainer in one way: no owner, xattr, ACL or age, a plain mode,
/// no holes.
fn simplifications(case: &Case, i: usize) -> Vec<Case> {
    let e = &case.entries[i];
    let mut out = Vec::new();
    let mut with = |f: &dyn Fn(&mut case::Entry)| {
        let mut c = case.clone();
        f(&mut c.entries[i]);
        out.push(c);
    };
    if e.owner.is_some() {
        with(&|e| e.owner = None);
    }
    if e.xattr.is_some() {
        with(&|e| e.xattr = None);
    }
    if e.acl.is_some() {
        with(&|e| e.acl = None);
    }
    if e.age != 0 {
        with(&|e| e.age = 0);
    }
    let plain = if matches!(e.kind, case::Kind::Dir) { 0o755 } else { 0o644 };
    if e.mode != plain && !matches!(e.kind, case::Kind::Symlink(_) | case::Kind::HardLink(_)) {
        with(&|e| e.mode = if matches!(e.kind, case::Kind::Dir) { 0o755 } else { 0o644 });
    }
    if let case::Kind::File { len, writes } = &e.kind
        && (writes.len() != 1 || *len != writes[0].1.len() as u64 || writes[0].0 != 0)
    {
        with(&|e| e.kind = case::Kind::File { len: 2, writes: vec![(0, "x\n".into())] });
    }
    out
}

/// Tallies verdicts and keeps the differing cases.
#[derive(Default)]
struct Tally {
    same: usize,
    unordered: usize,
    deliberate: BTreeMap<&'static str, usize>,
    known: BTreeMap<&'static str, usize>,
    differ: Vec<(Case, String)>,
}

impl Tally {
    fn line(&self, what: &str) -> String {
        let total = self.same
            + self.unordered
            + self.deliberate.values().sum::<usize>()
            + self.known.values().sum::<usize>()
            + self.differ.len();
        format!(
            "fuzz: {what}: {total} cases, {} same, {} differ, deliberate {:?}, known {:?}, \
             not comparable (walk order) {}",
            self.same,
            self.differ.len(),
            self.deliberate,
            self.known,
            self.unordered
        )
    }
}

/// GNU cp and the tools the trees need, or `None` after `skip`.
fn programs(test: &str) -> Option<Programs> {
    let gnu = PathBuf::from("/usr/bin/cp");
    if !gnu.exists() {
        skip(test, "GNU cp is not at /usr/bin/cp");
        return None;
    }
    for tool in ["setfacl", "setpriv", "timeout"] {
        if !have(tool) {
            skip(test, &format!("{tool} is not installed"));
            return None;
        }
    }
    Some(Programs { gnu, rcp: PathBuf::from(env!("CARGO_BIN_EXE_rcp")) })
}

/// Runs the cases `seeds` yields until it ends or `deadline` passes; fails with each
/// unexplained difference, minimised, as a reproducer.
fn run(test: &str, seeds: impl Iterator<Item = u64>, deadline: Option<Instant>) {
    let Some(programs) = programs(test) else { return };
    let mut tally = Tally::default();
    for (n, seed) in seeds.enumerate() {
        if n > 0 && deadline.is_some_and(|d| Instant::now() > d) {
            break;
        }
        let case = generate::case(seed);
        if std::env::var_os("RCP_FUZZ_DEBUG").is_some() {
            // Names the case a crash of this harness happened in.
            eprintln!("fuzz: case seed {seed}");
        }
        let started = Instant::now();
        let Some(verdict) = programs.check(&case) else { return };
        if started.elapsed() > Duration::from_secs(3) {
            eprintln!("fuzz: case seed {seed} took {:.1} s", started.elapsed().as_secs_f64());
        }
        match verdict {
            Verdict::Same => tally.same += 1,
            Verdict::Unordered => {
                tally.unordered += 1;
                if std::env::var_os("RCP_FUZZ_DEBUG").is_some() {
                    eprintln!("unordered: {seed} {:?}\n{}", case.fs, case.script(&case.args));
                }
            }
            Verdict::Deliberate(name) => *tally.deliberate.entry(name).or_default() += 1,
            Verdict::Known(name) => *tally.known.entry(name).or_default() += 1,
            Verdict::Differs(text) => tally.differ.push((case, text)),
        }
    }
    eprintln!("{}", tally.line(test));
    if tally.differ.is_empty() {
        return;
    }
    let minimise = std::env::var("RCP_FUZZ_MINIMISE").ok().and_then(|v| v.parse().ok());
    let mut report = String::new();
    for (n, (case, text)) in tally.differ.iter().enumerate() {
        report += &format!(
            "\n=== case seed {} (replay: RCP_FUZZ_SEED={} RCP_FUZZ_SECONDS=0 cargo test --test it fuzz_random)\n",
            case.seed, case.seed
        );
        if n >= minimise.unwrap_or(MINIMISE) {
            report += &cut(text);
            continue;
        }
        let small = programs.minimise(case.clone());
        let detail = match programs.check(&small) {
            Some(Verdict::Differs(t)) => cut(&t),
            _ => cut(text),
        };
        report +=
            &format!("minimised:\n{detail}reproducer:\n{}", small.script(&lists::gnu_args(&small)));
    }
    let crashed = tally.differ.iter().any(|(_, text)| {
        ["panicked", "overflowed its stack", "memory allocation of", "(os error"]
            .iter()
            .any(|sign| text.contains(sign))
    });
    // A time-boxed random run in CI reports what it finds (each with its replay command)
    // without failing an unrelated landing, unless rcp crashed or RCP_FUZZ_STRICT=1.
    let lenient = deadline.is_some()
        && std::env::var_os("CI").is_some()
        && std::env::var_os("RCP_FUZZ_STRICT").is_none();
    if lenient && !crashed {
        eprintln!("fuzz: NEW DIFFERENCES (reported, not failing CI):{report}");
        return;
    }
    panic!("{} of the cases differ from GNU cp:{report}", tally.differ.len());
}

/// `text` with each line cut to `LINE_MAX` characters, and at most `LINES` lines.
fn cut(text: &str) -> String {
    const LINES: usize = 60;
    let mut out = String::new();
    let total = text.lines().count();
    if total > LINES {
        out += &format!("  ({total} lines, the first {LINES}:)\n");
    }
    for line in text.lines().take(LINES) {
        match line.char_indices().nth(LINE_MAX) {
            Some((at, _)) => out += &format!("{}... ({} bytes)\n", &line[..at], line.len()),
            None => out += &format!("{line}\n"),
        }
    }
    out
}

#[test]
fn fuzz_fixed_seeds_match_gnu_cp() {
    run("fuzz_fixed_seeds_match_gnu_cp", FIXED_BASE..FIXED_BASE + FIXED, None);
}

/// `RCP_FUZZ_SECONDS` of cases from `RCP_FUZZ_SEED` or a seed from the clock (printed); with
/// a seed given and no time, that one case.
#[test]
fn fuzz_random_seeds_match_gnu_cp() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let seed = var("RCP_FUZZ_SEED").map(|s| {
        s.parse::<u64>().unwrap_or_else(|e| panic!("RCP_FUZZ_SEED={s:?} is not a number: {e}"))
    });
    let default = if std::env::var_os("CI").is_some() { 30 } else { 0 };
    let secs = var("RCP_FUZZ_SECONDS").map_or(default, |s| {
        s.parse::<u64>().unwrap_or_else(|e| panic!("RCP_FUZZ_SECONDS={s:?} is not a number: {e}"))
    });
    if secs == 0 && seed.is_none() {
        eprintln!("fuzz: no random run (set RCP_FUZZ_SECONDS=N to fuzz for N seconds)");
        return;
    }
    let seed = seed.unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64) ^ u64::from(std::process::id())
    });
    eprintln!("fuzz: random run for {secs} s from seed {seed} (replay: RCP_FUZZ_SEED={seed})");
    let deadline = Instant::now() + Duration::from_secs(secs);
    run("fuzz_random_seeds_match_gnu_cp", (0..).map(|k| seed.wrapping_add(k)), Some(deadline));
}

/// Every deliberate and known difference has a unique name and says why.
#[test]
fn fuzz_lists_are_named() {
    let mut names = std::collections::HashSet::new();
    for (name, why) in lists::DELIBERATE
        .iter()
        .map(|d| (d.name, d.why))
        .chain(lists::KNOWN.iter().map(|k| (k.name, k.what)))
    {
        assert!(names.insert(name), "{name} is listed twice");
        assert!(!why.is_empty(), "{name} says nothing");
    }
}
