//! A plain orchestrator for `scripts/bench-run`: the tool calls `deploy run` makes for a repo of
//! `gen-repo`, in the same order and under the same limits, and nothing else (no checks, no plan,
//! no logs, no records parsed, no report). Its time is what those calls cost on this machine;
//! `deploy run` against it shows what deploy's own work adds.
//!
//! `plain-run JOBS SUPPORT SIZE…` in a repo's folder: SUPPORT is 1 when each cluster deploys its
//! support release first; each SIZE is a cluster's hubs (its staging hub, then SIZE-1 prod hubs).
//!
//! Per cluster, as deploy does (src/execute/cluster.rs, release.rs): two credential calls, then
//! support (its chart's dependencies updated once per run, its lease, records read, the
//! cert-manager CRDs and chart, its upgrade, rollout list, lease given back), then the staging
//! hub, then the prod hubs, JOBS at a time. At most JOBS `helm` processes run at once (every
//! `helm` call counts), and 2×JOBS releases are in flight. A release behind another gets ready
//! (its lease and records) once that one's upgrade has started, if a release slot is free then,
//! and upgrades once that one has rolled out; with JOBS 1 nothing gets ready early. Not modelled:
//! deploy's rule that releases get ready only while no cluster is connecting or preparing a
//! release before prod (measured to make no difference here: docs/performance.md).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, Once};

use deploy::execute::pool::Permits;

const PENDING: u8 = 0;
const UPGRADING: u8 = 1;
const PASSED: u8 = 2;

/// What the releases behind a release wait for: its upgrade started, then it rolled out.
struct Gate {
    state: Mutex<u8>,
    cv: Condvar,
}

impl Gate {
    fn new() -> Self {
        Gate {
            state: Mutex::new(PENDING),
            cv: Condvar::new(),
        }
    }
    fn set(&self, to: u8) {
        *self.state.lock().expect("lock") = to;
        self.cv.notify_all();
    }
    /// Wait until it is at least `at`; where it is then.
    fn wait(&self, at: u8) -> u8 {
        let mut s = self.state.lock().expect("lock");
        while *s < at {
            s = self.cv.wait(s).expect("lock");
        }
        *s
    }
}

/// The charts of a `gen-repo` repo; each one's dependencies are updated once per run.
const CHARTS: [&str; 3] = [
    "helm-charts/support",
    "helm-charts/basehub",
    "helm-charts/daskhub",
];

struct Run {
    jobs: usize,
    helm: Permits,
    in_flight: Permits,
    deps: [Once; 3],
}

/// One call with the cluster's environment, its output read as deploy reads it (within the
/// `helm` limit for helm). A failure ends the program: the benchmark's fakes do not fail.
fn call(run: &Run, config: &str, argv: &[&str], stdin: Option<&str>) {
    call_started(run, config, argv, stdin, &|| {});
}

/// [`call`], telling `started` once the process runs.
fn call_started(run: &Run, config: &str, argv: &[&str], stdin: Option<&str>, started: &dyn Fn()) {
    let helm = argv[0] == "helm";
    if helm {
        run.helm.acquire();
    }
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..])
        .env("KUBECONFIG", format!("{config}/kubeconfig"))
        .env("CLOUDSDK_CONFIG", format!("{config}/gcloud"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let ok = cmd.spawn().and_then(|mut child| {
        started();
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())?;
        }
        let mut out = Vec::new();
        if let Some(mut pipe) = child.stdout.take() {
            pipe.read_to_end(&mut out)?;
        }
        child.wait()
    });
    if helm {
        run.helm.release();
    }
    match ok {
        Ok(status) if status.success() => {}
        other => {
            eprintln!("plain-run: {argv:?}: {other:?}");
            std::process::exit(1);
        }
    }
}

struct Release<'a> {
    ns: String,
    chart: usize,
    support: bool,
    /// It got ready early, and waits here before it changes anything.
    behind: Option<&'a Gate>,
    /// The gate it answers.
    ahead: Option<&'a Gate>,
}

