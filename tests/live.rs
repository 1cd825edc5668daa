//! `--live` orchestration with the recording runner on the example repo: a small world of
//! installed releases answers `helm get …`, and `helm template` renders from the values files
//! each command is given, so what differs is decided exactly as on a cluster.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deploy::cmd::Cmd;
use deploy::config::multi::MultiRepo;
use deploy::execute::live::{self, RenderCache};
use deploy::execute::outcome::{Outcome, Status};
use deploy::execute::prepare::DependencyCache;
use deploy::execute::run::RunOptions;
use deploy::log::{Ci, Log, SharedBuf, Verbosity};
use deploy::plan::jobs::{Job, Kind};
use deploy::plan::live::{CANARY_NOT_NEEDED, Live, NO_CHANGE};
use deploy::plan::multi::{Changes, plan};
use deploy::plan::release::{ReleaseSpec, ValuesFile, ValuesKind};
use deploy::runner::{Output, RecordingRunner, Reply};
use deploy::tools::helm::Capabilities;
use serde_json::{Value, json};

fn repo() -> MultiRepo {
    common::multi_example()
}

fn jobs_for(repo: &MultiRepo, paths: &[&str], labels: &[&str]) -> Vec<Job> {
    let changes = Changes::new(
        paths.iter().map(|p| p.to_string()),
        labels.iter().map(|l| l.to_string()).collect(),
    );
    plan(repo, &changes).unwrap().jobs()
}

fn opts(jobs: usize) -> RunOptions {
    RunOptions {
        live: true,
        ..common::run_options(jobs)
    }
}

/// A release as the world holds it.
#[derive(Clone)]
struct Installed {
    status: &'static str,
    chart_version: Option<&'static str>,
    /// The release's objects differ from what its chart and values render now.
    drifted: bool,
}

impl Installed {
    fn ok() -> Installed {
        Installed {
            status: "deployed",
            chart_version: None,
            drifted: false,
        }
    }
}

/// What each `helm template` and `helm upgrade` ran with, and when.
#[derive(Default)]
struct Seen {
    renders: Vec<(Instant, Instant)>,
}

/// The values files a helm command was given, merged (as helm stores them), and the render:
/// one ConfigMap named after the release holding those values.
fn render_from(args: &[String], root: &Path) -> (Value, String) {
    let mut docs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-f" {
            let f = it.next().unwrap();
            docs.push(
                serde_yaml::from_str::<Value>(&std::fs::read_to_string(root.join(f)).unwrap())
                    .unwrap(),
            );
        }
    }
    let values = deploy::config::values::merge_values(docs);
    let manifest = format!(
        "---\n# Source: chart/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\ndata:\n  values: {}\n",
        args[1],
        serde_json::to_string(&serde_json::to_string(&values).unwrap()).unwrap()
    );
    (values, manifest)
}

/// The cluster a command is for, from its private KUBECONFIG (`…/deploy-<cluster>-XXXXXX/…`).
fn cluster_of(c: &Cmd) -> String {
    let k = c
        .env
        .iter()
        .find(|(k, _)| k == "KUBECONFIG")
        .map(|(_, v)| v.value().to_string())
        .unwrap_or_default();
    let dir = Path::new(&k)
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest = dir.strip_prefix("deploy-").unwrap_or(&dir);
    rest[..rest.rfind('-').unwrap_or(rest.len())].to_string()
}

