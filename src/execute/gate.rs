//! A release gets ready while the release before it upgrades: a cluster's staging release while
//! its support release upgrades, its prod releases while its last staging (or support) release
//! does.
//!
//! A release behind a gate takes its lease (its chart's dependency update runs first) and reads
//! its records, then waits at the gate, which opens when the release before it has passed and
//! shuts when it has not. Only then does it change anything; a shut gate sends it home, its lease
//! given back. A first install's namespace is not made before the gate opens. It gets ready only
//! once the release before it has started its `helm upgrade` and no cluster is connecting or
//! preparing a release before prod in the open (from its start to its `helm upgrade`; a release
//! that got ready early is not counted after its gate opens): the early commands do not compete
//! with those for the CPU.
//!
//! No deadlock: a release takes a slot to get ready only when the release it waits for is
//! upgrading (it holds its own slot, or waits at a gate under the same rule), so the first of
//! every such chain is running and needs only helm permits, which no waiting release holds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::outcome::{Cause, Failure, Status};

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Whether the release it waits for has started its upgrade.
    Pending {
        upgrading: bool,
    },
    Open,
    /// Why the releases behind it do not run: the status and message a release not started for
    /// this reason has.
    Shut(Status, String),
}

#[derive(Default)]
struct Inner {
    /// Clusters preparing a release before prod in the open (or still connecting).
    preparing: usize,
    gates: Vec<State>,
}

/// The gates of a run, and how many clusters are preparing a release before prod.
#[derive(Default)]
pub struct Board {
    inner: Mutex<Inner>,
    cv: Condvar,
}

/// The step a release waiting at a gate reports when the gate shuts.
pub const STEP: &str = "waiting for the releases before prod";

impl Board {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn change(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.lock());
        self.cv.notify_all();
    }

    /// `clusters` connecting, each with a [`Turn`] counted.
    pub fn expect(&self, clusters: usize) {
        self.change(|i| i.preparing = clusters);
    }

    /// A new gate, pending.
    pub fn gate(&self) -> Gate<'_> {
        let mut i = self.lock();
        i.gates.push(State::Pending { upgrading: false });
        Gate {
            board: self,
            id: i.gates.len() - 1,
        }
    }
}

/// Whether a cluster counts among those preparing a release before prod (see [`Board`]): it
/// does from the start (connecting) and while such a release prepares in the open, until that
/// release starts its upgrade; not once it is done with them.
pub struct Turn<'b> {
    board: &'b Board,
    counted: AtomicBool,
}

impl<'b> Turn<'b> {
    /// A cluster counted from the start (one of [`Board::expect`]'s) or not.
    pub fn new(board: &'b Board, counted: bool) -> Self {
        Turn {
            board,
            counted: AtomicBool::new(counted),
        }
    }

    fn count(&self, on: bool) {
        if self.counted.swap(on, Ordering::SeqCst) != on {
            self.board.change(|i| {
                i.preparing = if on {
                    i.preparing + 1
                } else {
                    i.preparing.saturating_sub(1)
                }
            });
        }
    }

    /// A release before prod prepares in the open.
    pub fn preparing(&self) {
        self.count(true);
    }

    /// It has started its upgrade, or ended (or the cluster is done with its releases before
    /// prod).
    pub fn settled(&self) {
        self.count(false);
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.settled();
    }
}

/// Opened or shut once, by the release it waits for; waited on by any number of releases.
pub struct Gate<'b> {
    board: &'b Board,
    id: usize,
}

impl Gate<'_> {
    fn set(&self, to: State) {
        self.board.change(|i| {
            if let Some(s) = i
                .gates
                .get_mut(self.id)
                .filter(|s| matches!(s, State::Pending { .. }))
            {
                *s = to;
            }
        });
    }

    /// The release it waits for has started its upgrade.
    pub fn upgrading(&self) {
        self.set(State::Pending { upgrading: true });
    }

    /// The releases behind it may go on.
    pub fn open(&self) {
        self.set(State::Open);
    }

    /// The releases behind it do not run: they end with `status` and `message`.
    pub fn shut(&self, status: Status, message: &str) {
        self.set(State::Shut(status, message.to_string()));
    }

    /// Wait until the release it waits for is upgrading and no cluster prepares a release before
    /// prod in the open (`true`: time to get ready), or until it is opened or shut (`false`: too
    /// late to get ready early).
    pub fn wait_to_get_ready(&self) -> bool {
        let mut i = self.board.lock();
        loop {
            match i.gates.get(self.id) {
                Some(State::Pending { upgrading: true }) if i.preparing == 0 => return true,
                Some(State::Pending { .. }) => {}
                _ => return false,
            }
            i = self
                .board
                .cv
                .wait(i)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Whether it is shut (without waiting).
    pub fn is_shut(&self) -> bool {
        matches!(self.board.lock().gates.get(self.id), Some(State::Shut(..)))
    }

    /// Wait until it is opened (`Ok`) or shut (why, as a failure whose status is the gate's).
    pub fn wait(&self) -> Result<(), Failure> {
        let mut i = self.board.lock();
        while matches!(i.gates.get(self.id), Some(State::Pending { .. })) {
            i = self
                .board
                .cv
                .wait(i)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match i.gates.get(self.id) {
            Some(State::Shut(status, message)) => Err(Failure {
                step: STEP,
                cause: Cause::NotStarted {
                    status: *status,
                    why: message.clone(),
                },
            }),
            _ => Ok(()),
        }
    }
}

/// Shuts its gate when dropped still pending (the release that was to open it panicked), so no
/// release waits for ever.
pub struct Keeper<'g, 'b>(pub &'g Gate<'b>);

impl Drop for Keeper<'_, '_> {
    fn drop(&mut self) {
        self.0.shut(
            Status::Failed,
            "not started (internal error: the release before prod did not finish)",
        );
    }
}

#[cfg(test)]
mod tests;
