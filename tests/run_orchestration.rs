//! `deploy run` orchestration with the recording runner on the example repo: ordering per
//! cluster, failure isolation across clusters, the global helm limit, leases and stuck releases.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deploy::cmd::Cmd;
use deploy::config::multi::MultiRepo;
use deploy::execute::lease::{self, LeaseSettings};
use deploy::execute::outcome::{Outcome, Status};
use deploy::execute::run::RunOptions;
use deploy::plan::jobs::Job;
use deploy::plan::multi::{Changes, plan};
use deploy::runner::{CmdError, Output, RecordingRunner, Reply};

fn repo() -> MultiRepo {
    common::multi_example()
}

fn all_hub_jobs(repo: &MultiRepo) -> Vec<Job> {
    let changes = Changes::new(
        Vec::<String>::new(),
        vec![
            "deployer:deploy-hubs".into(),
            "deployer:deploy-support".into(),
        ],
    );
    plan(repo, &changes).unwrap().jobs()
}

fn opts(jobs: usize) -> RunOptions {
    common::run_options(jobs)
}

fn run_with(r: &RecordingRunner, jobs: &[Job], o: &RunOptions) -> (Vec<Outcome>, String) {
    common::run_example(r, jobs, o)
}

fn status_of<'a>(out: &'a [Outcome], label: &str) -> &'a Outcome {
    out.iter()
        .find(|o| o.job.label() == label)
        .unwrap_or_else(|| panic!("{label} not in outcomes"))
}

/// A responder where `helm upgrade` of releases matching `fail` fails and every upgrade takes
/// `delay`.
fn responder(
    fail: &'static [&'static str],
    delay: Duration,
) -> impl Fn(&Cmd) -> Result<Reply, CmdError> + Send + Sync {
    move |c: &Cmd| {
        let line = c.line();
        if line.starts_with("helm upgrade") {
            std::thread::sleep(delay);
            if fail
                .iter()
                .any(|f| line.contains(&format!("--create-namespace {f} ")))
            {
                return Ok(Reply::Ran(Output::failed(
                    1,
                    "Error: UPGRADE FAILED: context deadline exceeded",
                )));
            }
        }
        Ok(Reply::Ran(Output::ok("")))
    }
}

/// Start and end of each helm upgrade, by release.
fn upgrades(r: &RecordingRunner) -> BTreeMap<String, (Instant, Instant)> {
    r.calls()
        .into_iter()
        .filter(|c| c.cmd.line().starts_with("helm upgrade"))
        .map(|c| (c.cmd.args[5].value().to_string(), (c.start, c.end)))
        .collect()
}

#[test]
fn support_then_staging_then_prod_within_each_cluster() {
    let repo = repo();
    let jobs = all_hub_jobs(&repo);
    let r = RecordingRunner::new(responder(&[], Duration::from_millis(20)));
    let (out, _) = run_with(&r, &jobs, &opts(4));
    assert!(
        out.iter().all(|o| o.status == Status::Succeeded),
        "{out:#?}"
    );
    let calls = r.calls();
    // per cluster, the order of upgrades: support, then each staging hub, then prods
    for (cluster, support, staging, prods) in [
        (
            "alpha",
            true,
            vec!["staging"],
            vec!["climate", "physics", "prod"],
        ),
        (
            "beta",
            true,
            vec!["dask-staging", "staging"],
            vec!["research", "teaching"],
        ),
        ("gamma", false, vec![], vec!["binder", "prod"]),
    ] {
        let kube = |c: &&deploy::runner::Call| {
            c.cmd.env.iter().any(|(k, v)| {
                k == "KUBECONFIG" && v.value().contains(&format!("deploy-{cluster}-"))
            })
        };
        let ups: Vec<(String, Instant, Instant)> = calls
            .iter()
            .filter(kube)
            .filter(|c| {
                c.cmd
                    .line()
                    .starts_with("helm upgrade --install --namespace")
            })
            .map(|c| (c.cmd.args[5].value().to_string(), c.start, c.end))
            .collect();
        let mut expected_sequential: Vec<&str> = Vec::new();
        if support {
            expected_sequential.push("support");
        }
        expected_sequential.extend(staging.iter());
        let names: Vec<&str> = ups.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            &names[..expected_sequential.len()],
            &expected_sequential[..],
            "{cluster}: {names:?}"
        );
        // every sequential release ended before the next started
        for w in ups[..expected_sequential.len()].windows(2) {
            assert!(
                w[0].2 <= w[1].1,
                "{cluster}: {} overlapped {}",
                w[0].0,
                w[1].0
            );
        }
        let last_seq_end = ups[..expected_sequential.len()].iter().map(|u| u.2).max();
        for (name, start, _) in &ups[expected_sequential.len()..] {
            assert!(
                prods.contains(&name.as_str()),
                "{cluster}: unexpected {name}"
            );
            if let Some(end) = last_seq_end {
                assert!(
                    *start >= end,
                    "{cluster}: prod {name} started before staging ended"
                );
            }
        }
        assert_eq!(ups.len(), expected_sequential.len() + prods.len());
        // the private kubeconfig, never the user's
        assert!(calls.iter().filter(kube).count() > 0);
    }
    assert!(!calls.iter().any(|c| {
        c.cmd
            .env
            .iter()
            .any(|(_, v)| v.value().ends_with(".kube/config"))
    }));
}

