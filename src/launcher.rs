//! Whether this process was started as one of several ranks by an MPI launcher (`mpirun`,
//! `mpiexec`, `srun`), read from the environment each launcher gives its ranks. A build
//! without MPI refuses to run there: N ranks, each copying the whole tree into the same
//! destination, race each other.
//!
//! The variables: Open MPI's `OMPI_COMM_WORLD_SIZE`/`_RANK`; PMI's `PMI_SIZE`/`PMI_RANK`
//! (MPICH's hydra, Slurm's pmi2); PMIx's `PMIX_RANK` (no size: a rank above 0 says there
//! are several); Slurm's `SLURM_STEP_NUM_TASKS` with `SLURM_PROCID`, which `srun` gives the
//! tasks of a step. Not `SLURM_NTASKS` alone: a batch script of a job with `--ntasks=4`
//! has it too, and runs rcp once.

/// How this process was launched as one rank of several: its rank, the number of ranks
/// when known, and the variable that says so.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Ranks {
    pub(crate) rank: u64,
    pub(crate) size: Option<u64>,
    pub(crate) by: &'static str,
}

/// The ranks `env` (a variable's value by name) describes, if more than one.
pub(crate) fn ranks(env: impl Fn(&str) -> Option<String>) -> Option<Ranks> {
    let number = |name: &str| env(name).and_then(|v| v.trim().parse::<u64>().ok());
    let sized = [
        ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
        ("PMI_SIZE", "PMI_RANK"),
        ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),
    ];
    for (size_var, rank_var) in sized {
        if let Some(size) = number(size_var).filter(|&n| n > 1) {
            let rank = number(rank_var).or_else(|| number("PMIX_RANK")).unwrap_or(0);
            return Some(Ranks { rank, size: Some(size), by: size_var });
        }
    }
    let rank_only = ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"];
    rank_only.into_iter().find_map(|var| {
        let rank = number(var).filter(|&r| r > 0)?;
        Some(Ranks { rank, size: None, by: var })
    })
}

/// The refusal, in cp's words (without the program name).
#[cfg(not(feature = "mpi"))]
pub(crate) fn refusal(ranks: &Ranks) -> String {
    let of = ranks.size.map(|n| format!(" of {n}")).unwrap_or_default();
    format!(
        "started as rank {}{of} by a parallel launcher ({}), but this rcp has no MPI \
         support: every rank would copy the whole tree; run it once",
        ranks.rank, ranks.by
    )
}

/// Why the copy `opts` asks for cannot be spread over ranks, in cp's words (without the
/// program name): `-i` asks questions, which one process must ask. (`--atomic` can: a
/// temporary's name says which host, boot, PID namespace and process made it, and a rank
/// removes only those of its own place whose process is over.)
#[cfg(feature = "mpi")]
pub(crate) fn refusal_of(opts: &cptree::options::Options) -> Option<String> {
    use cptree::options::Interactive;
    if opts.interactive == Interactive::Ask {
        let text = "--interactive (-i) cannot be used across the ranks of a parallel launcher";
        return Some(format!("{text}; run it once"));
    }
    // Not spread yet: the earlier copies are looked up on the rank that walks the plan.
    let basis = opts.basis.as_ref()?;
    let option = basis.how.option();
    Some(format!(
        "{option} cannot be used across the ranks of a parallel launcher yet; run it once"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Option<Ranks> {
        ranks(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn each_launchers_ranks_are_seen_and_a_single_process_is_not() {
        let open_mpi =
            [("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "2"), ("PMIX_RANK", "2")];
        assert_eq!(
            from(&open_mpi),
            Some(Ranks { rank: 2, size: Some(4), by: "OMPI_COMM_WORLD_SIZE" })
        );
        let hydra = [("PMI_SIZE", "2"), ("PMI_RANK", "0")];
        assert_eq!(from(&hydra), Some(Ranks { rank: 0, size: Some(2), by: "PMI_SIZE" }));
        let srun = [("SLURM_STEP_NUM_TASKS", "8"), ("SLURM_PROCID", "5"), ("SLURM_NTASKS", "8")];
        assert_eq!(from(&srun), Some(Ranks { rank: 5, size: Some(8), by: "SLURM_STEP_NUM_TASKS" }));
        assert_eq!(
            from(&[("PMIX_RANK", "3")]),
            Some(Ranks { rank: 3, size: None, by: "PMIX_RANK" })
        );
        // One process: no launcher, `mpirun -n 1`, a batch script of a 4-task job, PMIx's
        // rank 0 with no size to say there are others.
        assert_eq!(from(&[]), None);
        assert_eq!(from(&[("OMPI_COMM_WORLD_SIZE", "1"), ("OMPI_COMM_WORLD_RANK", "0")]), None);
        assert_eq!(from(&[("SLURM_NTASKS", "4"), ("SLURM_PROCID", "0")]), None);
        assert_eq!(from(&[("PMIX_RANK", "0")]), None);
        assert_eq!(from(&[("PMI_SIZE", "x")]), None);
    }
}