/// The world: `installed[(cluster, release)]`; a release missing from it is not installed.
fn world(
    installed: BTreeMap<(String, String), Installed>,
    seen: Arc<Mutex<Seen>>,
    render_delay: Duration,
) -> RecordingRunner {
    let root = repo().root;
    RecordingRunner::new(move |c: &Cmd| {
        let args: Vec<String> = c.args.iter().map(|a| a.value().to_string()).collect();
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let ok = |s: &str| Ok(Reply::Ran(Output::ok(s)));
        match (c.program.as_str(), a.as_slice()) {
            ("kubectl", ["version", ..]) => ok(r#"{"serverVersion":{"gitVersion":"v1.29.1"}}"#),
            ("kubectl", ["api-versions"]) => ok("v1\napps/v1\npolicy/v1\n"),
            ("helm", ["template", ..]) => {
                let t0 = Instant::now();
                std::thread::sleep(render_delay);
                seen.lock().unwrap().renders.push((t0, Instant::now()));
                ok(&render_from(&args, &root).1)
            }
            ("helm", ["get", what, release, ..]) => {
                let key = (cluster_of(c), release.to_string());
                let Some(inst) = installed.get(&key) else {
                    return Ok(Reply::Ran(Output::failed(1, "Error: release: not found")));
                };
                // what the release was installed with: the same files, rendered then
                let cluster = repo().load_cluster(&key.0).unwrap();
                let job = Job {
                    kind: if *release == "support" {
                        Kind::Support
                    } else {
                        Kind::Prod
                    },
                    provider: cluster.provider(),
                    cluster: key.0.clone(),
                    release: release.to_string(),
                    reason: String::new(),
                };
                let spec = common::example_plan(&[job]).clusters[0].steps[0]
                    .spec
                    .clone();
                let mut fake_args = vec!["template".to_string(), spec.release.clone()];
                for v in &spec.values {
                    fake_args.push("-f".into());
                    fake_args.push(v.path.clone());
                }
                let (values, mut manifest) = render_from(&fake_args, &root);
                if inst.drifted {
                    manifest =
                        manifest.replace("kind: ConfigMap", "kind: ConfigMap\nimmutable: true");
                }
                let chart_dir = root.join(&spec.chart).join("Chart.yaml");
                let chart: serde_yaml::Value =
                    serde_yaml::from_str(&std::fs::read_to_string(chart_dir).unwrap()).unwrap();
                match *what {
                    "metadata" => ok(&json!({
                        "name": release,
                        "chart": chart["name"].as_str().unwrap(),
                        "version": inst.chart_version.unwrap_or(chart["version"].as_str().unwrap()),
                        "appVersion": chart["appVersion"].as_str().unwrap_or(""),
                        "status": inst.status,
                        "revision": 3,
                    })
                    .to_string()),
                    "manifest" => ok(&manifest),
                    "hooks" => ok(""),
                    "values" => ok(&values.to_string()),
                    _ => panic!("unexpected {args:?}"),
                }
            }
            _ => ok(""),
        }
    })
}

fn run_live(r: &RecordingRunner, jobs: &[Job], o: &RunOptions) -> (Vec<Outcome>, String) {
    common::run_example(r, jobs, o)
}

fn all_installed(jobs: &[Job]) -> BTreeMap<(String, String), Installed> {
    jobs.iter()
        .map(|j| ((j.cluster.clone(), j.release.clone()), Installed::ok()))
        .collect()
}

/// The releases `helm upgrade` ran for, as `cluster/release`.
fn upgraded(r: &RecordingRunner) -> BTreeSet<String> {
    r.calls()
        .iter()
        .filter(|c| c.cmd.line().starts_with("helm upgrade") && !c.cmd.line().contains("--dry-run"))
        .map(|c| format!("{}/{}", cluster_of(&c.cmd), c.cmd.args[5].value()))
        .collect()
}

fn outcome<'a>(out: &'a [Outcome], label: &str) -> &'a Outcome {
    out.iter().find(|o| o.job.label() == label).unwrap()
}

#[test]
fn only_releases_that_would_change_are_upgraded() {
    let repo = repo();
    let jobs = jobs_for(
        &repo,
        &[],
        &["deployer:deploy-hubs", "deployer:deploy-support"],
    );
    let mut installed = all_installed(&jobs);
    installed
        .get_mut(&("alpha".into(), "prod".into()))
        .unwrap()
        .drifted = true;
    installed
        .get_mut(&("beta".into(), "research".into()))
        .unwrap()
        .drifted = true;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let r = world(installed, seen, Duration::ZERO);
    let (out, log) = run_live(&r, &jobs, &opts(4));

    assert_eq!(
        upgraded(&r),
        BTreeSet::from(["alpha/prod".to_string(), "beta/research".to_string()]),
        "{log}"
    );
    for o in &out {
        if ["alpha/prod", "beta/research"].contains(&o.job.label().as_str()) {
            assert_eq!(o.status, Status::Succeeded, "{o:?}");
            assert_eq!(
                o.live.as_deref(),
                Some("changes: 1 changed (ConfigMap/".to_string() + &o.job.release + ")")
                    .as_deref()
            );
            // the check's commands come first in the release's record
            assert!(
                o.commands[0].starts_with("kubectl version"),
                "{:?}",
                o.commands
            );
        } else {
            assert_eq!(o.status, Status::Unchanged, "{o:?}");
            assert_eq!(o.message, NO_CHANGE);
            assert!(!o.commands.iter().any(|c| c.starts_with("helm upgrade")));
        }
    }
    assert!(log.contains("unchanged alpha/staging: no change"), "{log}");
    assert!(
        log.contains("kept      alpha/prod: changes: 1 changed"),
        "{log}"
    );
    // the run's overall result counts unchanged releases as done
    assert_eq!(
        deploy::execute::outcome::Verdict::of(&out),
        deploy::execute::outcome::Verdict::Succeeded
    );
    // a chart that renders the same each time is never asked to render against the cluster
    assert!(!r.lines().iter().any(|l| l.contains("--dry-run")));
    // renders get the cluster's capabilities and render as an upgrade
    let t = r
        .lines()
        .into_iter()
        .find(|l| l.starts_with("helm template prod "))
        .unwrap();
    assert!(
        t.ends_with("--is-upgrade --kube-version v1.29.1 --api-versions apps/v1,policy/v1,v1"),
        "{t}"
    );
}

