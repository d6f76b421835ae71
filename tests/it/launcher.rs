//! rcp without MPI started as one of several ranks (`mpirun -n 4 rcp ...`, `srun -n 4 rcp
//! ...`): each rank would copy the whole tree into the same destination, racing the others.
//! It refuses before touching anything, in cp's words, exit 1 — read from the environment
//! each launcher gives its ranks; a single process (no launcher, `mpirun -n 1`, a batch
//! script of a multi-task Slurm job) copies as ever.

use std::fs;
use std::process::Command;

use crate::common::{have, rcp, skip};

#[test]
fn a_rank_of_several_refuses_and_a_single_process_copies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), "f").unwrap();
    let refused: [&[(&str, &str)]; 5] = [
        &[("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "0"), ("PMIX_RANK", "0")],
        &[("PMI_SIZE", "2"), ("PMI_RANK", "1")],
        &[("SLURM_STEP_NUM_TASKS", "3"), ("SLURM_PROCID", "2"), ("SLURM_NTASKS", "3")],
        &[("PMIX_RANK", "1")],
        &[("PMI_SIZE", "2")],
    ];
    for (n, vars) in refused.iter().enumerate() {
        let dst = d.join(format!("refused{n}"));
        let out = rcp().arg("-r").arg(d.join("f")).arg(&dst).envs(vars.iter().copied()).output();
        let out = out.expect("run rcp");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{vars:?}: {err}");
        assert!(err.contains(": started as rank ") && err.contains("has no MPI"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!dst.exists(), "{vars:?}: it copied");
    }
    let copied: [&[(&str, &str)]; 3] = [
        &[("OMPI_COMM_WORLD_SIZE", "1"), ("OMPI_COMM_WORLD_RANK", "0")],
        &[("SLURM_NTASKS", "4"), ("SLURM_PROCID", "0"), ("SLURM_JOB_ID", "7")],
        &[("PMIX_RANK", "0")],
    ];
    for (n, vars) in copied.iter().enumerate() {
        let dst = d.join(format!("copied{n}"));
        let out = rcp().arg(d.join("f")).arg(&dst).envs(vars.iter().copied()).output();
        let out = out.expect("run rcp");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{vars:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(fs::read(&dst).unwrap(), b"f");
    }
}

/// The real launcher: Open MPI's `mpirun` with two ranks.
#[test]
fn under_mpirun_every_rank_refuses() {
    let test = "launcher mpirun";
    if !have("mpirun") {
        return skip(test, "mpirun is not installed (Debian: openmpi-bin)");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), "f").unwrap();
    let out = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", "2"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .arg(d.join("f"))
        .arg(d.join("g"))
        .output()
        .expect("run mpirun");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("started as rank ") && err.contains("of 2 by a parallel launcher"),
        "{err}"
    );
    assert!(!d.join("g").exists(), "a rank copied: {err}");
}
