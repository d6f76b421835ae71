//! rcp's integration tests: the real binary on real ext4, btrfs and xfs loop mounts.
//! One test binary, so the filesystems are made and mounted once per run.

mod architecture;
mod atomic;
mod common;
mod deep;
mod docs;
mod dry_run;
mod errors;
mod exclude;
mod fallback;
mod faults;
mod fuzz;
mod gnu;
mod hostile;
mod interrupt;
#[cfg(not(feature = "mpi"))]
mod launcher;
mod library;
mod outcomes;
mod parallel;
mod paths;
mod progress;
mod property;
mod races;
mod report;
mod resume;
mod snapshot;
mod sparse;
#[cfg(feature = "mpi")]
mod spread;
mod sweep;
mod tree;
mod trust;
mod verify;