#[test]
fn a_staging_failure_skips_that_clusters_prod_only() {
    let repo = repo();
    let jobs = all_hub_jobs(&repo);
    let r = RecordingRunner::new(responder(&["dask-staging"], Duration::ZERO));
    let (out, log) = run_with(&r, &jobs, &opts(4));
    assert_eq!(status_of(&out, "beta/dask-staging").status, Status::Failed);
    assert!(
        status_of(&out, "beta/dask-staging")
            .message
            .contains("UPGRADE FAILED"),
        "{out:#?}"
    );
    for skipped in ["beta/staging", "beta/research", "beta/teaching"] {
        let o = status_of(&out, skipped);
        assert_eq!(
            (o.status, o.message.as_str()),
            (Status::Skipped, "skipped (staging failed)"),
            "{skipped}"
        );
    }
    for ok in [
        "alpha/support",
        "alpha/staging",
        "alpha/prod",
        "alpha/physics",
        "alpha/climate",
        "gamma/prod",
        "gamma/binder",
        "beta/support",
    ] {
        assert_eq!(status_of(&out, ok).status, Status::Succeeded, "{ok}");
    }
    let ups = upgrades(&r);
    assert!(
        !ups.contains_key("research") && !ups.contains_key("teaching"),
        "no beta prod upgrade ran"
    );
    assert!(
        log.contains("error: beta/dask-staging: helm upgrade:"),
        "{log}"
    );
}

#[test]
fn a_failing_prod_hub_does_not_stop_the_others_and_support_failure_skips_its_cluster() {
    let repo = repo();
    let jobs = all_hub_jobs(&repo);
    let r = RecordingRunner::new(responder(&["physics", "support"], Duration::ZERO));
    let (out, _) = run_with(&r, &jobs, &opts(4));
    // support of alpha and beta failed: everything else there is skipped
    for c in ["alpha", "beta"] {
        assert_eq!(
            status_of(&out, &format!("{c}/support")).status,
            Status::Failed
        );
        for o in out
            .iter()
            .filter(|o| o.job.cluster == c && o.job.release != "support")
        {
            assert_eq!(
                (o.status, o.message.as_str()),
                (Status::Skipped, "skipped (support failed)")
            );
        }
    }
    assert_eq!(status_of(&out, "gamma/prod").status, Status::Succeeded);

    // without support jobs, one failing prod hub leaves its siblings deployed
    let hubs: Vec<Job> = jobs
        .into_iter()
        .filter(|j| j.release != "support")
        .collect();
    let r = RecordingRunner::new(responder(&["physics"], Duration::ZERO));
    let (out, _) = run_with(&r, &hubs, &opts(4));
    assert_eq!(status_of(&out, "alpha/physics").status, Status::Failed);
    assert_eq!(status_of(&out, "alpha/prod").status, Status::Succeeded);
    assert_eq!(status_of(&out, "alpha/climate").status, Status::Succeeded);
}