#[test]
fn canaries_are_dropped_with_the_prod_hubs_they_guard() {
    let repo = repo();
    // alpha's prod values changed: the planner adds alpha/staging as its canary
    let jobs = jobs_for(&repo, &["config/clusters/alpha/prod.values.yaml"], &[]);
    let kinds: Vec<(Kind, &str)> = jobs.iter().map(|j| (j.kind, j.release.as_str())).collect();
    assert_eq!(
        kinds,
        vec![(Kind::Staging, "staging"), (Kind::Prod, "prod")]
    );
    let mut installed = all_installed(&jobs);
    // the staging hub itself differs from its render, but it is only there as a canary
    installed
        .get_mut(&("alpha".into(), "staging".into()))
        .unwrap()
        .drifted = true;
    let r = world(installed.clone(), Arc::default(), Duration::ZERO);
    let (out, log) = run_live(&r, &jobs, &opts(4));
    assert!(upgraded(&r).is_empty(), "{log}");
    assert_eq!(outcome(&out, "alpha/staging").status, Status::Unchanged);
    assert_eq!(outcome(&out, "alpha/staging").message, CANARY_NOT_NEEDED);
    assert_eq!(outcome(&out, "alpha/prod").message, NO_CHANGE);

    // once the prod hub changes, its canary goes first, as without --live
    installed
        .get_mut(&("alpha".into(), "prod".into()))
        .unwrap()
        .drifted = true;
    let r = world(installed, Arc::default(), Duration::ZERO);
    let (out, log) = run_live(&r, &jobs, &opts(4));
    assert_eq!(upgraded(&r).len(), 2, "{log}");
    let lines = r.lines();
    let pos = |rel: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("helm upgrade --install --namespace {rel} ")))
            .unwrap()
    };
    assert!(pos("staging") < pos("prod"));
    assert!(out.iter().all(|o| o.status == Status::Succeeded));
}

#[test]
fn not_installed_not_deployed_and_other_chart_versions_are_kept() {
    let repo = repo();
    let jobs: Vec<Job> = jobs_for(&repo, &[], &["deployer:deploy-hubs"])
        .into_iter()
        .filter(|j| j.cluster == "alpha")
        .collect();
    let mut installed = all_installed(&jobs);
    installed.remove(&("alpha".into(), "prod".into()));
    installed
        .get_mut(&("alpha".into(), "climate".into()))
        .unwrap()
        .status = "failed";
    installed
        .get_mut(&("alpha".into(), "physics".into()))
        .unwrap()
        .chart_version = Some("0.0.1");
    let r = world(installed, Arc::default(), Duration::ZERO);
    let (out, log) = run_live(&r, &jobs, &opts(4));
    assert_eq!(
        upgraded(&r),
        BTreeSet::from([
            "alpha/prod".to_string(),
            "alpha/climate".to_string(),
            "alpha/physics".to_string()
        ]),
        "{log}"
    );
    let live = |l: &str| outcome(&out, l).live.clone().unwrap_or_default();
    assert_eq!(live("alpha/prod"), "not installed yet");
    assert_eq!(
        live("alpha/climate"),
        "release status is failed, not deployed"
    );
    assert_eq!(
        live("alpha/physics"),
        "changes: chart basehub 0.0.1 → basehub 0.1.0"
    );
    assert_eq!(outcome(&out, "alpha/staging").status, Status::Unchanged);
    // a release that is not installed is not rendered or fetched
    assert!(
        !r.lines()
            .iter()
            .any(|l| l.starts_with("helm get manifest prod ")
                || l.starts_with("helm template prod "))
    );
}

