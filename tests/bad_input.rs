//! Bad input across both layouts and every subcommand: each row exits 2 with its message, and
//! no external command was started (the fake tools' log stays empty). The messages are in the
//! snapshot; `tests/validate.rs` has the config-file table.

mod common;

use std::path::Path;

use common::Fixture;

type Mutate = fn(&Path);

fn none(_: &Path) {}

fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let p = root.join(file);
    let t = std::fs::read_to_string(&p).unwrap();
    assert!(t.contains(from), "{file}: no `{from}`");
    std::fs::write(p, t.replacen(from, to, 1)).unwrap();
}

const ALPHA: &str = "config/clusters/alpha/cluster.yaml";
const GAMMA: &str = "config/clusters/gamma/cluster.yaml";
const FLUX_TEMPLATE: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ${NAME}\n  namespace: flux-system\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./hub-charts/ea-hub\n      version: \"*\"\n      sourceRef: {kind: GitRepository, name: hub-ops}\n  values: {}\n";

fn append(root: &Path, file: &str, extra: &str) {
    let p = root.join(file);
    let mut t = std::fs::read_to_string(&p).unwrap();
    t.push_str(extra);
    std::fs::write(p, t).unwrap();
}

fn symlink_out(root: &Path, file: &str) {
    let p = root.join(file);
    std::fs::remove_file(&p).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", p).unwrap();
}