#[test]
fn never_more_concurrent_helm_processes_than_jobs() {
    let repo = repo();
    let jobs = all_hub_jobs(&repo);
    for n in [1usize, 2, 3] {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (running2, peak2) = (Arc::clone(&running), Arc::clone(&peak));
        let r = RecordingRunner::new(move |c: &Cmd| {
            if c.program == "helm" {
                let now = running2.fetch_add(1, Ordering::SeqCst) + 1;
                peak2.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(
                    if c.line().starts_with("helm upgrade") {
                        30
                    } else {
                        2
                    },
                ));
                running2.fetch_sub(1, Ordering::SeqCst);
            }
            Ok(Reply::Ran(Output::ok("")))
        });
        let (out, _) = run_with(&r, &jobs, &opts(n));
        assert!(out.iter().all(|o| o.status == Status::Succeeded));
        let p = peak.load(Ordering::SeqCst);
        assert!(p <= n, "peak {p} helm processes with --jobs {n}");
        assert_eq!(
            p, n,
            "with 12 releases over 3 clusters, --jobs {n} is reached"
        );
    }
}

#[test]
fn dependency_update_runs_once_per_chart_per_run() {
    let repo = repo();
    let jobs = all_hub_jobs(&repo);
    let r = RecordingRunner::new(responder(&[], Duration::from_millis(5)));
    run_with(&r, &jobs, &opts(4));
    let mut dep: Vec<String> = r
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("helm dependency update"))
        .collect();
    dep.sort();
    assert_eq!(
        dep,
        [
            "helm dependency update helm-charts/basehub",
            "helm dependency update helm-charts/binderhub",
            "helm dependency update helm-charts/daskhub",
            "helm dependency update helm-charts/support",
        ]
    );
}

#[test]
fn credentials_failure_fails_only_that_cluster() {
    let repo = repo();
    let jobs = all_hub_jobs(&repo);
    let r = RecordingRunner::new(|c: &Cmd| {
        if c.line().starts_with("aws eks update-kubeconfig") {
            return Ok(Reply::Ran(Output::failed(
                255,
                "An error occurred (AccessDenied)",
            )));
        }
        Ok(Reply::Ran(Output::ok("")))
    });
    let (out, _) = run_with(&r, &jobs, &opts(4));
    assert_eq!(status_of(&out, "beta/support").status, Status::Failed);
    assert!(
        status_of(&out, "beta/staging")
            .message
            .starts_with("cluster credentials failed")
    );
    assert_eq!(
        status_of(&out, "beta/research").message,
        "skipped (credentials failed)"
    );
    assert_eq!(status_of(&out, "alpha/prod").status, Status::Succeeded);
    // the AWS secret key went to aws through the environment, never argv
    let aws = r
        .calls()
        .into_iter()
        .find(|c| c.cmd.program == "aws")
        .unwrap();
    assert!(
        aws.cmd
            .env
            .iter()
            .any(|(k, _)| k == "AWS_SECRET_ACCESS_KEY")
    );
    assert!(!aws.cmd.line().contains("FAKE"));
}

// ---- leases ----

/// A pretend API server holding one lease.
#[derive(Default)]
struct LeaseWorld {
    lease: Option<(String, String, u32)>, // holder, renewTime, resourceVersion
    /// When set, the first takeover attempt loses to this holder.
    race_winner: Option<String>,
    namespace_exists: bool,
    /// The holder's leaseDurationSeconds (60 when 0).
    secs: u64,
    /// A live holder: renews before each read, writing its own clock plus this offset (seconds,
    /// may be negative: a clock far behind ours).
    renewing_with_offset: Option<i64>,
}

fn clock(offset_secs: i64) -> String {
    let now = std::time::SystemTime::now();
    let t = if offset_secs >= 0 {
        now + Duration::from_secs(offset_secs as u64)
    } else {
        now - Duration::from_secs(offset_secs.unsigned_abs())
    };
    humantime::format_rfc3339_micros(t).to_string()
}