#[test]
fn a_failed_check_keeps_the_release_and_says_why() {
    let repo = repo();
    let jobs: Vec<Job> = jobs_for(&repo, &[], &["deployer:deploy-hubs"])
        .into_iter()
        .filter(|j| j.cluster == "gamma")
        .collect();
    let installed = all_installed(&jobs);
    let inner = world(installed, Arc::default(), Duration::ZERO);
    let r = RecordingRunner::new(move |c: &Cmd| {
        if c.line().starts_with("helm get manifest binder") {
            return Ok(Reply::Ran(Output::failed(
                1,
                "Error: Kubernetes cluster unreachable",
            )));
        }
        deploy::runner::Runner::run(&inner, c)
    });
    let (out, log) = run_live(&r, &jobs, &opts(2));
    let binder = outcome(&out, "gamma/binder");
    assert_eq!(binder.status, Status::Succeeded);
    assert!(
        binder
            .live
            .as_deref()
            .unwrap()
            .starts_with("live check failed: helm get manifest: "),
        "{binder:?}"
    );
    assert!(log.contains("gamma/binder: live check failed"), "{log}");
    assert!(log.contains("; kept (as if without --live)"), "{log}");
}

#[test]
fn renders_run_in_parallel_within_the_helm_limit() {
    let repo = repo();
    let jobs = jobs_for(&repo, &[], &["deployer:deploy-hubs"]);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let r = world(
        all_installed(&jobs),
        Arc::clone(&seen),
        Duration::from_millis(150),
    );
    let (out, _) = run_live(&r, &jobs, &opts(3));
    assert!(out.iter().all(|o| o.status == Status::Unchanged));
    let renders = seen.lock().unwrap().renders.clone();
    assert_eq!(renders.len(), jobs.len(), "one render per distinct release");
    let peak = renders
        .iter()
        .map(|(s, _)| renders.iter().filter(|(a, b)| a <= s && s < b).count())
        .max()
        .unwrap();
    assert!((2..=3).contains(&peak), "peak concurrent renders {peak}");
}

/// The render cache, through `execute::live::check` itself: two releases with the same chart,
/// release name, namespace and values contents (two clusters' `support`, say) render once.
#[test]
fn a_render_is_shared_by_releases_with_the_same_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::copy_tree(
        &common::manifest_dir().join("examples/multi-cluster/helm-charts/support"),
        &root.join("helm-charts/support"),
    );
    for (f, text) in [
        ("a/support.values.yaml", "grafana: {enabled: false}\n"),
        ("b/support.values.yaml", "grafana: {enabled: false}\n"),
        ("c/support.values.yaml", "grafana: {enabled: true}\n"),
    ] {
        std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
        std::fs::write(root.join(f), text).unwrap();
    }
    let r = RecordingRunner::new(|c: &Cmd| {
        let line = c.line();
        let out = if line.starts_with("helm get metadata") {
            r#"{"status":"deployed","chart":"support","version":"0.1.0","appVersion":""}"#
        } else if line.starts_with("helm get values") {
            r#"{"grafana": {"enabled": false}}"#
        } else {
            ""
        };
        Ok(Reply::Ran(Output::ok(out)))
    });
    let log = Log::with_sink(Verbosity::Normal, Ci::Plain, Box::new(SharedBuf::default()));
    let deps = DependencyCache::default();
    let cache = RenderCache::default();
    let caps = Capabilities {
        kube_version: "v1.29.1".into(),
        api_versions: vec!["v1".into()],
    };
    let spec = |values: &str| ReleaseSpec {
        release: "support".into(),
        namespace: "support".into(),
        chart: "helm-charts/support".into(),
        chart_override: None,
        dependency_updates: vec!["helm-charts/support".into()],
        values: vec![ValuesFile {
            path: values.into(),
            kind: ValuesKind::Plain,
        }],
        jsonnet_vars: vec![],
        domain_override: None,
        crds: None,
        before: vec![],
        set_string: vec![],
        timeout: "5m".into(),
        force: false,
        force_recover: false,
        wait: deploy::plan::release::Wait::DeploymentsAndDaemonSets,
        health: None,
    };
    let shared = live::Shared {
        root,
        deps: &deps,
        renders: &cache,
        caps: Some(&caps),
    };
    let check = |s: &ReleaseSpec| live::check(&r, &log, &shared, s).0;
    for v in ["a/support.values.yaml", "b/support.values.yaml"] {
        assert_eq!(check(&spec(v)), Live::Unchanged);
    }
    let templates = |r: &RecordingRunner| {
        r.lines()
            .iter()
            .filter(|l| l.starts_with("helm template"))
            .count()
    };
    assert_eq!(templates(&r), 1, "{:#?}", r.lines());
    assert_eq!(cache.renders(), 1);
    let mut other_release = spec("a/support.values.yaml");
    other_release.namespace = "monitoring".into();
    assert_eq!(check(&other_release), Live::Unchanged);
    assert_eq!(templates(&r), 2);
    // other values: another render; it looks changed (its values differ from the release's), so
    // it is rendered once more, uncached, to see whether the chart renders the same each time
    assert!(matches!(
        check(&spec("c/support.values.yaml")),
        Live::Changed(_)
    ));
    assert_eq!(templates(&r), 4);
    assert_eq!(cache.renders(), 3);
    assert!(!r.lines().iter().any(|l| l.contains("--dry-run=server")));
    // one dependency update for the chart, however many releases
    let updates = r
        .lines()
        .iter()
        .filter(|l| l.starts_with("helm dependency update"))
        .count();
    assert_eq!(updates, 1);
}

