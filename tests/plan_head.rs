//! `deploy plan --base A --head B` reads B's config from git (deploy.yaml, cluster files, charts),
//! wherever the work tree is; deleted files and files that exist nowhere, on a real git history.

mod common;

use common::{Fixture, git};
use serde_json::Value;

const C1: &str = "name: c1
provider: gcp
gcp: {key: key.secret.json, project: p, cluster: k, zone: z1}
support:
  helm_chart_values_files: [support.values.yaml]
hubs:
- name: staging
  helm_chart: basehub
  helm_chart_values_files: [common.values.yaml, staging.values.yaml]
- name: hub-a
  helm_chart: basehub
  helm_chart_values_files: [common.values.yaml, hub-a.values.yaml, hub-a-extra.values.yaml]
- name: hub-b
  helm_chart: basehub
  helm_chart_values_files: [common.values.yaml, hub-b.values.yaml]
- name: dask
  helm_chart: daskhub
  helm_chart_values_files: [dask.values.yaml]
";

const C2: &str = "name: c2
provider: gcp
gcp: {key: key.secret.json, project: p, cluster: k, zone: z1}
hubs:
- name: staging
  helm_chart: basehub
  helm_chart_values_files: [staging.values.yaml]
- name: prod
  helm_chart: daskhub
  helm_chart_values_files: [prod.values.yaml]
";

const DASKHUB: &str = "apiVersion: v2
name: daskhub
version: 0.1.0
dependencies:
- name: basehub
  version: 0.1.0
  repository: file://../basehub
";

/// Two clusters, basehub and daskhub (which depends on basehub), committed.
fn repo() -> Fixture {
    let f = Fixture::empty();
    f.write("config/clusters/c1/cluster.yaml", C1);
    for v in [
        "support",
        "common",
        "staging",
        "hub-a",
        "hub-a-extra",
        "hub-b",
        "dask",
    ] {
        f.write(&format!("config/clusters/c1/{v}.values.yaml"), "x: 1\n");
    }
    f.write("config/clusters/c2/cluster.yaml", C2);
    for v in ["staging", "prod"] {
        f.write(&format!("config/clusters/c2/{v}.values.yaml"), "x: 1\n");
    }
    f.write(
        "helm-charts/basehub/Chart.yaml",
        "apiVersion: v2\nname: basehub\nversion: 0.1.0\n",
    );
    f.write("helm-charts/basehub/values.yaml", "x: 1\n");
    f.write("helm-charts/basehub/templates/extra.yaml", "kind: List\n");
    f.write("helm-charts/daskhub/Chart.yaml", DASKHUB);
    f.commit_all("base");
    f
}

fn edit(f: &Fixture, path: &str, from: &str, to: &str) {
    let p = f.root.join(path);
    let t = std::fs::read_to_string(&p).unwrap();
    assert!(t.contains(from), "{path}: {from}");
    std::fs::write(p, t.replacen(from, to, 1)).unwrap();
}

fn rev(f: &Fixture, r: &str) -> String {
    git(&f.root, &["rev-parse", r]).trim().to_string()
}

/// The JSON plan and the notices.
fn plan(f: &Fixture, args: &[&str]) -> (Value, String) {
    let out = f.test().arg("plan").args(args).no_calls().run();
    (out.json(), out.stderr)
}

fn jobs(v: &Value, kind: &str) -> Vec<String> {
    common::plan_jobs(v, kind)
}

