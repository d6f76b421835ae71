//! `--help`, `--version`, the man page and the shell completions: all generated from the one
//! clap definition, and checked here against GNU cp's own option list.

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
    assert!(page.contains(".TH rcp 1"), "no title header");
    let help = stdout_of(&["--help"]);
    for long in long_options(&help) {
        let escaped = long.replace('-', "\\-");
        assert!(page.contains(&escaped), "man page lacks {long}");
    }
    if !have("groff") {
        skip("man_page_documents_every_option (groff render)", "groff is not installed");
        return;
    }
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou", "-ww"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff");
    groff.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
    let out = groff.wait_with_output().unwrap();
    assert!(out.status.success(), "groff failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("archive"), "rendered page lacks options");
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
