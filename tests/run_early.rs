//! Releases that get ready while the release before them upgrades (src/execute/gate.rs), with
//! the recording runner on the example repo: a cluster's prod releases take their leases and
//! read their records during its last staging upgrade, its staging during its support upgrade;
//! nothing else of theirs runs before that release has passed, and when it fails they give their
//! leases back and are skipped as the releases that never started are.

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deploy::cmd::Cmd;
use deploy::execute::outcome::{Outcome, Status};
use deploy::plan::jobs::Job;
use deploy::plan::multi::{Changes, plan};
use deploy::runner::{Call, CmdError, Output, RecordingRunner, Reply};

/// Long enough that a loaded CI machine gets the releases behind it ready meanwhile.
const SLOW: Duration = Duration::from_millis(400);

fn jobs() -> Vec<Job> {
    let repo = common::multi_example();
    let changes = Changes::new(
        Vec::<String>::new(),
        vec![
            "deployer:deploy-hubs".into(),
            "deployer:deploy-support".into(),
        ],
    );
    plan(&repo, &changes).unwrap().jobs()
}

/// The cluster a command was run for (its private kubeconfig's folder, `deploy-<cluster>-…`).
fn cluster(c: &Call) -> String {
    c.cmd
        .env
        .iter()
        .find(|(k, _)| k == "KUBECONFIG")
        .and_then(|(_, v)| {
            let v = v.value();
            let dir = v.split('/').find(|p| p.starts_with("deploy-"))?;
            Some(dir["deploy-".len()..].split('-').next()?.to_string())
        })
        .unwrap_or_default()
}

/// The namespace (= release, in the example) a command is about: `-n NS`, `--namespace NS`, or
/// the Lease `NS/deploy-…` it creates.
fn namespace(c: &Call) -> String {
    let line = c.cmd.line();
    let words: Vec<&str> = line.split_whitespace().collect();
    if let Some(i) = words.iter().position(|w| *w == "-n" || *w == "--namespace") {
        return words.get(i + 1).unwrap_or(&"").to_string();
    }
    if let Some(lease) = line.split("< Lease ").nth(1) {
        return lease.split('/').next().unwrap_or("").to_string();
    }
    String::new()
}

fn is(c: &Call, cluster_name: &str, ns: &str, starts: &str) -> bool {
    cluster(c) == cluster_name && namespace(c) == ns && c.cmd.line().starts_with(starts)
}

fn outcome<'a>(out: &'a [Outcome], label: &str) -> &'a Outcome {
    out.iter().find(|o| o.job.label() == label).unwrap()
}

/// The cluster a command is run for, from its kubeconfig (see [`cluster`]).
fn cluster_of(c: &Cmd) -> String {
    cluster(&Call {
        cmd: c.clone(),
        start: Instant::now(),
        end: Instant::now(),
    })
}

/// helm upgrades of the releases in `slow` take [`SLOW`]; those in `fail` fail after it
/// (`release`, or `cluster/release`).
fn world(
    slow: &'static [&'static str],
    fail: &'static [&'static str],
) -> impl Fn(&Cmd) -> Result<Reply, CmdError> + Send + Sync {
    move |c: &Cmd| {
        let line = c.line();
        if line.starts_with("helm upgrade --install") {
            let here = cluster_of(c);
            let this = |r: &&str| {
                let (cl, r) = r.split_once('/').unwrap_or((&here, r));
                cl == here && line.contains(&format!("--create-namespace {r} "))
            };
            if slow.iter().any(this) || fail.iter().any(this) {
                std::thread::sleep(SLOW);
            }
            if fail.iter().any(this) {
                return Ok(Reply::Ran(Output::failed(1, "Error: UPGRADE FAILED")));
            }
        }
        Ok(Reply::Ran(Output::ok("")))
    }
}

fn run(r: &RecordingRunner, jobs: usize) -> Vec<Outcome> {
    common::run_example(r, &self::jobs(), &common::run_options(jobs)).0
}

/// The one call of `cluster`'s release `ns` that starts with `starts`.
fn call(calls: &[Call], cluster: &str, ns: &str, starts: &str) -> Call {
    let found: Vec<&Call> = calls
        .iter()
        .filter(|c| is(c, cluster, ns, starts))
        .collect();
    assert_eq!(found.len(), 1, "{cluster}/{ns} `{starts}`: {found:#?}");
    found[0].clone()
}