fn lease_runner(world: Arc<Mutex<LeaseWorld>>) -> RecordingRunner {
    RecordingRunner::new(move |c: &Cmd| {
        let line = c.line();
        let mut w = world.lock().unwrap();
        let stdin = c
            .stdin
            .as_ref()
            .map(|s| s.value().to_string())
            .unwrap_or_default();
        let obj: serde_json::Value = serde_json::from_str(&stdin).unwrap_or_default();
        let secs = if w.secs == 0 { 60 } else { w.secs };
        let lease_json = |h: &str, t: &str, rv: u32| {
            format!(
                r#"{{"metadata":{{"resourceVersion":"{rv}"}},"spec":{{"holderIdentity":"{h}","leaseDurationSeconds":{secs},"renewTime":"{t}"}}}}"#
            )
        };
        let out = if line.starts_with("kubectl create namespace") {
            w.namespace_exists = true;
            Output::ok("")
        } else if line.starts_with("kubectl create -o json") {
            if !w.namespace_exists {
                Output::failed(
                    1,
                    "Error from server (NotFound): namespaces \"ns\" not found",
                )
            } else if w.lease.is_some() {
                Output::failed(
                    1,
                    "Error from server (AlreadyExists): leases \"deploy-x\" already exists",
                )
            } else {
                let h = obj["spec"]["holderIdentity"].as_str().unwrap().to_string();
                let t = obj["spec"]["renewTime"].as_str().unwrap().to_string();
                w.lease = Some((h.clone(), t.clone(), 1));
                Output::ok(&lease_json(&h, &t, 1))
            }
        } else if line.starts_with("kubectl replace -o json") {
            let rv: u32 = obj["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            if let Some(winner) = w.race_winner.take() {
                // someone else replaced it a moment before us, with a fresh renewTime
                let now =
                    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();
                w.lease = Some((winner, now, rv + 1));
                Output::failed(
                    1,
                    "Error from server (Conflict): the object has been modified",
                )
            } else if w.lease.as_ref().is_some_and(|l| l.2 == rv) {
                let h = obj["spec"]["holderIdentity"].as_str().unwrap().to_string();
                let t = obj["spec"]["renewTime"].as_str().unwrap().to_string();
                w.lease = Some((h.clone(), t.clone(), rv + 1));
                Output::ok(&lease_json(&h, &t, rv + 1))
            } else {
                Output::failed(
                    1,
                    "Error from server (Conflict): the object has been modified",
                )
            }
        } else if line.contains(" get lease ") {
            if let (Some(offset), Some(l)) = (w.renewing_with_offset, w.lease.as_mut()) {
                l.1 = clock(offset);
                l.2 += 1;
            }
            match &w.lease {
                Some((h, t, rv)) => Output::ok(&lease_json(h, t, *rv)),
                None => Output::failed(1, "Error from server (NotFound)"),
            }
        } else if line.contains(" delete lease ") {
            w.lease = None;
            Output::ok("")
        } else {
            Output::ok("")
        };
        Ok(Reply::Ran(out))
    })
}

fn settings(wait_ms: u64) -> LeaseSettings {
    LeaseSettings {
        holder: "me".into(),
        duration: Duration::from_secs(60),
        wait: Duration::from_millis(wait_ms),
        poll: Duration::from_millis(10),
    }
}

#[test]
fn lease_is_created_held_and_deleted() {
    let world = Arc::new(Mutex::new(LeaseWorld::default()));
    let r = lease_runner(Arc::clone(&world));
    std::thread::scope(|s| {
        let l = lease::acquire(s, &r, &settings(100), "ns", "hub").unwrap();
        assert_eq!(world.lock().unwrap().lease.as_ref().unwrap().0, "me");
        assert!(l.took_over_from.is_none());
        assert!(l.release().is_none());
    });
    assert!(world.lock().unwrap().lease.is_none());
    let lines = r.lines();
    assert_eq!(
        lines[0],
        "kubectl create -o json -f - < Lease ns/deploy-hub"
    );
    assert_eq!(
        lines[1], "kubectl create namespace ns",
        "a first install makes the namespace"
    );
    assert_eq!(
        lines[2],
        "kubectl create -o json -f - < Lease ns/deploy-hub"
    );
    assert_eq!(
        lines.last().unwrap(),
        "kubectl -n ns delete lease deploy-hub --ignore-not-found"
    );
}

