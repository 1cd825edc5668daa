//! `deploy plan --base REV` on a real temporary git repo: cluster.yaml edits are diffed, so only
//! what the difference touches is redeployed.

mod common;

use common::Fixture;
use serde_json::Value;

const CLUSTER: &str = "name: c1
provider: gcp
metadata:
  2i2c:
    hubspot_deal_id: 1
gcp:
  key: key.secret.json
  project: p
  cluster: k
  zone: z1
support:
  helm_chart_values_files: [support.values.yaml]
hubs:
- name: staging
  domain: staging.example.org
  helm_chart: basehub
  helm_chart_values_files: [common.values.yaml, staging.values.yaml]
- name: hub-a
  display_name: Hub A
  domain: a.example.org
  helm_chart: basehub
  helm_chart_values_files: [common.values.yaml, hub-a.values.yaml]
- name: hub-b
  domain: b.example.org
  helm_chart: basehub
  helm_chart_values_files: [common.values.yaml, hub-b.values.yaml]
";

fn repo() -> Fixture {
    let f = Fixture::empty();
    f.write("config/clusters/c1/cluster.yaml", CLUSTER);
    for v in ["support", "common", "staging", "hub-a", "hub-b"] {
        f.write(&format!("config/clusters/c1/{v}.values.yaml"), "x: 1\n");
    }
    f.write(
        "helm-charts/basehub/Chart.yaml",
        "apiVersion: v2\nname: basehub\nversion: 0.1.0\n",
    );
    f.commit_all("initial");
    f
}

fn plan(f: &Fixture, args: &[&str]) -> (Value, String) {
    let out = f.test().arg("plan").args(args).run();
    (out.json(), out.stderr)
}

fn jobs(v: &Value, kind: &str) -> Vec<String> {
    common::plan_jobs(v, kind)
}

