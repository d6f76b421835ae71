//! The rcp binary: run, and exit with its status.

fn main() {
    std::process::exit(rcp::run(std::env::args_os().collect()));
}