#[test]
fn a_live_lease_of_another_run_makes_the_release_fail_naming_the_holder() {
    let world = Arc::new(Mutex::new(LeaseWorld {
        lease: Some(("deploy@ci-7:42".into(), clock(-1), 5)),
        ..Default::default()
    }));
    let r = lease_runner(Arc::clone(&world));
    let t = Instant::now();
    let err = std::thread::scope(|s| {
        lease::acquire(s, &r, &settings(150), "ns", "hub")
            .map(|_| ())
            .unwrap_err()
    });
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "waited for the lock timeout"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("release hub is being deployed by deploy@ci-7:42 (lease ns/deploy-hub,"),
        "{msg}"
    );
    assert_eq!(
        world.lock().unwrap().lease.as_ref().unwrap().0,
        "deploy@ci-7:42",
        "untouched"
    );
}

/// A dead holder's lease: its renewTime far in the past (our clock ahead of its) or far in the
/// future (its clock ahead of ours). Either way it is taken over only once it has stayed
/// unchanged for its leaseDurationSeconds on our clock, never at the first look, never never.
#[test]
fn a_dead_holders_lease_is_taken_over_only_after_staying_unchanged_for_its_duration() {
    for renew in [clock(-3600), clock(3600)] {
        let world = Arc::new(Mutex::new(LeaseWorld {
            lease: Some(("dead-run".into(), renew.clone(), 7)),
            secs: 1,
            ..Default::default()
        }));
        let r = lease_runner(Arc::clone(&world));
        let t = Instant::now();
        std::thread::scope(|s| {
            let l = lease::acquire(s, &r, &settings(5000), "ns", "hub").unwrap();
            assert_eq!(l.took_over_from.as_deref(), Some("dead-run"), "{renew}");
            l.release();
        });
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
            "renewTime {renew}: taken over after {waited:?}"
        );
        let replace = r
            .calls()
            .into_iter()
            .find(|c| c.cmd.line().starts_with("kubectl replace"))
            .unwrap();
        let obj: serde_json::Value =
            serde_json::from_str(replace.cmd.stdin.as_ref().unwrap().value()).unwrap();
        assert_eq!(
            obj["metadata"]["resourceVersion"], "7",
            "the takeover is conditional on what we saw"
        );
    }
}

/// A live holder whose clock is an hour behind ours writes renewTimes that look long expired:
/// it keeps renewing, so it is never taken over.
#[test]
fn a_renewing_holder_with_a_clock_far_behind_is_never_taken_over() {
    let world = Arc::new(Mutex::new(LeaseWorld {
        lease: Some(("slow-clock-run".into(), clock(-3600), 3)),
        secs: 1,
        renewing_with_offset: Some(-3600),
        namespace_exists: true,
        ..Default::default()
    }));
    let r = lease_runner(Arc::clone(&world));
    let err = std::thread::scope(|s| {
        lease::acquire(s, &r, &settings(1500), "ns", "hub")
            .map(|_| ())
            .unwrap_err()
    });
    assert!(
        err.to_string().contains("being deployed by slow-clock-run"),
        "{err}"
    );
    assert!(!r.lines().iter().any(|l| l.starts_with("kubectl replace")));
}

/// --lock-timeout bounds the whole wait, even when the lease would expire later.
#[test]
fn the_lock_timeout_bounds_the_wait_for_a_dead_holders_lease() {
    let world = Arc::new(Mutex::new(LeaseWorld {
        lease: Some(("dead-run".into(), clock(-600), 7)),
        namespace_exists: true,
        ..Default::default()
    }));
    let r = lease_runner(Arc::clone(&world));
    let t = Instant::now();
    let err = std::thread::scope(|s| {
        lease::acquire(s, &r, &settings(200), "ns", "hub")
            .map(|_| ())
            .unwrap_err()
    });
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let msg = err.to_string();
    assert!(
        msg.contains("being deployed by dead-run (lease ns/deploy-hub, unchanged for the last 0s; a lease not renewed for 60s is taken over)"),
        "{msg}"
    );
}

