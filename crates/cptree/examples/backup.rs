//! Copies a tree with cptree, the library behind rcp, and prints, for every entry, how it was copied.
//!
//! ```sh
//! cargo run -p cptree --example backup -- SOURCE DESTINATION
//! ```
//!
//! Each line is `STRATEGY SOURCE -> DESTINATION` for a regular file (`clone`,
//! `copy_file_range`, `splice` or `read_write`), the kind for anything else, or `failed`
//! with cp's message; then a summary line. Exits 1 if anything failed, as rcp would.

use cptree::{Copier, Outcome, Preserve, Record, Reflink};

fn line(record: &Record) -> String {
    let names = format!("{} -> {}", record.source.display(), record.destination.display());
    match (&record.outcome, &record.copied) {
        (Outcome::Failed(error), _) => format!("failed {names}: {error}"),
        (Outcome::Skipped(reason), _) => format!("skipped {names} ({})", reason.name()),
        (_, Some(copied)) => format!("{} {names}", copied.strategy.name()),
        (_, None) => format!("{} {names}", record.kind.map_or("entry", |k| k.name())),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, destination] = args.as_slice() else {
        eprintln!("usage: backup SOURCE DESTINATION");
        std::process::exit(2);
    };
    let copy = Copier::new([source], destination)
        .recursive(true)
        .reflink(Reflink::Auto)
        .preserve(Preserve::ALL);
    let mut entries = 0;
    let result = copy.run_with(|record| {
        entries += 1;
        println!("{}", line(&record));
    });
    match result {
        Ok(summary) => {
            for message in &summary.messages {
                eprintln!("backup: {message}");
            }
            println!(
                "{entries} entries, {}",
                if summary.failed { "some failed" } else { "all copied" }
            );
            std::process::exit(i32::from(summary.failed));
        }
        Err(error) => {
            eprintln!("backup: {error}");
            std::process::exit(1);
        }
    }
}
