//! `--help`, `--version`, the man page and the shell completions: all generated from the one
//! clap definition, and checked here against GNU cp's own option list; the built-in report
//! schema; and the README's install and `--generate` commands, run where it says.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{have, rcp, skip};

fn stdout_of(args: &[&str]) -> String {
    let out = rcp().args(args).output().expect("run rcp");
    assert!(out.status.success(), "rcp {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Every `--long` option named in a help text.
fn long_options(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '=')
        .filter(|w| {
            w.starts_with("--")
                && w.len() > 2
                && w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .map(String::from)
        .collect()
}

#[test]
fn help_lists_every_gnu_option_in_gnus_layout() {
    let help = stdout_of(&["--help"]);
    let ours = long_options(&help);
    let Ok(gnu) = Command::new("/usr/bin/cp").arg("--help").env("LC_ALL", "C").output() else {
        skip("help_lists_every_gnu_option", "GNU cp is not at /usr/bin/cp");
        return;
    };
    let gnu_help = String::from_utf8_lossy(&gnu.stdout);
    let missing: Vec<_> = long_options(&gnu_help).difference(&ours).cloned().collect();
    assert!(missing.is_empty(), "rcp --help lacks {missing:?}");
    // GNU's layout: the same line for options both describe identically.
    for line in [
        "  -a, --archive                same as -dR --preserve=all",
        "  -R, -r, --recursive          copy directories recursively",
        "  -t, --target-directory=DIRECTORY  copy all SOURCE arguments into DIRECTORY",
        "      --backup[=CONTROL]       make a backup of each existing destination file",
    ] {
        assert!(gnu_help.contains(line), "GNU help changed: {line}");
        assert!(help.contains(line), "rcp --help lacks GNU's line {line:?}");
    }
    for own in ["--report[=FORMAT]", "--report-file=PATH", "--stats", "--generate=WHAT", "--debug"]
    {
        assert!(help.contains(own), "rcp --help lacks its own {own}");
    }
    assert!(help.starts_with("Usage: "), "{help}");
}

#[test]
fn version_names_rcp() {
    assert!(stdout_of(&["--version"]).starts_with(&format!("rcp {}", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn man_page_documents_every_option() {
    let page = stdout_of(&["--generate", "man"]);
    assert!(page.contains(".TH RCP 1"), "no title header");
    assert!(page.contains("rcp \\- copy files by the cheapest kernel path"), "NAME line");
    for section in [
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "\"EXIT STATUS\"",
        "ENVIRONMENT",
        "REPORT",
        "\"DIFFERENCES FROM GNU CP\"",
        "EXAMPLES",
        "\"SEE ALSO\"",
    ] {
        assert!(page.contains(&format!(".SH {section}\n")), "no {section} section");
    }
    for variable in ["VERSION_CONTROL", "SIMPLE_BACKUP_SUFFIX", "POSIXLY_CORRECT"] {
        assert!(page.contains(variable), "ENVIRONMENT lacks {variable}");
    }
    assert!(page.contains("report.schema.json"), "the report section names the schema");
    assert!(!page.contains("[SOURCE]") && !page.contains("EXTRA"), "clap_mangen leftovers");
    assert!(!page.contains("See below"), "the man page has no 'below' for --help's notes");
    let help = stdout_of(&["--help"]);
    // The lines after `.TP` in OPTIONS: one per option.
    let options =
        &page[page.find(".SH OPTIONS").unwrap()..page.find(".SH \"EXIT STATUS\"").unwrap()];
    let specs: Vec<&str> =
        options.split(".TP\n").skip(1).filter_map(|e| e.lines().next()).collect();
    for long in long_options(&help) {
        let escaped = format!("\\fB{}\\fR", long.replace('-', "\\-"));
        let entries = specs
            .iter()
            .filter(|spec| spec.split(", ").any(|name| name.starts_with(&escaped)))
            .count();
        assert_eq!(entries, 1, "{long} should have exactly one option entry");
    }
    for values in ["auto, always, never", "text, json", "mode, timestamps, ownership"] {
        assert!(page.contains(values), "option values missing: {values}");
    }
    if !have("groff") {
        skip("man page lint", "groff is not installed");
        return;
    }
    // groff's own lint: every warning on (-ww), no output (-z); it must say nothing.
    let lint = groff(&page, &["-man", "-ww", "-z"]);
    assert!(
        lint.status.success() && lint.stderr.is_empty(),
        "groff -man -ww -z: {}",
        String::from_utf8_lossy(&lint.stderr)
    );
    let out = groff(&page, &["-man", "-Tutf8", "-P-cbou", "-ww"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rcp - copy files by the cheapest kernel path"), "{text}");
    assert!(text.contains("EXIT STATUS") && text.contains("kill -USR1"), "{text}");
}

fn groff(page: &str, args: &[&str]) -> std::process::Output {
    let mut groff = Command::new("groff")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff");
    groff.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
    groff.wait_with_output().unwrap()
}

#[test]
fn completions_are_valid_scripts_naming_every_option() {
    let help = stdout_of(&["--help"]);
    let bash = stdout_of(&["--generate", "complete-bash"]);
    let ok = Command::new("bash").arg("-n").arg("-c").arg(&bash).status().unwrap();
    assert!(ok.success(), "bash completion does not parse");
    let zsh = stdout_of(&["--generate", "complete-zsh"]);
    assert!(zsh.starts_with("#compdef rcp"));
    let fish = stdout_of(&["--generate", "complete-fish"]);
    for long in long_options(&help) {
        assert!(bash.contains(&long), "bash completion lacks {long}");
        assert!(zsh.contains(&long), "zsh completion lacks {long}");
        assert!(fish.contains(&format!("-l {}", &long[2..])), "fish completion lacks {long}");
    }
    let bad = rcp().args(["--generate", "nope"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
}

/// A directory to complete in, and the completion script for `shell` written into it.
fn completion_dir(shell: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("alpha.txt"), "a").unwrap();
    std::fs::write(d.join("beta.txt"), "b").unwrap();
    std::fs::create_dir(d.join("gamma")).unwrap();
    let script = stdout_of(&["--generate", &format!("complete-{shell}")]);
    std::fs::write(d.join(format!("rcp.{shell}")), script).unwrap();
    dir
}

/// Types `line` and `tabs` Tab presses into `t`, checks the screen shows every word of
/// `expect`, and clears the line.
fn complete(t: &crate::common::Tmux, line: &str, tabs: usize, expect: &[&str]) {
    t.send(&["-l", line]);
    for _ in 0..tabs {
        std::thread::sleep(std::time::Duration::from_millis(150));
        t.send(&["Tab"]);
    }
    let screen = t.wait_for(10, |s| expect.iter().all(|e| s.contains(e)));
    assert!(
        expect.iter().all(|e| screen.contains(e)),
        "{line:?} + {tabs} Tab: want {expect:?}:\n{screen}"
    );
    t.send(&["C-c"]);
    t.send(&["clear", "Enter"]);
    t.wait_for(10, |s| !s.contains(line));
}

/// The shell's completion, typed with real Tab presses in tmux: files for operands,
/// directories after `-t`, every option's values, the last item of a `--preserve=` list.
fn completes_like_a_user_expects(shell: &str, start: &str) {
    let test = format!("{shell} completion");
    if !have(shell) {
        return skip(&test, &format!("{shell} is not installed"));
    }
    let dir = completion_dir(shell);
    let script = format!("cd {} && TERM=xterm LANG=C.UTF-8 exec {start}", dir.path().display());
    let Some(t) = crate::common::Tmux::start(&test, &script) else { return };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let setup = match shell {
        "bash" => "PS1='$ '; source ./rcp.bash; clear",
        "zsh" => "PS1='$ '; autoload -U compinit; compinit -u; source ./rcp.zsh; clear",
        _ => "function fish_prompt; echo '$ '; end; source ./rcp.fish; clear",
    };
    t.send(&["-l", setup]);
    t.send(&["Enter"]);
    t.wait_for(10, |s| s.trim() == "$");
    complete(&t, "rcp ", 2, &["alpha.txt", "beta.txt", "gamma/"]);
    complete(&t, "rcp alpha.txt -t ", 1, &["-t gamma/"]);
    complete(&t, "rcp --reflink=", 2, &["always", "auto", "never"]);
    complete(&t, "rcp --sparse=al", 1, &["--sparse=always"]);
    complete(&t, "rcp --report=", 2, &["json", "text"]);
    complete(&t, "rcp --backup=nu", 1, &["--backup=numbered"]);
    complete(&t, "rcp --update=none-", 1, &["--update=none-fail"]);
    complete(&t, "rcp --generate=complete-f", 1, &["--generate=complete-fish"]);
    if shell == "bash" {
        // Only bash's script completes the items of a list.
        complete(&t, "rcp --preserve=mode,ti", 1, &["--preserve=mode,timestamps"]);
        complete(&t, "rcp --no-preserve=own", 1, &["--no-preserve=ownership"]);
    } else {
        complete(&t, "rcp --preserve=ti", 1, &["--preserve=timestamps"]);
    }
}

#[test]
fn bash_completion_in_a_real_bash() {
    completes_like_a_user_expects("bash", "bash --norc --noprofile -i");
}

#[test]
fn zsh_completion_in_a_real_zsh() {
    completes_like_a_user_expects("zsh", "zsh -f -i");
}

#[test]
fn fish_completion_in_a_real_fish() {
    completes_like_a_user_expects("fish", "fish --no-config -i");
}

/// The README's fenced block of `lang` after the heading `heading`.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find(heading).expect("README heading")..];
    let open = format!("```{lang}\n");
    let start = section.find(&open).expect("a fenced block") + open.len();
    let len = section[start..].find("```").expect("closed block");
    section[start..start + len].to_string()
}

/// A `PATH` whose `rcp` is the binary under test (not the old remote copy a system may have).
fn path_with_rcp() -> (tempfile::TempDir, std::ffi::OsString) {
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rcp"), bin.path().join("rcp")).unwrap();
    let mut path = bin.path().as_os_str().to_os_string();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    (bin, path)
}

/// "Install and run": what follows `cargo install ... &&` works where the README says to run
/// it, the repository's root; so do the `--generate` lines after it.
#[test]
fn readme_install_and_generate_commands_run_from_the_repository_root() {
    let install = readme_block("## Install and run", "sh");
    let (_, run) = install.trim().rsplit_once("&& ").expect("install && run");
    assert!(run.starts_with("rcp "), "{run}");
    let copy = std::path::Path::new("/tmp/rcp-src-copy");
    assert!(run.ends_with(&format!(" {}", copy.display())), "the test cleans {copy:?}: {run}");
    let _ = std::fs::remove_dir_all(copy);
    let (_bin, path) = path_with_rcp();
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("sh").arg("-c").arg(run).current_dir(root).env("PATH", &path).output();
    let out = out.expect("sh");
    let _ = std::fs::remove_dir_all(copy);
    assert!(out.status.success(), "{run}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{run}: {}", String::from_utf8_lossy(&out.stderr));

    let generate = readme_block("`cargo install` places", "sh");
    let mut words = Vec::new();
    for line in generate.lines() {
        let command = line.split(['|', '>']).next().unwrap_or_default().trim();
        let Some(what) = command.strip_prefix("rcp --generate ") else { continue };
        words.push(what.to_string());
        let out = Command::new("sh").arg("-c").arg(command).env("PATH", &path).output();
        let out = out.expect("sh");
        assert!(out.status.success() && !out.stdout.is_empty(), "{command}");
    }
    assert_eq!(words, ["man", "complete-bash", "complete-zsh", "complete-fish", "report-schema"]);
}

/// `--generate report-schema` prints `doc/report.schema.json` (built in, so an installed rcp
/// has it), and `--help`, the man page and every completion name it.
#[test]
fn report_schema_is_built_in_and_named_everywhere() {
    let printed = stdout_of(&["--generate", "report-schema"]);
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/report.schema.json"));
    assert_eq!(printed, file.expect("doc/report.schema.json"));
    let schema: serde_json::Value = serde_json::from_str(&printed).expect("JSON");
    assert!(schema.get("$schema").is_some(), "a JSON Schema");
    let help = stdout_of(&["--help"]).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("--generate report-schema"), "--help points to it");
    let page = stdout_of(&["--generate", "man"]);
    assert!(page.contains("rcp \\-\\-generate report\\-schema"), "the man page points to it");
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["--generate", &format!("complete-{shell}")]);
        assert!(script.contains("report-schema"), "{shell} completion lacks report-schema");
    }
}