#[test]
fn losing_the_takeover_race_means_waiting_for_the_winner() {
    let world = Arc::new(Mutex::new(LeaseWorld {
        lease: Some(("dead-run".into(), clock(-600), 7)),
        race_winner: Some("other-run".into()),
        namespace_exists: true,
        secs: 1,
        ..Default::default()
    }));
    let r = lease_runner(Arc::clone(&world));
    // long enough to try the takeover (1 s), too short to take the winner's lease over too
    let err = std::thread::scope(|s| {
        lease::acquire(s, &r, &settings(1600), "ns", "hub")
            .map(|_| ())
            .unwrap_err()
    });
    assert!(
        err.to_string().contains("being deployed by other-run"),
        "{err}"
    );
    assert_eq!(
        world.lock().unwrap().lease.as_ref().unwrap().0,
        "other-run",
        "the winner keeps it"
    );
}

#[test]
fn the_lease_is_renewed_while_the_upgrade_runs() {
    let world = Arc::new(Mutex::new(LeaseWorld::default()));
    let r = lease_runner(Arc::clone(&world));
    let mut s = settings(100);
    s.duration = Duration::from_millis(150); // renew every 50 ms
    std::thread::scope(|scope| {
        let l = lease::acquire(scope, &r, &s, "ns", "hub").unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            world.lock().unwrap().lease.as_ref().unwrap().2 >= 4,
            "renewed several times"
        );
        assert!(l.release().is_none());
    });
}

// ---- stuck releases ----

/// A release `prod` (gamma) whose newest revision, 4, has `status`.
struct Stuck {
    status: &'static str,
    /// How long ago helm made revision 4 (helm history's `updated`).
    age_secs: i64,
    /// The labels of revision 4's release Secret besides helm's own (our marker, or none).
    labels: &'static str,
    /// Another holder's lease is there and stays unchanged (its run died): it is taken over.
    dead_lease: bool,
    /// What `helm history` (helm's reading of the release's data) says of revision 4, when it
    /// is not what its Secret's `status` label says (a label edited by hand).
    history_status: Option<&'static str>,
    force_recover: bool,
}

const OURS: &str = r#""deploy-revision":"4","deploy-timeout":"5m","#;
/// What a person's `helm upgrade` after one of ours leaves: our labels, copied by helm.
const INHERITED: &str = r#""deploy-revision":"3","deploy-timeout":"5m","#;

impl Default for Stuck {
    fn default() -> Self {
        Stuck {
            status: "pending-upgrade",
            age_secs: 60,
            labels: OURS,
            dead_lease: false,
            history_status: None,
            force_recover: false,
        }
    }
}

