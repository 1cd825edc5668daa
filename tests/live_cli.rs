//! `deploy plan --live` and `deploy run --live` as a user runs them, against the fake tools: a
//! fake helm answers `helm get …` from installed releases written by [`install`].

mod common;

use common::{Fixture, Output, Test, text};
use deploy::config::multi::MultiRepo;
use deploy::plan::jobs::{Job, Kind};
use serde_json::{Value, json};

/// Make `release` of `cluster` installed as the repo would deploy it now; `drifted`: its objects
/// differ from what its chart renders.
fn install(f: &Fixture, cluster: &str, release: &str, drifted: bool) {
    let repo = MultiRepo::load(&f.root).unwrap();
    let c = repo.load_cluster(cluster).unwrap();
    let job = Job {
        kind: Kind::Prod,
        provider: c.provider(),
        cluster: cluster.into(),
        release: release.into(),
        reason: String::new(),
    };
    let plan = deploy::plan::run_plan::build(&repo, &[job], &common::release_options()).unwrap();
    let spec = plan.clusters[0].steps[0].spec.clone();
    let docs = spec.values.iter().map(|v| {
        serde_yaml::from_str::<Value>(&std::fs::read_to_string(f.root.join(&v.path)).unwrap())
            .unwrap()
    });
    let values = deploy::config::values::merge_values(docs);
    let chart: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(f.root.join(&spec.chart).join("Chart.yaml")).unwrap(),
    )
    .unwrap();
    let dir = f.fake.join("live").join(release);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = json!({
        "name": release, "namespace": release, "revision": 1, "status": "deployed",
        "chart": chart["name"].as_str().unwrap(),
        "version": chart["version"].as_str().unwrap(),
        "appVersion": chart["appVersion"].as_str().unwrap_or(""),
    });
    std::fs::write(dir.join("metadata.json"), meta.to_string()).unwrap();
    std::fs::write(dir.join("values.json"), values.to_string()).unwrap();
    let render = format!(
        "---\n# Source: basehub/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {release}-config\ndata:\n  v: \"1\"\n"
    );
    // the same objects, written differently (as helm stores them: no comments, other order)
    let live = if drifted {
        format!(
            "apiVersion: v1\nkind: ConfigMap\ndata: {{v: \"0\"}}\nmetadata: {{name: {release}-config}}\n"
        )
    } else {
        format!(
            "kind: ConfigMap\ndata: {{v: '1'}}\napiVersion: v1\nmetadata: {{name: {release}-config}}\n"
        )
    };
    std::fs::write(dir.join("manifest"), live).unwrap();
    std::fs::create_dir_all(f.fake.join("render")).unwrap();
    std::fs::write(f.fake.join("render").join(release), render).unwrap();
}

/// alpha's common values changed: its four hubs are planned; only physics would change.
fn alpha_fixture() -> Fixture {
    let f = Fixture::multi();
    for (hub, drifted) in [
        ("staging", false),
        ("prod", false),
        ("physics", true),
        ("climate", false),
    ] {
        install(&f, "alpha", hub, drifted);
    }
    f
}

/// `deploy args…`, which must succeed.
fn ok<'f>(f: &'f Fixture, args: &[&str]) -> Output<'f> {
    f.test().args(args).run()
}

const CHANGED: &str = "config/clusters/alpha/common.values.yaml";

fn helm_calls(f: &Fixture, prefix: &str) -> Vec<String> {
    f.calls()
        .into_iter()
        .filter(|c| c.starts_with(prefix))
        .collect()
}

#[test]
fn plan_live_drops_unchanged_releases_and_says_why() {
    let f = alpha_fixture();
    let out = ok(&f, &["plan", "--live", "--format", "json", CHANGED]);
    let plan = out.json();
    assert_eq!(
        plan["prod-jobs"],
        json!([{
            "provider": "gcp", "cluster_name": "alpha", "hub_name": "physics",
            "reason_for_redeploy": "values files changed: config/clusters/alpha/common.values.yaml",
            "choice_reason": "values files changed: config/clusters/alpha/common.values.yaml",
            "live": "changes: 1 changed (ConfigMap/physics-config)"
        }])
    );
    assert_eq!(plan["staging-jobs"], json!([]));
    let dropped: Vec<(&str, &str, &str)> = plan["dropped-jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap(),
                d["hub_name"].as_str().unwrap(),
                d["dropped_because"].as_str().unwrap(),
            )
        })
        .collect();
    let nc = "no change (rendered manifests equal live release)";
    assert_eq!(
        dropped,
        vec![
            ("staging", "staging", nc),
            ("prod", "climate", nc),
            ("prod", "prod", nc)
        ]
    );
    // the key order of the matrix JSON stays; dropped-jobs comes last
    let s = &out.stdout;
    assert!(
        s.starts_with("{\"support-jobs\":[],\"staging-jobs\":[],\"prod-jobs\":[{"),
        "{s}"
    );
    assert!(
        out.stderr
            .contains("live check: 3 of 4 planned release(s) unchanged")
    );
    // what the upgrade would change, object by object, after the kept release's line
    let kept = "kept      alpha/physics: changes: 1 changed (ConfigMap/physics-config)\n";
    let diff = "  --- live/ConfigMap/physics-config\n  +++ upgrade/ConfigMap/physics-config\n  @@ -1,6 +1,6 @@\n   apiVersion: v1\n   data:\n  -  v: '0'\n  +  v: '1'\n";
    assert!(
        out.stderr.contains(&format!("{kept}{diff}")),
        "{}",
        out.stderr
    );
    // nothing was upgraded or installed: a plan only reads
    assert!(helm_calls(&f, "helm upgrade").is_empty());
    // one render each, and one more for the changed one (does the chart render the same twice?)
    assert_eq!(helm_calls(&f, "helm template").len(), 5);
    assert_eq!(helm_calls(&f, "helm get metadata").len(), 4);

    let md = ok(&f, &["plan", "--live", "--format", "markdown", CHANGED]);
    insta::assert_snapshot!("plan_live_markdown", md.stdout);
    let table = ok(&f, &["plan", "--live", "--format", "table", CHANGED]);
    insta::assert_snapshot!("plan_live_table", table.stdout);
}