#[test]
fn the_plan_of_a_head_revision_does_not_depend_on_the_work_tree() {
    let f = repo();
    let base = rev(&f, "HEAD");
    // B: a shared values file, a new hub, a chart values file
    edit(&f, "config/clusters/c1/common.values.yaml", "x: 1", "x: 2");
    edit(
        &f,
        "config/clusters/c1/cluster.yaml",
        "- name: dask\n",
        "- name: hub-c\n  helm_chart: basehub\n  helm_chart_values_files: [hub-b.values.yaml]\n- name: dask\n",
    );
    edit(&f, "helm-charts/basehub/values.yaml", "x: 1", "x: 2");
    f.commit_all("B");
    let head = rev(&f, "HEAD");
    // later, where the work tree is: everything B's plan depends on is different
    edit(
        &f,
        "config/clusters/c1/cluster.yaml",
        "[common.values.yaml, hub-b.values.yaml]",
        "[hub-b.values.yaml]",
    );
    edit(
        &f,
        "config/clusters/c1/cluster.yaml",
        "name: hub-c",
        "name: hub-e",
    );
    edit(
        &f,
        "helm-charts/daskhub/Chart.yaml",
        "file://../basehub",
        "https://x.org",
    );
    f.remove("config/clusters/c2/cluster.yaml");
    f.write("deploy.yaml", "plan:\n  ignore: [helm-charts/**]\n");
    f.commit_all("later");

    let args = ["--base", base.as_str(), "--head", head.as_str()];
    let at_later = plan(&f, &args);
    git(&f.root, &["checkout", "-q", &head]);
    let at_head = plan(&f, &args);
    assert_eq!(at_later, at_head, "the work tree changed the plan");

    let (v, stderr) = at_head;
    let chart = "chart basehub changed: helm-charts/basehub/values.yaml";
    let dask = "chart basehub (a dependency of daskhub) changed: helm-charts/basehub/values.yaml";
    let common = "values files changed: config/clusters/c1/common.values.yaml";
    assert_eq!(jobs(&v, "support-jobs"), Vec::<String>::new());
    assert_eq!(
        jobs(&v, "staging-jobs"),
        [
            format!("c1/staging: {common}; {chart}"),
            format!("c2/staging: {chart}"),
        ]
    );
    assert_eq!(
        jobs(&v, "prod-jobs"),
        [
            format!("c1/dask: {dask}"),
            format!("c1/hub-a: {common}; {chart}"),
            format!("c1/hub-b: {common}; {chart}"),
            format!(
                "c1/hub-c: {chart}; cluster.yaml changed (hub hub-c added): config/clusters/c1/cluster.yaml"
            ),
            format!("c2/prod: {dask}"),
        ]
    );
    assert_eq!(stderr, "");
}

#[test]
fn a_deleted_values_file_is_not_a_values_change() {
    let f = repo();
    let base = rev(&f, "HEAD");
    // hub-a no longer lists the file it lost; hub-b still lists the one it lost
    f.remove("config/clusters/c1/hub-a-extra.values.yaml");
    edit(
        &f,
        "config/clusters/c1/cluster.yaml",
        ", hub-a-extra.values.yaml]",
        "]",
    );
    f.remove("config/clusters/c1/hub-b.values.yaml");
    f.commit_all("delete two values files");
    let head = rev(&f, "HEAD");
    let want_prod = [
        "c1/hub-a: cluster.yaml changed (hub hub-a entry changed): config/clusters/c1/cluster.yaml",
    ];
    let want_notice = "warning: config/clusters/c1/hub-b.values.yaml: deleted, but \
        config/clusters/c1/cluster.yaml still lists it (hub hub-b): a deploy of it fails until \
        the file is restored or taken out of the list; the deletion alone plans nothing\n";
    // head from git with the work tree at the base, head from git, and the work tree as head
    git(&f.root, &["checkout", "-q", &base]);
    let from_base = plan(&f, &["--base", &base, "--head", &head]);
    git(&f.root, &["checkout", "-q", &head]);
    for (v, stderr) in [
        from_base,
        plan(&f, &["--base", &base, "--head", &head]),
        plan(&f, &["--base", &base]),
    ] {
        assert_eq!(jobs(&v, "prod-jobs"), want_prod);
        assert_eq!(
            jobs(&v, "staging-jobs"),
            ["c1/staging: staging canary for prod hubs: hub-a"]
        );
        assert_eq!(stderr, want_notice);
    }
}

#[test]
fn a_deleted_chart_file_is_a_change_of_its_chart() {
    let f = repo();
    f.remove("helm-charts/basehub/templates/extra.yaml");
    f.commit_all("delete a template");
    let (v, stderr) = plan(&f, &["--base", "HEAD~1", "--head", "HEAD"]);
    let (direct, dask) = (
        "chart basehub changed: helm-charts/basehub/templates/extra.yaml",
        "chart basehub (a dependency of daskhub) changed: helm-charts/basehub/templates/extra.yaml",
    );
    assert_eq!(
        jobs(&v, "prod-jobs"),
        [
            format!("c1/dask: {dask}"),
            format!("c1/hub-a: {direct}"),
            format!("c1/hub-b: {direct}"),
            format!("c2/prod: {dask}"),
        ]
    );
    assert_eq!(stderr, "");
    // without git, a path that is not in the work tree may be a typo: reported, not planned
    let (v, stderr) = plan(&f, &["helm-charts/basehub/templates/extra.yaml"]);
    assert_eq!(jobs(&v, "prod-jobs"), Vec::<String>::new());
    assert!(
        stderr.contains(
            "helm-charts/basehub/templates/extra.yaml: not in the work tree, so nothing is planned"
        ),
        "{stderr}"
    );
}