/// Run gamma/prod in that world: the outcome, the log, and the helm and lease commands.
fn run_stuck(w: Stuck) -> (Outcome, String, Vec<String>) {
    let repo = repo();
    let jobs: Vec<Job> = all_hub_jobs(&repo)
        .into_iter()
        .filter(|j| j.label() == "gamma/prod")
        .collect();
    let status = w.status;
    let in_history = w.history_status.unwrap_or(status);
    let (labels, dead_lease) = (w.labels, w.dead_lease);
    let updated = clock(-w.age_secs);
    let dead_renew = clock(-600);
    let r = RecordingRunner::new(move |c: &Cmd| {
        let line = c.line();
        let out = if line.starts_with("helm history") {
            Output::ok(&format!(
                r#"[{{"revision":1,"status":"superseded"}},{{"revision":2,"status":"deployed"}},{{"revision":3,"status":"failed"}},{{"revision":4,"status":"{in_history}","updated":"{updated}","description":"Preparing upgrade"}}]"#
            ))
        } else if line.starts_with("kubectl -n prod get secret -l owner=helm,name=prod ") {
            // helm's release Secrets, by name as kubectl lists them
            Output::ok(&format!(
                r#"{{"name":"prod","owner":"helm","status":"superseded","version":"1"}} {{"name":"prod","owner":"helm","status":"deployed","version":"2"}} {{"name":"prod","owner":"helm","status":"failed","version":"3"}} {{{labels}"name":"prod","owner":"helm","status":"{status}","version":"4"}}"#
            ))
        } else if line.starts_with("kubectl create -o json") && dead_lease {
            Output::failed(1, "Error from server (AlreadyExists)")
        } else if line.contains(" get lease ") {
            Output::ok(&format!(
                r#"{{"metadata":{{"resourceVersion":"9"}},"spec":{{"holderIdentity":"deploy@dead:1","leaseDurationSeconds":1,"renewTime":"{dead_renew}"}}}}"#
            ))
        } else if line.starts_with("kubectl create -o json") || line.starts_with("kubectl replace")
        {
            Output::ok(r#"{"metadata":{"resourceVersion":"10"}}"#)
        } else {
            Output::ok("")
        };
        Ok(Reply::Ran(out))
    });
    let mut o = opts(1);
    o.lease.wait = Duration::from_secs(5);
    let release = deploy::plan::release::Options {
        force_recover: w.force_recover,
        ..common::release_options()
    };
    let (out, log) = common::run_example_with(&r, &jobs, &o, &release);
    let lines = r
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("helm") || l.contains(" lease ") || l.contains(" secret "))
        .filter(|l| !l.starts_with("helm dependency"))
        .collect();
    (out.into_iter().next().unwrap(), log, lines)
}

const UP: &str = "helm upgrade --install --namespace prod --create-namespace prod helm-charts/basehub --wait --timeout 5m --cleanup-on-fail -f config/clusters/gamma/prod.values.yaml";
const RECORDS: &str =
    "kubectl -n prod get secret -l owner=helm,name=prod -o 'jsonpath={.items[*].metadata.labels}'";

#[test]
fn our_own_stuck_revision_is_recovered_at_once_when_its_run_released_the_lease() {
    let (o, log, lines) = run_stuck(Stuck::default());
    assert_eq!(o.status, Status::Succeeded, "{log}");
    // back to the newest revision that was deployed, not to the failed one before the pending;
    // the rollback makes revision 5, so the upgrade makes 6 and says so
    assert_eq!(
        lines[..lines.len() - 1],
        [
            RECORDS.to_string(),
            "helm history prod --namespace prod -o json".to_string(),
            "helm rollback prod 2 --namespace prod --wait --timeout 5m".to_string(),
            format!("{UP} --labels deploy-revision=6,deploy-timeout=5m"),
        ]
    );
    assert!(
        log.contains("release is stuck in pending-upgrade revision 4 (1m old, made by a deploy run with --timeout 5m, description \"Preparing upgrade\"): the run that made it has ended"),
        "{log}"
    );
    let (_, _, lines) = run_stuck(Stuck {
        status: "pending-rollback",
        ..Stuck::default()
    });
    assert_eq!(
        lines[2],
        "helm rollback prod 2 --namespace prod --wait --timeout 5m"
    );
    let (_, _, lines) = run_stuck(Stuck {
        status: "pending-install",
        ..Stuck::default()
    });
    assert_eq!(
        lines[2],
        "helm uninstall prod --namespace prod --wait --timeout 5m"
    );
    assert_eq!(
        lines[3],
        format!("{UP} --labels deploy-revision=1,deploy-timeout=5m")
    );
    for healthy in ["deployed", "failed"] {
        let (o, _, lines) = run_stuck(Stuck {
            status: healthy,
            ..Stuck::default()
        });
        assert_eq!(o.status, Status::Succeeded);
        assert_eq!(
            lines[1],
            format!("{UP} --labels deploy-revision=5,deploy-timeout=5m"),
            "a {healthy} release is just upgraded, marked with the revision it makes"
        );
    }
}

