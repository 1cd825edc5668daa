use super::*;

fn skipped() -> (Status, &'static str) {
    (Status::Skipped, "skipped (staging failed)")
}

fn not_yet(early: &std::thread::ScopedJoinHandle<'_, bool>) {
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(!early.is_finished());
}

#[test]
fn a_release_gets_ready_once_the_one_before_upgrades_and_no_cluster_prepares_in_the_open() {
    let board = Board::default();
    board.expect(2);
    let (a, b) = (Turn::new(&board, true), Turn::new(&board, true));
    let gate = board.gate();
    std::thread::scope(|s| {
        let early = s.spawn(|| gate.wait_to_get_ready());
        a.settled();
        b.settled();
        not_yet(&early); // the release before it has not started its upgrade
        b.preparing(); // cluster b's staging prepares, its support passed
        gate.upgrading();
        not_yet(&early);
        b.settled();
        assert!(early.join().unwrap());
    });
    // a cluster done with its releases before prod counts no more, once
    let board = Board::default();
    board.expect(1);
    let t = Turn::new(&board, true);
    drop(t);
    drop(Turn::new(&board, false));
    let gate = board.gate();
    gate.upgrading();
    assert!(gate.wait_to_get_ready());
}

#[test]
fn waiters_see_the_first_answer_only_and_an_answered_gate_is_too_late_to_get_ready_at() {
    let board = Board::default();
    board.expect(1);
    let gate = board.gate();
    let other = board.gate();
    std::thread::scope(|s| {
        let early = s.spawn(|| gate.wait_to_get_ready());
        let w = s.spawn(|| gate.wait().map_err(|f| f.status()));
        gate.upgrading();
        gate.open();
        let (status, why) = skipped();
        gate.shut(status, why);
        gate.upgrading();
        assert!(!early.join().unwrap(), "too late to get ready early");
        assert_eq!(w.join().unwrap(), Ok(()));
    });
    let (status, why) = skipped();
    assert!(!other.is_shut());
    other.shut(status, why);
    assert!(
        other.is_shut() && !gate.is_shut(),
        "an opened gate is not shut"
    );
    assert!(!other.wait_to_get_ready());
    assert!(gate.wait().is_ok());
}

#[test]
fn a_shut_gate_gives_the_status_and_message_of_a_release_not_started() {
    let board = Board::default();
    let gate = board.gate();
    let (status, why) = skipped();
    gate.shut(status, why);
    let f = gate.wait().unwrap_err();
    assert_eq!((f.status(), f.message().as_str()), skipped());
    let gate = board.gate();
    gate.shut(Status::Interrupted, "not started (interrupted)");
    let f = gate.wait().unwrap_err();
    assert_eq!(f.status(), Status::Interrupted);
    assert!(f.cause.is_interrupted());
}

#[test]
fn a_keeper_dropped_while_pending_shuts_the_gate_and_leaves_an_answer_alone() {
    let board = Board::default();
    let gate = board.gate();
    drop(Keeper(&gate));
    assert_eq!(gate.wait().unwrap_err().status(), Status::Failed);
    let gate = board.gate();
    gate.open();
    drop(Keeper(&gate));
    assert!(gate.wait().is_ok());
}