/// A dry run cannot ask the cluster: everything is kept, and the queries are shown.
#[test]
fn a_dry_run_keeps_everything() {
    let repo = repo();
    let jobs = jobs_for(&repo, &["config/clusters/gamma/prod.values.yaml"], &[]);
    let r = RecordingRunner::new(|c: &Cmd| {
        if c.effect == deploy::cmd::Effect::LocalQuery {
            Ok(Reply::Ran(Output::ok("")))
        } else {
            Ok(Reply::NotRun)
        }
    });
    let mut o = opts(1);
    o.sequential = true;
    let (out, _) = run_live(&r, &jobs, &o);
    assert!(out.iter().all(|o| o.status == Status::DryRun), "{out:#?}");
    assert!(
        out.iter()
            .all(|o| o.live.as_deref() == Some("not checked (dry run)"))
    );
}

/// A chart that renders differently each time (a random secret kept across upgrades with
/// `lookup`, like the JupyterHub chart's) is compared as `helm upgrade --dry-run=server`
/// renders it: `helm template` cannot look the old secret up.
#[test]
fn a_chart_that_renders_differently_each_time_is_compared_as_the_upgrade_renders_it() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let repo = repo();
    let jobs: Vec<Job> = jobs_for(&repo, &["config/clusters/gamma/binder.values.yaml"], &[]);
    assert_eq!(jobs.len(), 1);
    let secret = |token: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: hub}}\ndata: {{token: {token}}}\n")
    };
    for (dry_token, want_upgrade) in [("T0", false), ("T9", true)] {
        let renders = Arc::new(AtomicUsize::new(0));
        let inner = world(all_installed(&jobs), Arc::default(), Duration::ZERO);
        let n = Arc::clone(&renders);
        let r = RecordingRunner::new(move |c: &Cmd| {
            let line = c.line();
            if line.starts_with("helm template") {
                let k = n.fetch_add(1, Ordering::SeqCst);
                return Ok(Reply::Ran(Output::ok(&secret(&format!("R{k}")))));
            }
            if line.starts_with("helm get manifest") {
                return Ok(Reply::Ran(Output::ok(&secret("T0"))));
            }
            if line.contains("--dry-run=server") {
                let release = json!({
                    "manifest": format!("---\n# Source: x\n{}", secret(dry_token)),
                    "hooks": [], "config": {}, "version": 4
                });
                return Ok(Reply::Ran(Output::ok(&release.to_string())));
            }
            deploy::runner::Runner::run(&inner, c)
        });
        let (out, log) = run_live(&r, &jobs, &opts(2));
        let lines = r.lines();
        let dry: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("--dry-run=server"))
            .collect();
        assert_eq!(dry.len(), 1, "{lines:#?}");
        assert!(
            dry[0].starts_with("helm upgrade --install --namespace binder binder helm-charts/binderhub -f config/clusters/gamma/binder.values.yaml --dry-run=server -o json"),
            "{}",
            dry[0]
        );
        assert_eq!(
            renders.load(Ordering::SeqCst),
            2,
            "rendered twice, then asked the cluster"
        );
        assert_eq!(upgraded(&r).len(), usize::from(want_upgrade), "{log}");
        if want_upgrade {
            let note = out[0].live.clone().unwrap();
            assert!(note.contains("1 changed (Secret/hub)"), "{note}");
            assert!(note.contains("renders differently each time"), "{note}");
        } else {
            assert_eq!(out[0].status, Status::Unchanged, "{log}");
        }
    }
}