/// A person's own `helm upgrade` (it takes no lease) is pending: never rolled back under it.
#[test]
fn a_recent_pending_revision_that_is_not_ours_is_left_alone_and_fails_the_release() {
    for labels in ["", INHERITED] {
        let (o, log, lines) = run_stuck(Stuck {
            labels,
            age_secs: 90,
            ..Stuck::default()
        });
        assert_eq!(o.status, Status::Failed, "{log}");
        assert!(
            o.message.contains(
                "release prod: pending-upgrade revision 4 (1m 30s old, not made by deploy (a \
                 person's helm, or another tool), description \"Preparing upgrade\"): someone \
                 may still be upgrading it, so it is left alone"
            ) && o.message.contains("--force-recover"),
            "{}",
            o.message
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("helm rollback") || l.starts_with("helm upgrade")),
            "{lines:#?}"
        );
        assert_eq!(
            lines.last().unwrap(),
            "kubectl -n prod delete lease deploy-prod --ignore-not-found"
        );
    }
    // --force-recover: the operator knows nobody is at work on it
    let (o, _, lines) = run_stuck(Stuck {
        labels: "",
        force_recover: true,
        ..Stuck::default()
    });
    assert_eq!(o.status, Status::Succeeded);
    assert!(lines.contains(&"helm rollback prod 2 --namespace prod --wait --timeout 5m".into()));
}

/// Older than this run's --timeout (5m) plus 5 minutes: nobody's helm can still wait on it.
#[test]
fn a_pending_revision_older_than_its_timeout_plus_the_margin_is_recovered() {
    let (o, log, lines) = run_stuck(Stuck {
        labels: INHERITED,
        age_secs: 10 * 60 + 5,
        ..Stuck::default()
    });
    assert_eq!(o.status, Status::Succeeded, "{log}");
    assert!(lines.contains(&"helm rollback prod 2 --namespace prod --wait --timeout 5m".into()));
    // from a clock an hour ahead: it looks new, so it is left alone
    let (o, _, _) = run_stuck(Stuck {
        labels: "",
        age_secs: -3600,
        ..Stuck::default()
    });
    assert_eq!(o.status, Status::Failed);
}

/// A revision of ours whose run died (its lease had to be taken over) may still have its helm
/// running (a deploy killed by SIGKILL leaves helm behind): wait for its own timeout. The lease
/// is then left to expire, so the next run knows it too.
#[test]
fn our_revision_after_a_lease_takeover_waits_for_its_own_timeout_and_keeps_the_lease_expiring() {
    let (o, log, lines) = run_stuck(Stuck {
        dead_lease: true,
        ..Stuck::default()
    });
    assert_eq!(o.status, Status::Failed, "{log}");
    assert!(
        o.message.contains(
            "its run died without releasing the release's lease, and its helm may still be running"
        ),
        "{}",
        o.message
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("delete lease") || l.starts_with("helm rollback")),
        "{lines:#?}"
    );
    // past its own timeout (5m) plus 5 minutes, it is recovered
    let (o, _, lines) = run_stuck(Stuck {
        dead_lease: true,
        age_secs: 10 * 60 + 5,
        ..Stuck::default()
    });
    assert_eq!(o.status, Status::Succeeded);
    assert!(lines.contains(&"helm rollback prod 2 --namespace prod --wait --timeout 5m".into()));
    assert!(lines.last().unwrap().contains("delete lease"));
}

/// A Secret labelled pending by hand while helm's own data says the revision deployed: helm's
/// reading wins, nothing is rolled back.
#[test]
fn a_revision_only_its_label_calls_pending_is_not_recovered() {
    let (o, log, lines) = run_stuck(Stuck {
        history_status: Some("deployed"),
        ..Stuck::default()
    });
    assert_eq!(o.status, Status::Succeeded, "{log}");
    assert!(
        !lines.iter().any(|l| l.starts_with("helm rollback")),
        "{lines:#?}"
    );
    assert!(lines.contains(&format!(
        "{UP} --labels deploy-revision=5,deploy-timeout=5m"
    )));
    assert!(
        log.contains("prod: revision 4 is labelled pending-upgrade but helm reads it as deployed: not recovering it"),
        "{log}"
    );
}
