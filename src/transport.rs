//! MPI under a spread copy (the `mpi` cargo feature): initialises MPI, runs the copy on a
//! thread of its own with a `cptree::spread::Ranks` for its ends, and moves the messages
//! between that thread and the other ranks on the main thread (MPI_THREAD_FUNNELED: only
//! the thread that initialised MPI calls it). Sends are non-blocking and the loop keeps
//! receiving while they complete, so two ranks sending each other large messages at once
//! cannot deadlock; when idle it sleeps between probes (at most `IDLE`), so ranks
//! oversubscribing the CPUs do not spin.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::time::Duration;

use cptree::spread::Ranks;
use mpi::Threading;
use mpi::traits::*;

/// The longest wait between looks for incoming messages when nothing happens.
const IDLE: Duration = Duration::from_millis(1);

/// Runs `copy` as one rank of the launcher's job, returning its exit status; `None` if MPI
/// could not be initialised.
pub(crate) fn run<F>(copy: F) -> Option<i32>
where
    F: FnOnce(Ranks) -> i32 + Send,
{
    // SIGINT/SIGTERM/SIGHUP go to the walking thread, where the blocking calls are: not to
    // this one, nor to the threads MPI starts (which inherit this mask).
    cptree::signals::leave_to_the_walk();
    let (universe, _) = mpi::initialize_with_threading(Threading::Funneled)?;
    let world = universe.world();
    let (send, outgoing) = channel();
    let (incoming, received) = channel();
    let ranks = Ranks {
        rank: u32::try_from(world.rank()).unwrap_or(0),
        size: u32::try_from(world.size()).unwrap_or(1),
        send,
        received,
    };
    let status = std::thread::scope(|scope| {
        let copying = scope.spawn(move || {
            cptree::signals::walk_here();
            copy(ranks)
        });
        pump(&world, &outgoing, &incoming);
        copying.join()
    });
    // `universe` is dropped here: MPI_Finalize, once every rank is done.
    Some(status.unwrap_or(1))
}

/// Moves messages until the copy drops its sender: outgoing ones to their ranks (to this
/// rank itself straight back), incoming ones to the copy.
fn pump(
    world: &impl Communicator,
    outgoing: &Receiver<(u32, Vec<u8>)>,
    incoming: &Sender<(u32, Vec<u8>)>,
) {
    let me = u32::try_from(world.rank()).unwrap_or(0);
    let mut wait = Duration::from_micros(50);
    let mut launcher = Launcher::watch();
    loop {
        launcher.check();
        let mut batch = Vec::new();
        let mut closed = false;
        loop {
            match outgoing.try_recv() {
                Ok((to, bytes)) if to == me => {
                    let _ = incoming.send((to, bytes));
                }
                Ok(message) => batch.push(message),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        let sent = !batch.is_empty();
        if sent {
            send_all(world, &batch, incoming);
        }
        let got = receive_waiting(world, incoming);
        if closed {
            return;
        }
        if sent || got {
            wait = Duration::from_micros(50);
            continue;
        }
        // Nothing moved: wait for the copy to send something, or a while before looking
        // for incoming messages again.
        match outgoing.recv_timeout(wait) {
            Ok((to, bytes)) if to == me => {
                let _ = incoming.send((to, bytes));
            }
            Ok(message) => send_all(world, &[message], incoming),
            Err(RecvTimeoutError::Timeout) => wait = (wait * 2).min(IDLE),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Sends every message of `batch`, receiving what comes in meanwhile.
fn send_all(
    world: &impl Communicator,
    batch: &[(u32, Vec<u8>)],
    incoming: &Sender<(u32, Vec<u8>)>,
) {
    mpi::request::scope(|scope| {
        let mut pending: Vec<_> = batch
            .iter()
            .map(|(to, bytes)| {
                let to = i32::try_from(*to).unwrap_or(0);
                world.process_at_rank(to).immediate_send(scope, &bytes[..])
            })
            .collect();
        while !pending.is_empty() {
            pending = pending.into_iter().filter_map(|request| request.test().err()).collect();
            if !receive_waiting(world, incoming) && !pending.is_empty() {
                std::thread::yield_now();
            }
        }
    });
}

/// Receives every message that has arrived; returns whether there was one.
fn receive_waiting(world: &impl Communicator, incoming: &Sender<(u32, Vec<u8>)>) -> bool {
    let mut any = false;
    while let Some(probed) = world.any_process().immediate_matched_probe() {
        let (bytes, status) = probed.matched_receive_vec::<u8>();
        let from = u32::try_from(status.source_rank()).unwrap_or(0);
        let _ = incoming.send((from, bytes));
        any = true;
    }
    any
}

/// The process that started this rank (mpirun, or its daemon on this node). If it goes
/// away — killed, or gone after passing on a signal the ranks never got — this rank stops
/// as if it had been sent SIGTERM (the walking thread gets it, and stops as on a real one),
/// rather than copy on with nobody to report to.
struct Launcher {
    parent: rustix::process::Pid,
    last_look: std::time::Instant,
    gone: bool,
}

impl Launcher {
    fn watch() -> Launcher {
        let parent = rustix::process::getppid().unwrap_or(rustix::process::Pid::INIT);
        Launcher { parent, last_look: std::time::Instant::now(), gone: false }
    }

    /// Looks (at most every 50 ms) whether the parent is still there.
    fn check(&mut self) {
        if self.gone || self.last_look.elapsed() < Duration::from_millis(50) {
            return;
        }
        self.last_look = std::time::Instant::now();
        if rustix::process::getppid() != Some(self.parent) {
            self.gone = true;
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::TERM,
            );
        }
    }
}