#[rustfmt::skip]
fn legacy_rows() -> Vec<(&'static str, Vec<&'static str>, Mutate)> {
    vec![
        ("no arguments", vec![], none),
        ("unknown chart", vec!["edsc-hub", "--deploy"], none),
        ("chart name with shell metacharacters", vec!["ea-hub;rm -rf /", "--deploy"], none),
        ("chart name that looks like an option", vec!["--kubeconfig=/tmp/x"], none),
        ("ambiguous abbreviation", vec!["ea-hub", "--d"], none),
        ("unknown flag", vec!["ea-hub", "--deploy-all"], none),
        ("timeout without a unit", vec!["ea-hub", "--deploy", "--timeout", "600"], none),
        ("timeout that is not a duration", vec!["ea-hub", "--deploy", "--timeout", "ten minutes"], none),
        ("lock timeout without a unit", vec!["ea-hub", "--deploy", "--lock-timeout", "5"], none),
        ("-C to a missing folder", vec!["-C", "/nonexistent/repo", "ea-hub"], none),
        ("deploy.yaml missing", vec!["ea-hub"], |r| std::fs::remove_file(r.join("deploy.yaml")).unwrap()),
        ("deploy.yaml not YAML", vec!["ea-hub"], |r| std::fs::write(r.join("deploy.yaml"), "charts: [\n").unwrap()),
        ("deploy.yaml charts_dir leaves the repo", vec!["ea-hub"], |r| edit(r, "deploy.yaml", "charts_dir: hub-charts", "charts_dir: ../hub-charts")),
        ("chart listed twice", vec!["ea-hub"], |r| edit(r, "deploy.yaml", "charts: [staginghub,", "charts: [ea-hub, staginghub,")),
        ("invalid chart name in deploy.yaml", vec!["ea-hub"], |r| edit(r, "deploy.yaml", "charts: [staginghub,", "charts: [Staging_Hub,")),
        ("gcloud key file missing", vec!["ea-hub"], |r| std::fs::remove_file(r.join("secrets/gke-auth-key.json")).unwrap()),
        ("docker password git-crypt encrypted", vec!["ea-hub"], |r| std::fs::write(r.join("secrets/dockerhub"), b"\0GITCRYPT\0xx").unwrap()),
        ("secrets file missing for --deploy", vec!["ea-hub", "--no-setup", "--deploy"], |r| std::fs::remove_file(r.join("secrets/ea-hub.yaml")).unwrap()),
        ("Dockerfile missing for --build", vec!["ea-hub", "--no-setup", "--build"], |r| std::fs::remove_file(r.join("user-images/ea-hub/Dockerfile")).unwrap()),
        ("plan: unreachable base", vec!["plan", "--base", "no-such-rev"], none),
        ("plan: --head without --base", vec!["plan", "--head", "HEAD"], none),
        ("plan: paths and --changed-from together", vec!["plan", "--changed-from", "x.txt", "a.yaml"], none),
        ("plan: --changed-from a missing file", vec!["plan", "--changed-from", "missing.txt"], none),
        ("plan: unknown format", vec!["plan", "--format", "yaml"], none),
        ("plan --live in the legacy layout", vec!["plan", "--live"], none),
        ("diff in the legacy layout", vec!["diff", "--base", "HEAD"], none),
        ("live: true in a legacy deploy.yaml", vec!["plan"], |r| edit(r, "deploy.yaml", "charts: [", "live: true\ncharts: [")),
        ("validate: legacy secrets missing", vec!["validate"], |r| std::fs::remove_file(r.join("secrets/nbgrader-hub.yaml")).unwrap()),
        ("run in the legacy layout", vec!["run"], none),
        ("gitops render without .flux.ci", vec!["gitops", "render", "--env", "staging"], none),
        ("completions for an unknown shell", vec!["completions", "tcsh"], none),
        ("secrets file with a duplicate key", vec!["ea-hub", "--no-setup", "--deploy"], |r| append(r, "secrets/ea-hub.yaml", "jupyterhub:\n  x: FAKE-duplicate\n")),
        ("secrets file that is not YAML", vec!["ea-hub", "--no-setup", "--deploy"], |r| append(r, "secrets/ea-hub.yaml", "  bad: [\"FAKE-unclosed\n")),
        ("secrets file symlinked out of the repo", vec!["ea-hub", "--no-setup", "--deploy"], |r| symlink_out(r, "secrets/ea-hub.yaml")),
        ("docker password file symlinked out of the repo", vec!["ea-hub"], |r| symlink_out(r, "secrets/dockerhub")),
        ("deploy.yaml duplicate top-level key", vec!["ea-hub"], |r| edit(r, "deploy.yaml", "charts: [", "charts_dir: hub-charts\ncharts: [")),
        ("deploy.yaml gcloud project that looks like an option", vec!["ea-hub"], |r| edit(r, "deploy.yaml", "project: ", "project: --verbosity=debug #")),
        ("deploy.yaml helm timeout of zero", vec!["ea-hub", "--no-setup", "--deploy"], |r| edit(r, "deploy.yaml", "timeout: 600s", "timeout: 0s")),
        ("--timeout of zero", vec!["ea-hub", "--no-setup", "--deploy", "--timeout", "0s"], none),
        ("plan --base outside a git repository", vec!["plan", "--base", "HEAD"], |r| std::fs::remove_dir_all(r.join(".git")).unwrap()),
        ("plan --base that looks like an option", vec!["plan", "--base=--output=notes.txt"], none),
        ("deploy.yaml nested too deeply", vec!["ea-hub"], |r| std::fs::write(r.join("deploy.yaml"), format!("charts: {}", "[".repeat(200_000))).unwrap()),
        ("plan: --changed-from an endless file", vec!["plan", "--changed-from", "/dev/zero"], none),
        ("doctor outside a hub-ops repo", vec!["doctor"], |r| std::fs::remove_file(r.join("deploy.yaml")).unwrap()),
        ("doctor: deploy.yaml not YAML", vec!["doctor"], |r| std::fs::write(r.join("deploy.yaml"), "charts: [\n").unwrap()),
        ("doctor: unknown format", vec!["doctor", "--format", "yaml"], none),
    ]
}