fn started_before(calls: &[Call], cluster: &str, ns: &str, starts: &str, t: Instant) -> bool {
    calls
        .iter()
        .any(|c| is(c, cluster, ns, starts) && c.start < t)
}

const LEASE: &str = "kubectl create -o json -f -";
const RECORDS: &str = "kubectl -n";
const UPGRADE: &str = "helm upgrade --install";

#[test]
fn prod_releases_get_ready_while_staging_upgrades_and_change_nothing_before_it_passed() {
    let r = RecordingRunner::new(world(&["staging", "dask-staging"], &[]));
    let out = run(&r, 4);
    assert!(
        out.iter().all(|o| o.status == Status::Succeeded),
        "{out:#?}"
    );
    let calls = r.calls();
    for (c, gate, prods) in [
        ("alpha", "staging", &["prod", "physics", "climate"][..]),
        ("beta", "staging", &["research", "teaching"][..]),
    ] {
        let staging = call(&calls, c, gate, UPGRADE);
        let mut early = 0;
        for p in prods {
            early += usize::from(started_before(&calls, c, p, LEASE, staging.end));
            // its upgrade only once staging's has ended (and its rollout check passed)
            assert!(call(&calls, c, p, UPGRADE).start >= staging.end, "{c}/{p}");
        }
        assert!(early > 0, "{c}: no prod release got ready early");
    }
    // beta's staging got ready while dask-staging (before it) upgraded; so did alpha's staging
    // while its support upgraded (fast here: it may have been too quick for that)
    let dask = call(&calls, "beta", "dask-staging", UPGRADE);
    assert!(started_before(&calls, "beta", "staging", LEASE, dask.end));
    assert!(call(&calls, "beta", "staging", UPGRADE).start >= dask.end);
    // a prod release that got ready early waited, and that wait is not its own time
    let waited = ["alpha/prod", "alpha/physics", "alpha/climate"]
        .iter()
        .map(|l| outcome(&out, l))
        .any(|o| o.queued >= SLOW.as_secs_f64() / 4.0);
    assert!(waited, "{out:#?}");
}

#[test]
fn a_failed_staging_sends_the_ready_releases_home_their_leases_given_back() {
    let r = RecordingRunner::new(world(&["dask-staging"], &["alpha/staging"]));
    let out = run(&r, 4);
    let calls = r.calls();
    for p in ["prod", "physics", "climate"] {
        let o = outcome(&out, &format!("alpha/{p}"));
        assert_eq!(
            (o.status, o.message.as_str()),
            (Status::Skipped, "skipped (staging failed)"),
            "{o:#?}"
        );
        assert!(!calls.iter().any(|c| is(c, "alpha", p, UPGRADE)), "{p}");
        let taken = calls.iter().filter(|c| is(c, "alpha", p, LEASE)).count();
        let given = calls
            .iter()
            .filter(|c| is(c, "alpha", p, "kubectl -n") && c.cmd.line().contains("delete lease"))
            .count();
        assert_eq!(taken, given, "{p}: every lease taken is given back");
    }
    // at least one got ready: its report lists what it ran
    let ready: Vec<&Outcome> = ["alpha/prod", "alpha/physics", "alpha/climate"]
        .iter()
        .map(|l| outcome(&out, l))
        .filter(|o| !o.commands.is_empty())
        .collect();
    assert!(!ready.is_empty(), "{out:#?}");
    for o in ready {
        assert!(
            o.commands[0].starts_with("kubectl create -o json -f - < Lease"),
            "{o:#?}"
        );
        assert!(
            o.commands.iter().any(|c| c.contains("delete lease")),
            "{o:#?}"
        );
    }
    // the other clusters are not held back
    for ok in [
        "beta/research",
        "beta/teaching",
        "gamma/prod",
        "gamma/binder",
    ] {
        assert_eq!(outcome(&out, ok).status, Status::Succeeded, "{ok}");
    }
}