fn release(run: &Run, config: &str, r: &Release<'_>) {
    let ns = r.ns.as_str();
    let chart = CHARTS[r.chart];
    run.deps[r.chart].call_once(|| {
        call(run, config, &["helm", "dependency", "update", chart], None);
    });
    let lease = format!(
        "{{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{{\"name\":\"deploy-{ns}\",\"namespace\":\"{ns}\"}}}}"
    );
    let create = ["kubectl", "create", "-o", "json", "-f", "-"];
    call(run, config, &create, Some(&lease));
    let selector = format!("owner=helm,name={ns}");
    let records = ["kubectl", "-n", ns, "get", "secret", "-l", &selector];
    call(run, config, &records, None);
    if let Some(g) = r.behind {
        g.wait(PASSED);
    }
    if r.support {
        let crds = "https://github.com/cert-manager/cert-manager/releases/download/v1.20.3/cert-manager.crds.yaml";
        call(run, config, &["kubectl", "apply", "-f", crds], None);
        let cert_manager = [
            "helm",
            "upgrade",
            "cert-manager",
            "cert-manager",
            "--install",
        ];
        call(run, config, &cert_manager, None);
    }
    let upgrade = [
        "helm",
        "upgrade",
        "--install",
        "--namespace",
        ns,
        ns,
        chart,
        "--wait",
    ];
    // (the releases behind it get ready once its upgrade has started)
    let upgrading = || {
        if let Some(g) = r.ahead {
            g.set(UPGRADING);
        }
    };
    call_started(run, config, &upgrade, None, &upgrading);
    let workloads = [
        "kubectl",
        "-n",
        ns,
        "get",
        "deployments,daemonsets",
        "-o",
        "name",
    ];
    call(run, config, &workloads, None);
    if let Some(g) = r.ahead {
        g.set(PASSED);
    }
    let lease = format!("deploy-{ns}");
    let give_back = [
        "kubectl",
        "-n",
        ns,
        "delete",
        "lease",
        &lease,
        "--ignore-not-found",
    ];
    call(run, config, &give_back, None);
}

/// A release in a release slot; behind `gate`, ready early when a slot is free as the release
/// before it starts upgrading, else once that one has passed.
fn in_flight<'g>(run: &Run, config: &str, mut r: Release<'g>, gate: Option<&'g Gate>) {
    if let Some(g) = gate {
        if run.jobs > 1 && g.wait(UPGRADING) == UPGRADING && run.in_flight.try_acquire() {
            r.behind = Some(g);
            release(run, config, &r);
            run.in_flight.release();
            return;
        }
        g.wait(PASSED);
    }
    run.in_flight.acquire();
    release(run, config, &r);
    run.in_flight.release();
}

fn cluster(run: &Run, c: usize, support: bool, hubs: usize) {
    let dir = std::env::temp_dir().join(format!("plain-run-{}-{c}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("plain-run: {}: {e}", dir.display());
        std::process::exit(1);
    }
    let config = dir.to_str().unwrap_or(".");
    let key =
        format!("--key-file=config/clusters/cluster-{c:04}/enc-deployer-credentials.secret.json");
    let login = ["gcloud", "auth", "activate-service-account", &key];
    call(run, config, &login, None);
    let name = format!("cluster-{c:04}");
    let credentials = ["gcloud", "container", "clusters", "get-credentials", &name];
    call(run, config, &credentials, None);
    let (first, staged) = (&Gate::new(), &Gate::new());
    let next = &AtomicUsize::new(1);
    let release = |ns: String, chart, support, ahead| Release {
        ns,
        chart,
        support,
        behind: None,
        ahead,
    };
    std::thread::scope(|s| {
        if support {
            s.spawn(move || {
                let r = release("support".into(), 0, true, Some(first));
                in_flight(run, config, r, None);
            });
        }
        s.spawn(move || {
            let r = release("staging".into(), 1, false, Some(staged));
            in_flight(run, config, r, support.then_some(first));
        });
        // the prod hubs, JOBS workers taking the next one (gen-repo: every fourth one's chart
        // is daskhub)
        for _ in 0..run.jobs.min(hubs.saturating_sub(1)) {
            s.spawn(move || {
                loop {
                    let h = next.fetch_add(1, Ordering::SeqCst);
                    if h >= hubs {
                        break;
                    }
                    let chart = if h % 4 == 3 { 2 } else { 1 };
                    let r = release(format!("hub-{h:02}"), chart, false, None);
                    in_flight(run, config, r, Some(staged));
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Option<Vec<usize>> = args.iter().map(|a| a.parse().ok()).collect();
    let Some([jobs, support, sizes @ ..]) = numbers.as_deref() else {
        eprintln!("usage: plain-run JOBS SUPPORT(0|1) SIZE…");
        std::process::exit(2);
    };
    if *jobs == 0 || *support > 1 {
        eprintln!("usage: plain-run JOBS SUPPORT(0|1) SIZE…   (JOBS at least 1)");
        std::process::exit(2);
    }
    let run = Run {
        jobs: *jobs,
        helm: Permits::new(*jobs),
        in_flight: Permits::new(jobs * 2),
        deps: [Once::new(), Once::new(), Once::new()],
    };
    std::thread::scope(|s| {
        for (c, &hubs) in sizes.iter().enumerate() {
            let run = &run;
            s.spawn(move || cluster(run, c, *support == 1, hubs));
        }
    });
}