fn edit(f: &Fixture, from: &str, to: &str) {
    let p = f.root.join("config/clusters/c1/cluster.yaml");
    let t = std::fs::read_to_string(&p).unwrap();
    assert!(t.contains(from), "{from}");
    std::fs::write(p, t.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_changed_hub_entry_redeploys_only_that_hub() {
    let f = repo();
    edit(&f, "display_name: Hub A", "display_name: Hub A, renamed");
    f.commit_all("rename");
    let (v, _) = plan(&f, &["--base", "HEAD~1"]);
    assert_eq!(jobs(&v, "support-jobs"), Vec::<String>::new());
    assert_eq!(
        jobs(&v, "prod-jobs"),
        [
            "c1/hub-a: cluster.yaml changed (hub hub-a entry changed): config/clusters/c1/cluster.yaml"
        ]
    );
    assert_eq!(
        jobs(&v, "staging-jobs"),
        ["c1/staging: staging canary for prod hubs: hub-a"]
    );
}

#[test]
fn credentials_change_redeploys_support_and_every_hub() {
    let f = repo();
    edit(&f, "zone: z1", "zone: z2");
    let (v, _) = plan(&f, &["--base", "HEAD"]); // against the work tree
    let why = "cluster.yaml changed (gcp changed): config/clusters/c1/cluster.yaml";
    assert_eq!(jobs(&v, "support-jobs"), [format!("c1: {why}")]);
    assert_eq!(jobs(&v, "staging-jobs"), [format!("c1/staging: {why}")]);
    assert_eq!(
        jobs(&v, "prod-jobs"),
        [format!("c1/hub-a: {why}"), format!("c1/hub-b: {why}")]
    );
}

#[test]
fn removed_hub_is_reported_added_hub_is_deployed_metadata_is_ignored() {
    let f = repo();
    let t = CLUSTER.replace(
        "- name: hub-b\n  domain: b.example.org\n  helm_chart: basehub\n  helm_chart_values_files: [common.values.yaml, hub-b.values.yaml]\n",
        "- name: hub-c\n  domain: c.example.org\n  helm_chart: basehub\n  helm_chart_values_files: [common.values.yaml]\n",
    );
    let t = t.replace("hubspot_deal_id: 1", "hubspot_deal_id: 2");
    f.write("config/clusters/c1/cluster.yaml", &t);
    f.commit_all("swap hubs");
    let (v, stderr) = plan(&f, &["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(
        jobs(&v, "prod-jobs"),
        ["c1/hub-c: cluster.yaml changed (hub hub-c added): config/clusters/c1/cluster.yaml"]
    );
    assert!(
        stderr.contains("hub hub-b was removed; it is not deployed"),
        "{stderr}"
    );
    assert_eq!(jobs(&v, "support-jobs"), Vec::<String>::new());
}

#[test]
fn without_a_base_a_cluster_yaml_change_redeploys_everything_on_it() {
    let f = repo();
    let (v, _) = plan(&f, &["config/clusters/c1/cluster.yaml"]);
    assert_eq!(v["support-jobs"].as_array().unwrap().len(), 1);
    assert_eq!(v["prod-jobs"].as_array().unwrap().len(), 2);
    assert!(jobs(&v, "prod-jobs")[0].ends_with(
        "cluster.yaml changed (no base to diff against): config/clusters/c1/cluster.yaml"
    ));
}

#[test]
fn a_new_cluster_deploys_everything_on_it() {
    let f = repo();
    let c2 = CLUSTER
        .replace("name: c1", "name: c2")
        .replace(".example.org", ".two.example.org");
    f.write("config/clusters/c2/cluster.yaml", &c2);
    f.commit_all("c2");
    let (v, _) = plan(&f, &["--base", "HEAD~1"]);
    assert_eq!(
        jobs(&v, "support-jobs"),
        ["c2: cluster.yaml changed (new cluster): config/clusters/c2/cluster.yaml"]
    );
    assert_eq!(v["prod-jobs"].as_array().unwrap().len(), 2);
}

#[test]
fn work_tree_changes_count_when_no_head_is_given() {
    let f = repo();
    f.write("config/clusters/c1/hub-b.values.yaml", "x: 2\n"); // modified, uncommitted
    let (v, _) = plan(&f, &["--base", "HEAD"]);
    assert_eq!(
        jobs(&v, "prod-jobs"),
        ["c1/hub-b: values files changed: config/clusters/c1/hub-b.values.yaml"]
    );
    // renamed/untracked files count too: a new values file listed by a new hub entry
    f.write("config/clusters/c1/new.values.yaml", "x: 3\n");
    edit(
        &f,
        "hub-b.values.yaml]",
        "hub-b.values.yaml, new.values.yaml]",
    );
    let (v, _) = plan(&f, &["--base", "HEAD"]);
    let prod = jobs(&v, "prod-jobs");
    assert_eq!(prod.len(), 1);
    assert!(
        prod[0].contains("config/clusters/c1/new.values.yaml"),
        "{prod:?}"
    );
    assert!(prod[0].contains("hub hub-b entry changed"), "{prod:?}");
}

#[test]
fn unreachable_base_is_a_clear_error() {
    repo()
        .test()
        .args(["plan", "--base", "0123456789abcdef0123456789abcdef01234567"])
        .status(2)
        .stderr_contains(
            "--base \"0123456789abcdef0123456789abcdef01234567\": no such commit in this repository",
        )
        .stderr_contains("fetch-depth: 0")
        .no_calls()
        .run();
}

#[test]
fn json_is_byte_identical_across_runs() {
    let f = repo();
    // deploy writes its output from Rust strings: the text is the bytes
    let run = || {
        f.test()
            .args([
                "plan",
                "--label",
                "deployer:deploy-hubs",
                "--label",
                "deployer:deploy-support",
            ])
            .run()
            .stdout
    };
    let first = run();
    assert!(!first.is_empty());
    for _ in 0..5 {
        assert_eq!(run(), first);
    }
}

#[test]
fn a_revision_is_never_read_as_an_option() {
    let f = repo();
    f.test()
        .args(["plan", "--base=--output=notes.txt"])
        .status(2)
        .run();
    assert!(
        !f.root.join("notes.txt").exists(),
        "git took the revision for `--output` and wrote a file"
    );
    f.test()
        .args(["plan", "--base", "HEAD", "--head=--output=notes.txt"])
        .status(2)
        .run();
    assert!(!f.root.join("notes.txt").exists());
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let f = repo();
    let (before, _) = plan(&f, &["config/clusters/c1/hub-a.values.yaml"]);
    f.write(
        "config/clusters/c1/cluster.yaml",
        format!("\u{feff}{CLUSTER}"),
    );
    f.write("deploy.yaml", "\u{feff}plan:\n  ignore: [docs/**]\n");
    let (after, _) = plan(&f, &["config/clusters/c1/hub-a.values.yaml"]);
    assert_eq!(before, after);
    f.write("config/clusters/c1/key.secret.json", "{}\n");
    f.write(
        "helm-charts/support/Chart.yaml",
        "apiVersion: v2\nname: support\nversion: 0.1.0\n",
    );
    f.test().arg("validate").run();
}

#[test]
fn changed_paths_from_git_diff_z_are_split_on_nul() {
    let f = repo();
    f.write(
        "changed.txt",
        "config/clusters/c1/hub-a.values.yaml\0config/clusters/c1/hub-b.values.yaml\0",
    );
    let (v, _) = plan(&f, &["--changed-from", "changed.txt"]);
    let hubs: Vec<&str> = v["prod-jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["hub_name"].as_str().unwrap())
        .collect();
    assert_eq!(hubs, ["hub-a", "hub-b"]);
}