#[test]
fn a_failed_support_skips_the_staging_that_got_ready_and_what_follows_with_its_message() {
    let r = RecordingRunner::new(world(&[], &["support"]));
    let out = run(&r, 4);
    let calls = r.calls();
    for c in ["alpha", "beta"] {
        let support = call(&calls, c, "support", UPGRADE);
        for o in out
            .iter()
            .filter(|o| o.job.cluster == c && o.job.release != "support")
        {
            assert_eq!(
                (o.status, o.message.as_str()),
                (Status::Skipped, "skipped (support failed)"),
                "{o:#?}"
            );
        }
        assert!(
            !calls.iter().any(|x| cluster(x) == c
                && x.cmd.line().starts_with(UPGRADE)
                && namespace(x) != "support"),
            "{c}: nothing after support upgraded"
        );
        let staging = if c == "beta" {
            "dask-staging"
        } else {
            "staging"
        };
        assert!(
            started_before(&calls, c, staging, LEASE, support.end),
            "{c}: its staging got ready while support upgraded"
        );
    }
}

/// Lease creates answer NotFound for `new`'s namespace until `kubectl create namespace` made it.
fn first_install(
    new: &'static str,
    fail: &'static [&'static str],
) -> impl Fn(&Cmd) -> Result<Reply, CmdError> + Send + Sync {
    let made: Mutex<BTreeSet<String>> = Mutex::default();
    let upgrades = world(&["staging", "dask-staging"], fail);
    move |c: &Cmd| {
        let line = c.line();
        if line == format!("kubectl create namespace {new}") {
            made.lock().unwrap().insert(new.to_string());
        }
        if line.starts_with(LEASE)
            && line.contains(&format!("< Lease {new}/"))
            && !made.lock().unwrap().contains(new)
        {
            return Ok(Reply::Ran(Output::failed(
                1,
                &format!("Error from server (NotFound): namespaces \"{new}\" not found"),
            )));
        }
        upgrades(c)
    }
}

#[test]
fn a_first_install_makes_its_namespace_only_once_staging_has_passed() {
    let r = RecordingRunner::new(first_install("climate", &[]));
    let out = run(&r, 4);
    assert_eq!(
        outcome(&out, "alpha/climate").status,
        Status::Succeeded,
        "{out:#?}"
    );
    let calls = r.calls();
    let staging = call(&calls, "alpha", "staging", UPGRADE);
    let made = call(&calls, "alpha", "", "kubectl create namespace climate");
    assert!(made.start >= staging.end);

    // staging fails: the namespace is never made
    let r = RecordingRunner::new(first_install("climate", &["alpha/staging"]));
    let out = run(&r, 4);
    assert_eq!(outcome(&out, "alpha/climate").status, Status::Skipped);
    assert!(
        !r.lines()
            .iter()
            .any(|l| l.starts_with("kubectl create namespace"))
    );
}

#[test]
fn a_pending_revision_seen_early_is_read_again_after_the_gate() {
    // physics's newest revision is pending when it gets ready, deployed when staging passed
    // (the run that made it finished meanwhile): it is not recovered
    let reads = Mutex::new(0usize);
    let upgrades = world(&["staging", "dask-staging"], &[]);
    let r = RecordingRunner::new(move |c: &Cmd| {
        let line = c.line();
        if line.starts_with("kubectl -n physics get secret -l owner=helm,name=physics") {
            let mut n = reads.lock().unwrap();
            *n += 1;
            let status = if *n == 1 {
                "pending-upgrade"
            } else {
                "deployed"
            };
            return Ok(Reply::Ran(Output::ok(&format!(
                r#"{{"name":"physics","owner":"helm","status":"{status}","version":"4"}}"#
            ))));
        }
        upgrades(c)
    });
    let out = run(&r, 4);
    assert_eq!(
        outcome(&out, "alpha/physics").status,
        Status::Succeeded,
        "{out:#?}"
    );
    let lines = r.lines();
    let physics: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("physics") && (l.starts_with("helm") || l.contains(" secret ")))
        .filter(|l| !l.starts_with("helm dependency"))
        .collect();
    let calls = r.calls();
    let staging = call(&calls, "alpha", "staging", UPGRADE);
    assert!(
        started_before(&calls, "alpha", "physics", RECORDS, staging.end),
        "physics read its records early"
    );
    assert_eq!(physics.len(), 3, "{physics:#?}");
    assert!(physics[2].starts_with(UPGRADE), "{physics:#?}");
    assert!(
        physics[2].contains("--labels deploy-revision=5,"),
        "the upgrade makes revision 5: {physics:#?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("helm rollback")));
}

