//! A plain orchestrator for `scripts/bench-run`: the tool calls `deploy run` makes for a repo of
//! `gen-repo`, in the same order and under the same limits, and nothing else (no checks, no plan,
//! no logs, no records parsed, no report). Its time is what those calls cost on this machine;
//! `deploy run` against it shows what deploy's own work adds.
//!
//! `plain-run JOBS SUPPORT SIZE…` in a repo's folder: SUPPORT is 1 when each cluster deploys its
//! support release first; each SIZE is a cluster's hubs (its staging hub, then SIZE-1 prod hubs).
//!
//! Per cluster, as deploy does: two credential calls, then support (its lease, records, the
//! cert-manager CRDs and chart, its upgrade, rollout, lease given back), then the staging hub,
//! then the prod hubs in parallel. A release behind another takes its lease and reads its records
//! once that one's upgrade has started, and upgrades once it has rolled out. At most JOBS
//! `helm` processes run at once, and 2×JOBS releases are in flight.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, Once};

/// A counting semaphore.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    fn new(n: usize) -> Self {
        Slots {
            free: Mutex::new(n),
            cv: Condvar::new(),
        }
    }
    fn take(&self) {
        let mut free = self.free.lock().expect("lock");
        while *free == 0 {
            free = self.cv.wait(free).expect("lock");
        }
        *free -= 1;
    }
    fn give(&self) {
        *self.free.lock().expect("lock") += 1;
        self.cv.notify_one();
    }
}

/// What the releases behind a release wait for: its upgrade started (1), it rolled out (2).
struct Gate {
    state: Mutex<u8>,
    cv: Condvar,
}

impl Gate {
    fn new() -> Self {
        Gate {
            state: Mutex::new(0),
            cv: Condvar::new(),
        }
    }
    fn set(&self, to: u8) {
        *self.state.lock().expect("lock") = to;
        self.cv.notify_all();
    }
    fn wait(&self, for_: u8) {
        let mut s = self.state.lock().expect("lock");
        while *s < for_ {
            s = self.cv.wait(s).expect("lock");
        }
    }
}

/// The charts of a `gen-repo` repo; each one's dependencies are updated once per run.
const CHARTS: [&str; 3] = [
    "helm-charts/support",
    "helm-charts/basehub",
    "helm-charts/daskhub",
];

struct Run {
    helm: Slots,
    in_flight: Slots,
    deps: [Once; 3],
}

/// One call with the cluster's environment, its output read as deploy reads it.
fn call(config: &str, argv: &[&str], stdin: Option<&str>) {
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
    let mut child = cmd.spawn().expect("start a tool");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let mut out = Vec::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_end(&mut out).expect("read stdout");
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "{argv:?} failed");
}

struct Release<'a> {
    ns: String,
    chart: usize,
    support: bool,
    behind: Option<&'a Gate>,
    ahead: Option<&'a Gate>,
}

fn release(run: &Run, config: &str, r: &Release<'_>) {
    let ns = r.ns.as_str();
    let chart = CHARTS[r.chart];
    run.deps[r.chart].call_once(|| call(config, &["helm", "dependency", "update", chart], None));
    let lease = format!(
        "{{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{{\"name\":\"deploy-{ns}\",\"namespace\":\"{ns}\"}}}}"
    );
    call(
        config,
        &["kubectl", "create", "-o", "json", "-f", "-"],
        Some(&lease),
    );
    let selector = format!("owner=helm,name={ns}");
    call(
        config,
        &["kubectl", "-n", ns, "get", "secret", "-l", &selector],
        None,
    );
    if let Some(g) = r.behind {
        g.wait(2);
    }
    if r.support {
        let crds = "https://github.com/cert-manager/cert-manager/releases/download/v1.20.3/cert-manager.crds.yaml";
        call(config, &["kubectl", "apply", "-f", crds], None);
        run.helm.take();
        call(
            config,
            &[
                "helm",
                "upgrade",
                "cert-manager",
                "cert-manager",
                "--install",
            ],
            None,
        );
        run.helm.give();
    }
    run.helm.take();
    if let Some(g) = r.ahead {
        g.set(1);
    }
    call(
        config,
        &[
            "helm",
            "upgrade",
            "--install",
            "--namespace",
            ns,
            ns,
            chart,
            "--wait",
        ],
        None,
    );
    run.helm.give();
    call(
        config,
        &[
            "kubectl",
            "-n",
            ns,
            "get",
            "deployments,daemonsets",
            "-o",
            "name",
        ],
        None,
    );
    if let Some(g) = r.ahead {
        g.set(2);
    }
    let lease = format!("deploy-{ns}");
    call(
        config,
        &[
            "kubectl",
            "-n",
            ns,
            "delete",
            "lease",
            &lease,
            "--ignore-not-found",
        ],
        None,
    );
}

fn cluster(run: &Run, c: usize, support: bool, hubs: usize) {
    let dir = tempfile_dir(c);
    let config = dir.as_str();
    let key =
        format!("--key-file=config/clusters/cluster-{c:04}/enc-deployer-credentials.secret.json");
    call(
        config,
        &["gcloud", "auth", "activate-service-account", &key],
        None,
    );
    let name = format!("cluster-{c:04}");
    call(
        config,
        &["gcloud", "container", "clusters", "get-credentials", &name],
        None,
    );
    let (first, staged) = (Gate::new(), Gate::new());
    let (first, staged) = (&first, &staged);
    std::thread::scope(|s| {
        let in_order = |r: Release<'_>| {
            run.in_flight.take();
            release(run, config, &r);
            run.in_flight.give();
        };
        if support {
            let ahead = Some(first);
            s.spawn(move || {
                in_order(Release {
                    ns: "support".into(),
                    chart: 0,
                    support: true,
                    behind: None,
                    ahead,
                })
            });
        }
        let behind = support.then_some(first);
        s.spawn(move || {
            if let Some(g) = behind {
                g.wait(1);
            }
            in_order(Release {
                ns: "staging".into(),
                chart: 1,
                support: false,
                behind,
                ahead: Some(staged),
            });
        });
        for h in 1..hubs {
            s.spawn(move || {
                staged.wait(1);
                // (gen-repo: every fourth hub's chart is daskhub)
                let chart = if h % 4 == 3 { 2 } else { 1 };
                in_order(Release {
                    ns: format!("hub-{h:02}"),
                    chart,
                    support: false,
                    behind: Some(staged),
                    ahead: None,
                });
            });
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// A private folder for the cluster's credentials, as deploy makes one.
fn tempfile_dir(c: usize) -> String {
    let dir = std::env::temp_dir().join(format!("plain-run-{}-{c}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("make a folder");
    dir.display().to_string()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let [jobs, support, sizes @ ..] = args.as_slice() else {
        eprintln!("usage: plain-run JOBS SUPPORT(0|1) SIZE…");
        std::process::exit(2);
    };
    let run = Run {
        helm: Slots::new(*jobs),
        in_flight: Slots::new(jobs * 2),
        deps: [Once::new(), Once::new(), Once::new()],
    };
    std::thread::scope(|s| {
        for (c, &hubs) in sizes.iter().enumerate() {
            let run = &run;
            s.spawn(move || cluster(run, c, *support == 1, hubs));
        }
    });
}