#[test]
fn plan_without_live_is_unchanged_by_the_feature() {
    let f = alpha_fixture();
    // a plan without --live starts nothing
    let out = f
        .test()
        .args(["plan", "--format", "json", CHANGED])
        .no_calls()
        .run();
    let s = out.stdout;
    assert!(
        !s.contains("dropped-jobs") && !s.contains("\"live\""),
        "{s}"
    );
}

#[test]
fn run_live_upgrades_only_what_changes_and_reports_the_rest_unchanged() {
    let f = alpha_fixture();
    let out = ok(&f, &["run", "--live", "--report", "report.json", CHANGED]);
    let upgrades = helm_calls(&f, "helm upgrade");
    assert_eq!(upgrades.len(), 1, "{upgrades:?}");
    assert!(
        upgrades[0].contains(" physics helm-charts/basehub "),
        "{upgrades:?}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(f.root.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["status"], "succeeded");
    let rows: Vec<(String, String, String)> = report["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["release"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["live"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        rows,
        vec![
            s("staging", "unchanged", "-"),
            s("climate", "unchanged", "-"),
            s(
                "physics",
                "succeeded",
                "changes: 1 changed (ConfigMap/physics-config)"
            ),
            s("prod", "unchanged", "-"),
        ]
    );
    let stderr = &out.stderr;
    assert!(
        stderr.contains("unchanged alpha/prod: no change (rendered manifests equal live release)"),
        "{stderr}"
    );
    // an unchanged staging hub is not a failed one: filter-prod keeps the cluster's prod jobs
    let plan = ok(&f, &["plan", "--format", "json", CHANGED]);
    f.write("plan.json", &plan.stdout);
    let filtered = ok(
        &f,
        &[
            "filter-prod",
            "--plan",
            "plan.json",
            "--results",
            "report.json",
        ],
    );
    let prods = filtered.json();
    assert_eq!(prods.as_array().unwrap().len(), 3, "{prods}");
}

#[test]
fn live_true_in_deploy_yaml_is_the_default_and_no_live_turns_it_off() {
    let f = alpha_fixture();
    let y = std::fs::read_to_string(f.root.join("deploy.yaml")).unwrap_or_default();
    f.write("deploy.yaml", format!("{y}\nlive: true\n"));
    let out = ok(&f, &["plan", "--format", "json", CHANGED]);
    assert!(out.stdout.contains("dropped-jobs"));
    f.clear_calls();
    ok(&f, &["run", "--no-live", CHANGED]);
    assert_eq!(helm_calls(&f, "helm upgrade").len(), 4);
    assert!(helm_calls(&f, "helm get").is_empty());
    // the last of --live / --no-live wins
    f.clear_calls();
    ok(
        &f,
        &["plan", "--no-live", "--live", "--format", "json", CHANGED],
    );
    assert_eq!(helm_calls(&f, "helm get metadata").len(), 4);
}

#[test]
fn run_live_dry_run_shows_the_queries_and_keeps_everything() {
    let f = alpha_fixture();
    let out = ok(&f, &["run", "--live", "--dry-run", CHANGED]);
    let stdout = &out.stdout;
    assert!(
        stdout.contains("helm get metadata physics --namespace physics -o json"),
        "{stdout}"
    );
    assert!(
        stdout.contains("helm upgrade --install --namespace physics"),
        "{stdout}"
    );
    assert!(out.stderr.contains("not checked (dry run)"));
    assert!(helm_calls(&f, "helm get").is_empty());
}

#[test]
fn live_needs_the_multi_cluster_layout() {
    Test::example()
        .args(["plan", "--live", "user-images/ea-hub/Dockerfile"])
        .status(2)
        .stderr_contains("--live (or `live: true` in deploy.yaml) needs the multi-cluster layout")
        .no_calls()
        .run();
}

#[test]
fn plan_live_without_helm_is_a_usage_error_before_anything_runs() {
    let f = alpha_fixture();
    assert!(
        f.calls().is_empty(),
        "installing the releases called nothing"
    );
    f.test()
        .remove_tool("helm")
        .args(["plan", "--live", CHANGED])
        .status(2)
        .stderr_contains("helm")
        .no_calls()
        .run();
}

#[test]
fn plan_live_keeps_the_jobs_of_a_cluster_it_cannot_reach_and_warns() {
    let f = alpha_fixture();
    let out = f
        .test()
        .args(["plan", "--live", "--format", "json", CHANGED])
        .env("FAKE_FAIL", "gcloud auth")
        .stderr_contains("alpha: not checked: cluster credentials failed")
        .run();
    let plan = out.json();
    let kept: Vec<&Value> = plan["staging-jobs"]
        .as_array()
        .unwrap()
        .iter()
        .chain(plan["prod-jobs"].as_array().unwrap())
        .collect();
    assert_eq!(kept.len(), 4, "{plan}");
    for j in kept {
        assert!(
            j["live"]
                .as_str()
                .unwrap()
                .starts_with("not checked: cluster credentials failed: "),
            "{j}"
        );
    }
    assert_eq!(plan["dropped-jobs"], json!([]));
}

#[test]
fn a_plan_from_plan_live_runs_only_the_kept_jobs() {
    let f = alpha_fixture();
    let out = ok(&f, &["plan", "--live", "--format", "json", CHANGED]);
    f.write("plan.json", &out.stdout);
    f.clear_calls();
    ok(&f, &["run", "--plan", "plan.json"]);
    let upgrades = helm_calls(&f, "helm upgrade");
    assert_eq!(upgrades.len(), 1, "{upgrades:?}");
    assert!(upgrades[0].contains(" physics helm-charts/basehub "));
}

#[test]
fn sigterm_during_plan_live_exits_130() {
    let f = alpha_fixture();
    let (out, _) = f.interrupt_at("helm template", &["plan", "--live", CHANGED]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "no plan is printed: {}",
        text(&out.stdout)
    );
    assert!(
        !text(&out.stderr).contains("kept (as if"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn sigterm_during_the_live_check_of_a_run_upgrades_nothing_and_exits_130() {
    let f = alpha_fixture();
    let (out, _) = f.interrupt_at(
        "helm template",
        &["run", "--live", "--report", "report.json", CHANGED],
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(helm_calls(&f, "helm upgrade").is_empty());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(f.root.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["status"], "interrupted");
}

#[test]
fn plan_live_github_outputs_include_the_dropped_jobs() {
    let f = alpha_fixture();
    let (gh_out, gh_sum) = (f.root.join("gh-output"), f.root.join("gh-summary"));
    f.test()
        .args(["plan", "--live", "--format", "github", CHANGED])
        .env("GITHUB_OUTPUT", &gh_out)
        .env("GITHUB_STEP_SUMMARY", &gh_sum)
        .run();
    let out = std::fs::read_to_string(&gh_out).unwrap();
    let dropped = out
        .lines()
        .find_map(|l| l.strip_prefix("dropped-jobs="))
        .expect("a dropped-jobs output");
    let dropped: Value = serde_json::from_str(dropped).unwrap();
    assert_eq!(dropped.as_array().unwrap().len(), 3);
    assert!(out.contains(
        "prod-jobs=[{\"provider\":\"gcp\",\"cluster_name\":\"alpha\",\"hub_name\":\"physics\""
    ));
    let summary = std::fs::read_to_string(&gh_sum).unwrap();
    assert!(summary.contains("<details>"), "{summary}");
}

/// A CI matrix job runs one release: `--live` (or `live: true`) skips it when unchanged.
#[test]
fn upgrade_hub_and_upgrade_support_take_live_too() {
    let f = alpha_fixture();
    ok(
        &f,
        &[
            "upgrade-hub",
            "alpha",
            "prod",
            "--live",
            "--report",
            "r.json",
        ],
    );
    assert!(helm_calls(&f, "helm upgrade").is_empty());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(f.root.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["releases"][0]["status"], "unchanged");
    ok(&f, &["upgrade-hub", "alpha", "physics", "--live"]);
    assert_eq!(helm_calls(&f, "helm upgrade").len(), 1);
    // support is not installed in this fixture: kept, and upgraded (after cert-manager)
    ok(&f, &["upgrade-support", "alpha", "--live"]);
    assert_eq!(helm_calls(&f, "helm upgrade --install").len(), 2);
    assert_eq!(helm_calls(&f, "helm upgrade cert-manager").len(), 1);
    // without --live, always
    ok(&f, &["upgrade-hub", "alpha", "prod"]);
    assert_eq!(helm_calls(&f, "helm upgrade --install").len(), 3);
}