#[test]
fn one_release_at_a_time_gets_nothing_ready_early() {
    let r = RecordingRunner::new(world(&["staging"], &[]));
    let out = run(&r, 1);
    assert!(out.iter().all(|o| o.status == Status::Succeeded));
    let calls = r.calls();
    let staging = call(&calls, "alpha", "staging", UPGRADE);
    for p in ["prod", "physics", "climate"] {
        assert!(
            !started_before(&calls, "alpha", p, LEASE, staging.end),
            "{p}"
        );
    }
}

#[test]
fn a_lease_lost_while_waiting_at_the_gate_is_taken_again_and_the_records_read_again() {
    // physics's lease renewals fail (another run's replace won) while staging upgrades
    let upgrades = world(&["staging", "dask-staging"], &[]);
    let r = RecordingRunner::new(move |c: &Cmd| {
        let line = c.line();
        if line.starts_with("kubectl replace -o json -f -")
            && line.contains("< Lease physics/deploy-physics")
        {
            return Ok(Reply::Ran(Output::failed(
                1,
                "Error from server (Conflict): the object has been modified",
            )));
        }
        if line.starts_with(LEASE) {
            // (a lease with a resourceVersion is renewed)
            return Ok(Reply::Ran(Output::ok(
                r#"{"metadata":{"resourceVersion":"1"}}"#,
            )));
        }
        upgrades(c)
    });
    let mut o = common::run_options(4);
    o.lease.duration = Duration::from_millis(150); // renewed every 50 ms
    let (out, _) = common::run_example(&r, &jobs(), &o);
    assert_eq!(
        outcome(&out, "alpha/physics").status,
        Status::Succeeded,
        "{out:#?}"
    );
    let calls = r.calls();
    let staging = call(&calls, "alpha", "staging", UPGRADE);
    let creates: Vec<&Call> = calls
        .iter()
        .filter(|c| is(c, "alpha", "physics", LEASE))
        .collect();
    assert_eq!(creates.len(), 2, "{creates:#?}");
    assert!(creates[0].start < staging.end && creates[1].start >= staging.end);
    let reads = calls
        .iter()
        .filter(|c| is(c, "alpha", "physics", "kubectl -n physics get secret"))
        .count();
    assert_eq!(reads, 2, "its records are read again under the new lease");
    let up = call(&calls, "alpha", "physics", UPGRADE);
    assert!(up.start > creates[1].end);
}

#[test]
fn a_release_waiting_for_another_runs_lease_stops_waiting_when_its_gate_shuts() {
    // another run holds physics's lease and keeps renewing it; alpha's staging fails
    let renewals = Mutex::new(0u64);
    let upgrades = world(&[], &["alpha/staging"]);
    let r = RecordingRunner::new(move |c: &Cmd| {
        let line = c.line();
        if line.starts_with(LEASE) && line.contains("< Lease physics/") {
            return Ok(Reply::Ran(Output::failed(
                1,
                "Error from server (AlreadyExists): leases.coordination.k8s.io \"deploy-physics\" already exists",
            )));
        }
        if line.starts_with("kubectl -n physics get lease") {
            let mut n = renewals.lock().unwrap();
            *n += 1;
            return Ok(Reply::Ran(Output::ok(&format!(
                r#"{{"metadata":{{"resourceVersion":"{n}"}},"spec":{{"holderIdentity":"other-run","leaseDurationSeconds":60,"renewTime":"t{n}"}}}}"#
            ))));
        }
        upgrades(c)
    });
    let mut o = common::run_options(4);
    o.lease.wait = Duration::from_secs(30);
    let t0 = Instant::now();
    let (out, _) = common::run_example(&r, &jobs(), &o);
    let physics = outcome(&out, "alpha/physics");
    assert_eq!(
        (physics.status, physics.message.as_str()),
        (Status::Skipped, "skipped (staging failed)"),
        "{physics:#?}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the run waited {:?} for a lease its release no longer needed",
        t0.elapsed()
    );
    assert!(
        !r.lines()
            .iter()
            .any(|l| l.contains("physics") && l.starts_with(UPGRADE)),
        "physics did not upgrade"
    );
    // (it did wait for that lease: it got ready while staging upgraded)
    let calls = r.calls();
    let staging = call(&calls, "alpha", "staging", UPGRADE);
    assert!(
        started_before(&calls, "alpha", "physics", LEASE, staging.end),
        "physics got ready early"
    );
}
