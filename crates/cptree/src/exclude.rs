//! `--exclude=PATTERN` and `--exclude-from=FILE`: gitignore's rules (ripgrep's `ignore`
//! crate), matched against each entry's path relative to its source operand. A pattern
//! without `/` matches a name at any depth, a trailing `/` matches directories only, a
//! leading `/` anchors at the operand; `*`, `?`, `[...]`, `**`, and `!` to take a name back.
//! Later patterns win, in command-line order (a file's lines where the file is named).

use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::{UsageError, strerror};
use crate::quote::quote;

/// Where one exclude pattern, or a file of them, was given.
#[derive(Debug, Clone)]
pub enum Given {
    /// `--exclude=PATTERN`.
    Pattern(String),
    /// `--exclude-from=FILE`: a pattern per line.
    File(PathBuf),
}

/// The compiled patterns.
#[derive(Debug, Clone)]
pub struct Exclude {
    rules: Gitignore,
}

/// Patterns being gathered in command-line order, each checked as it is given.
pub struct Patterns {
    builder: GitignoreBuilder,
    any: bool,
}

impl Default for Patterns {
    fn default() -> Patterns {
        Patterns { builder: GitignoreBuilder::new(""), any: false }
    }
}

impl Patterns {
    /// None yet.
    pub fn new() -> Patterns {
        Patterns::default()
    }

    /// Adds one `--exclude` pattern, or the lines of one `--exclude-from` file.
    pub fn add(&mut self, item: &Given) -> Result<(), UsageError> {
        self.any = true;
        match item {
            Given::Pattern(pattern) => add(&mut self.builder, None, pattern),
            Given::File(path) => {
                let text = read_patterns(path)?;
                text.lines().try_for_each(|line| add(&mut self.builder, Some(path), line))
            }
        }
    }

    /// The compiled patterns; `None` when there is nothing to exclude.
    pub fn build(self) -> Result<Option<Exclude>, UsageError> {
        if !self.any {
            return Ok(None);
        }
        let rules = self.builder.build().map_err(|e| UsageError::bare(e.to_string()))?;
        Ok(Some(Exclude { rules }))
    }
}

impl Exclude {
    /// Compiles `given` in order; `None` when there is nothing to exclude.
    #[cfg(test)]
    pub(crate) fn new(given: &[Given]) -> Result<Option<Exclude>, UsageError> {
        let mut patterns = Patterns::new();
        given.iter().try_for_each(|item| patterns.add(item))?;
        patterns.build()
    }

    /// Whether the entry at `relative` (to its operand) is excluded.
    pub fn excludes(&self, relative: &Path, is_dir: bool) -> bool {
        matches!(self.rules.matched(relative, is_dir), Match::Ignore(_))
    }
}

/// Adds one pattern; gitignore's own rules drop blank lines and `#` comments.
fn add(builder: &mut GitignoreBuilder, from: Option<&Path>, line: &str) -> Result<(), UsageError> {
    builder.add_line(from.map(Path::to_path_buf), line).map(|_| ()).map_err(|e| {
        let glob = match &e {
            ignore::Error::Glob { glob: Some(glob), err } => {
                format!("{}: {err}", quote(Path::new(glob)))
            }
            _ => e.to_string(),
        };
        UsageError::bare(format!("invalid exclude pattern {glob}"))
    })
}

/// The most an `--exclude-from` file may hold: a list, not `/dev/zero`.
const MAX_PATTERNS: u64 = 16 << 20;

/// The text of an `--exclude-from` file, in GNU's words when it cannot be read; one that
/// never ends (`/dev/zero`, a pipe that keeps writing) is refused once it passes
/// `MAX_PATTERNS`, before it can take the memory.
fn read_patterns(path: &Path) -> Result<String, UsageError> {
    use std::io::Read;
    let failed = |e: std::io::Error| {
        let errno = rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO);
        UsageError::bare(format!("cannot open {} for reading: {}", quote(path), strerror(errno)))
    };
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(failed)?;
    file.take(MAX_PATTERNS + 1).read_to_end(&mut bytes).map_err(failed)?;
    if bytes.len() as u64 > MAX_PATTERNS {
        let text = format!("exclude list {} is larger than 16 MiB", quote(path));
        return Err(UsageError::bare(text));
    }
    String::from_utf8(bytes)
        .map_err(|_| UsageError::bare(format!("{}: exclude patterns must be UTF-8", quote(path))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(patterns: &[&str]) -> Exclude {
        let given: Vec<Given> = patterns.iter().map(|p| Given::Pattern(p.to_string())).collect();
        Exclude::new(&given).unwrap().unwrap()
    }

    /// gitignore's rules, as the issue lists them: (patterns, path, is_dir, excluded).
    #[test]
    fn gitignore_rules() {
        let table: &[(&[&str], &str, bool, bool)] = &[
            (&["*.o"], "a.o", false, true),
            (&["*.o"], "sub/deep/a.o", false, true),
            (&["*.o"], "a.c", false, false),
            (&["build/"], "build", true, true),
            (&["build/"], "build", false, false),
            (&["build/"], "src/build", true, true),
            (&["/build"], "build", true, true),
            (&["/build"], "src/build", true, false),
            (&["doc/*.txt"], "doc/a.txt", false, true),
            (&["doc/*.txt"], "x/doc/a.txt", false, false),
            (&["**/cache"], "a/b/cache", true, true),
            (&["a/**/z"], "a/b/c/z", false, true),
            (&["a/**/z"], "a/z", false, true),
            (&["f?.log"], "f1.log", false, true),
            (&["f?.log"], "f10.log", false, false),
            (&["[ab].txt"], "b.txt", false, true),
            (&["[ab].txt"], "c.txt", false, false),
            (&["*.log", "!keep.log"], "keep.log", false, false),
            (&["*.log", "!keep.log"], "drop.log", false, true),
        ];
        for &(patterns, path, is_dir, want) in table {
            let got = rules(patterns).excludes(Path::new(path), is_dir);
            assert_eq!(got, want, "{patterns:?} on {path} (dir: {is_dir})");
        }
    }

    #[test]
    fn bad_patterns_and_files_are_usage_errors() {
        let bad = Exclude::new(&[Given::Pattern("[z-a]".into())]).unwrap_err();
        assert_eq!(bad.message, "invalid exclude pattern '[z-a]': invalid range; 'z' > 'a'");
        let missing = Exclude::new(&[Given::File("/nonexistent/x".into())]).unwrap_err();
        assert_eq!(
            missing.message,
            "cannot open '/nonexistent/x' for reading: No such file or directory"
        );
    }
}