#[rustfmt::skip]
fn multi_rows() -> Vec<(&'static str, Vec<&'static str>, Mutate)> {
    vec![
        ("diff without --base", vec!["diff"], none),
        ("diff --head without --base", vec!["diff", "--head", "HEAD"], none),
        ("diff of a revision that is not there", vec!["diff", "--base", "no-such-rev"], none),
        ("plan --diff without --base", vec!["plan", "--diff", "a.yaml"], none),
        ("plan --diff-file without --diff", vec!["plan", "--base", "HEAD", "--diff-file", "d.txt"], none),
        ("deploy.yaml health_check via an unknown way", vec!["run", "--dry-run", "config/clusters/alpha/prod.values.yaml"], |r| std::fs::write(r.join("deploy.yaml"), "health_check:\n  via: ping\n").unwrap()),
        ("a hub's health_check with an unknown field", vec!["run", "--dry-run", "config/clusters/alpha/prod.values.yaml"], |r| edit(r, ALPHA, "    domain: hub.alpha.example.org\n", "    domain: hub.alpha.example.org\n    health_check: {retries: 3}\n")),
        ("status of a cluster that is not there", vec!["status", "zeta"], none),
        ("diff with helm missing", vec!["diff", "--base", "HEAD"], |r| std::fs::remove_file(r.parent().unwrap().join("bin/helm")).unwrap()),
        ("plan: a broken cluster.yaml the plan needs", vec!["plan", "config/clusters/alpha/prod.values.yaml"], |r| edit(r, ALPHA, "name: alpha", "name: alpha\nregion: x")),
        ("plan: `hubs: ~` where a list is expected", vec!["plan", "config/clusters/gamma/cluster.yaml"], |r| std::fs::write(r.join(GAMMA), "name: gamma\nprovider: kubeconfig\nkubeconfig:\n  file: deployer-credentials.secret.yaml\nhubs: ~\n").unwrap()),
        ("plan: `plan: ~` in deploy.yaml", vec!["plan", "deployer/x.py"], |r| std::fs::write(r.join("deploy.yaml"), "plan: ~\n").unwrap()),
        ("plan: bad glob in deploy.yaml", vec!["plan", "deployer/x.py"], |r| std::fs::write(r.join("deploy.yaml"), "plan:\n  all_hubs: [\"deployer/[\"]\n").unwrap()),
        ("plan --live --jobs 0", vec!["plan", "--live", "--jobs", "0", "a.yaml"], none),
        ("live: not a boolean in deploy.yaml", vec!["plan", "--live"], |r| std::fs::write(r.join("deploy.yaml"), "live: sometimes\n").unwrap()),
        ("plan --live with helm missing", vec!["plan", "--live", "config/clusters/alpha/prod.values.yaml"], |r| std::fs::remove_file(r.parent().unwrap().join("bin/helm")).unwrap()),
        ("run: --plan and paths together", vec!["run", "--plan", "plan.json", "a.yaml"], none),
        ("run: --plan not a plan", vec!["run", "--plan", "deploy.yaml"], none),
        ("run: --plan names an unknown cluster", vec!["run", "--plan", "plan.json"], |r| std::fs::write(r.join("plan.json"), r#"{"prod-jobs":[{"provider":"gcp","cluster_name":"zeta","hub_name":"x"}]}"#).unwrap()),
        ("run: --plan names an unknown hub", vec!["run", "--plan", "plan.json"], |r| std::fs::write(r.join("plan.json"), r#"{"prod-jobs":[{"provider":"gcp","cluster_name":"alpha","hub_name":"nope"}]}"#).unwrap()),
        ("run: --jobs 0", vec!["run", "--jobs", "0"], none),
        ("plan: nothing says what changed", vec!["plan"], none),
        ("run: nothing says what changed", vec!["run", "--dry-run"], none),
        ("a mistyped subcommand in a multi-cluster repo", vec!["upgrade-hubs", "alpha", "prod"], none),
        ("run: invalid values", vec!["run", "config/clusters/gamma/prod.values.yaml"], |r| edit(r, "config/clusters/gamma/prod.values.yaml", "secretToken: ", "secretToken: x #")),
        ("upgrade-support: unknown cluster", vec!["upgrade-support", "zeta"], none),
        ("upgrade-hub: cluster name with shell metacharacters", vec!["upgrade-hub", "alpha;id", "prod"], none),
        ("gitops push: environment with shell metacharacters", vec!["gitops", "push", "--env", "prod$(id)", "--releases-repo", "/nonexistent"], |r| std::fs::write(r.join(".flux.ci"), "metadata:\n  name: x-${ENV}\n").unwrap()),
        ("upgrade-support: cluster without support", vec!["upgrade-support", "gamma"], none),
        ("upgrade-hub: unknown hub", vec!["upgrade-hub", "alpha", "nope"], none),
        ("upgrade-hub: hub name with shell metacharacters", vec!["upgrade-hub", "alpha", "prod;id"], none),
        ("upgrade-hub: a hub with an invalid name in cluster.yaml", vec!["upgrade-hub", "alpha", "$(id)"], |r| edit(r, ALPHA, "- name: climate", "- name: \"$(id)\"")),
        ("filter-prod: missing plan", vec!["filter-prod", "--plan", "missing.json"], none),
        ("filter-prod: results that are not a report", vec!["filter-prod", "--plan", "plan.json", "--results", "deploy.yaml"], |r| std::fs::write(r.join("plan.json"), "[]").unwrap()),
        ("validate: --all with paths", vec!["validate", "--all", "a.yaml"], none),
        ("gitops push: missing placeholder values", vec!["gitops", "push", "--env", "prod", "--releases-repo", "/nonexistent"], |r| std::fs::write(r.join(".flux.ci"), "metadata:\n  name: ${NAME}\n").unwrap()),
        ("cluster.yaml nested too deeply", vec!["plan", "config/clusters/alpha/prod.values.yaml"], |r| edit(r, ALPHA, "name: alpha", &format!("name: alpha\nx: {}", "{a: ".repeat(100_000)))),
        ("run: a values file nested too deeply", vec!["run", "config/clusters/gamma/prod.values.yaml"], |r| std::fs::write(r.join("config/clusters/gamma/prod.values.yaml"), "- ".repeat(100_000)).unwrap()),
        ("run: --plan from an endless file", vec!["run", "--plan", "/dev/zero"], none),
        ("filter-prod: --results from an endless file", vec!["filter-prod", "--plan", "plan.json", "--results", "/dev/zero"], |r| std::fs::write(r.join("plan.json"), "[]").unwrap()),
        ("gitops render: --set without =", vec!["gitops", "render", "--env", "prod", "--set", "NAME"], |r| std::fs::write(r.join(".flux.ci"), "metadata:\n  name: ${NAME}\n").unwrap()),
        ("gitops render: a HelmRelease name that is a path", vec!["gitops", "render", "--env", "prod", "--set", "NAME=../../x"], |r| std::fs::write(r.join(".flux.ci"), FLUX_TEMPLATE).unwrap()),
        ("plan: duplicate key in cluster.yaml", vec!["plan", "config/clusters/alpha/prod.values.yaml"], |r| edit(r, ALPHA, "provider: gcp\n", "provider: gcp\nprovider: aws\n")),
        ("plan --head: a broken cluster.yaml at that revision, the work tree fine", vec!["plan", "--base", "main", "--head", "broken"], |r| { common::git(r, &["checkout", "-q", "-b", "broken"]); edit(r, ALPHA, "name: alpha", "name: alpha\nregion: x"); common::git(r, &["commit", "-q", "-am", "broken"]); common::git(r, &["checkout", "-q", "main"]); }),
        ("plan: cluster folder name with a line break", vec!["plan", "deployer/x.py"], |r| { let d = r.join("config/clusters/x\n::warning::injected"); std::fs::create_dir_all(&d).unwrap(); std::fs::copy(r.join(ALPHA), d.join("cluster.yaml")).unwrap(); }),
        ("run: helm_chart leaves helm-charts", vec!["run", "config/clusters/alpha/prod.values.yaml"], |r| edit(r, ALPHA, "helm_chart: basehub", "helm_chart: ../../x")),
        ("run: gitops.path leaves the releases repo", vec!["run", "config/clusters/gamma/prod.values.yaml"], |r| edit(r, GAMMA, "hubs:", "gitops:\n  repo: /nonexistent\n  path: ../..\nhubs:")),
        ("run: gcp zone that looks like an option", vec!["run", "config/clusters/alpha/prod.values.yaml"], |r| edit(r, ALPHA, "zone: us-central1-b", "zone: --flatten=x")),
        ("run: --plan with an unknown key", vec!["run", "--plan", "plan.json"], |r| std::fs::write(r.join("plan.json"), r#"{"prod_jobs":[{"provider":"gcp","cluster_name":"alpha","hub_name":"prod"}]}"#).unwrap()),
        ("run: --plan with the same job twice", vec!["run", "--plan", "plan.json"], |r| std::fs::write(r.join("plan.json"), r#"{"staging-jobs":[{"provider":"gcp","cluster_name":"alpha","hub_name":"prod"}],"prod-jobs":[{"provider":"gcp","cluster_name":"alpha","hub_name":"prod"}]}"#).unwrap()),
        ("run: --report in a missing folder", vec!["run", "--report", "no/such/dir/report.json", "config/clusters/alpha/prod.values.yaml"], none),
        ("plan: --comment-body in a missing folder", vec!["plan", "--format", "github", "--comment-body", "no/such/dir/body.md", "config/clusters/alpha/prod.values.yaml"], none),
        ("run: --timeout of zero", vec!["run", "--timeout", "0s", "config/clusters/alpha/prod.values.yaml"], none),
        ("run: secret values file with a duplicate key", vec!["run", "config/clusters/alpha/physics.values.yaml"], |r| append(r, "config/clusters/alpha/physics.secret.values.yaml", "jupyterhub:\n  x: FAKE-dup-value\n")),
        ("doctor: a broken cluster.yaml", vec!["doctor"], |r| edit(r, ALPHA, "name: alpha", "name: alpha\nregion: x")),
        ("doctor: a hub's helm_chart leaves helm-charts", vec!["doctor"], |r| edit(r, ALPHA, "helm_chart: basehub", "helm_chart: ../../x")),
        ("filter-prod: a failed cluster in no input", vec!["filter-prod", "--plan", "plan.json", "--failed-clusters", "alpha,zeta"], |r| std::fs::write(r.join("plan.json"), r#"{"prod-jobs":[{"provider":"gcp","cluster_name":"alpha","hub_name":"prod"}]}"#).unwrap()),
    ]
}

/// A C++ jsonnet on PATH: 2i2c's deployer refuses it (a bug they hit), and so do we.
fn cpp_jsonnet(root: &Path) {
    jsonnet_saying(root, "Jsonnet commandline interpreter (C++) v0.20.0");
}

/// A `jsonnet` that only answers `--version` (as the Go one does): enough for the rows whose
/// problem is found before anything is rendered.
fn go_jsonnet_version(root: &Path) {
    jsonnet_saying(
        root,
        "Jsonnet commandline interpreter (Go implementation) v0.22.0",
    );
}

fn jsonnet_saying(root: &Path, version: &str) {
    let bin = root.parent().unwrap().join("bin/jsonnet");
    std::fs::write(&bin, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
    let mut p = std::fs::metadata(&bin).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
    std::fs::set_permissions(&bin, p).unwrap();
}

/// Rows on the 2i2c-style fixture (jsonnet values files), which has no jsonnet program on PATH.
#[rustfmt::skip]
fn hub_ops_2i2c_rows() -> Vec<(&'static str, Vec<&'static str>, Mutate)> {
    vec![
        ("run: jsonnet values and no jsonnet program", vec!["run", "--label", "deployer:deploy-hubs"], none),
        ("run --dry-run: jsonnet values and no jsonnet program (a dry run renders too)", vec!["run", "--dry-run", "--label", "deployer:deploy-hubs"], none),
        ("plan --format commands: jsonnet values and no jsonnet program", vec!["plan", "--format", "commands", "--label", "deployer:deploy-hubs"], none),
        ("upgrade-hub: the C++ jsonnet", vec!["upgrade-hub", "gcp-east", "prod"], cpp_jsonnet),
        ("upgrade-support: the C++ jsonnet (support's values.jsonnet)", vec!["upgrade-support", "gcp-east"], cpp_jsonnet),
        ("upgrade-hub: chart_override missing", vec!["upgrade-hub", "k8s-lab", "lab"], |r| { go_jsonnet_version(r); std::fs::remove_file(r.join("config/overrides/lab-chart.yaml")).unwrap() }),
        ("upgrade-hub: chart_override that leaves the repo", vec!["upgrade-hub", "k8s-lab", "lab"], |r| edit(r, "config/clusters/k8s-lab/cluster.yaml", "config/overrides/lab-chart.yaml", "../../../etc/chart.yaml")),
    ]
}

fn table(make: fn() -> Fixture, rows: Vec<(&'static str, Vec<&'static str>, Mutate)>) -> String {
    let mut all = String::new();
    for (name, args, mutate) in rows {
        let f = make();
        mutate(&f.root);
        let out = f
            .test()
            .context(name)
            .args(&args)
            .status(2)
            .no_calls()
            .run();
        assert!(
            !out.stderr.trim().is_empty() || !out.stdout.is_empty(),
            "{name}: no message"
        );
        // clap's usage block is long and stable; the first lines say what is wrong
        let shown: Vec<&str> = out.stderr.lines().take(4).collect();
        all.push_str(&format!(
            "## {name}\n$ deploy {}\n{}\n{}\n",
            args.join(" "),
            out.stdout.trim_end(),
            shown.join("\n")
        ));
    }
    all
}

#[test]
fn legacy_layout_bad_input() {
    insta::assert_snapshot!(table(Fixture::example, legacy_rows()));
}

#[test]
fn multi_cluster_bad_input() {
    insta::assert_snapshot!(table(Fixture::multi, multi_rows()));
}

#[test]
fn hub_ops_2i2c_bad_input() {
    insta::assert_snapshot!(table(Fixture::hub_ops_2i2c, hub_ops_2i2c_rows()));
}

#[test]
fn at_least_40_rows() {
    assert!(legacy_rows().len() + multi_rows().len() + hub_ops_2i2c_rows().len() >= 40);
}
