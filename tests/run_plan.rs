//! The run plan as data (snapshots of the example repo's, without any runner), `deploy plan
//! --format commands` (a snapshot, and the same commands a real run executes), and each config
//! file read once per process.

mod common;

use std::collections::BTreeMap;

use common::commands::{as_logged, matches};
use common::{Test, example_plan, multi_example};
use deploy::plan::multi::{Changes, plan};

fn jobs(paths: &[&str], labels: &[&str]) -> Vec<deploy::plan::jobs::Job> {
    let changes = Changes::new(
        paths.iter().map(|p| p.to_string()),
        labels.iter().map(|l| l.to_string()).collect(),
    );
    plan(&multi_example(), &changes).unwrap().jobs()
}

#[test]
fn the_run_plan_of_every_release_of_the_example() {
    let plan = example_plan(&jobs(
        &[],
        &["deployer:deploy-hubs", "deployer:deploy-support"],
    ));
    insta::assert_snapshot!(serde_json::to_string_pretty(&plan).unwrap());
}

#[test]
fn a_run_plan_orders_each_clusters_steps_and_keeps_the_jobs_indices() {
    // a values change of one prod hub: its cluster's staging hubs come first, as canaries
    let plan = example_plan(&jobs(&["config/clusters/alpha/physics.values.yaml"], &[]));
    let steps: Vec<String> = plan.clusters[0]
        .steps
        .iter()
        .map(|s| format!("{} {} #{}", s.job.kind.as_str(), s.job.release, s.index))
        .collect();
    assert_eq!(steps, ["staging staging #0", "prod physics #1"]);
    assert_eq!(plan.programs, ["gcloud", "helm", "kubectl"]);
}

const LABELS: [&str; 4] = [
    "--label",
    "deployer:deploy-hubs",
    "--label",
    "deployer:deploy-support",
];

#[test]
fn plan_format_commands_prints_each_releases_commands() {
    let out = Test::multi()
        .args(["plan", "--format", "commands"])
        .args(LABELS)
        .no_calls()
        .run();
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn plan_format_commands_prints_what_a_real_run_executes() {
    let f = common::Fixture::multi();
    f.set_deployments(&["hub", "proxy"]);
    let printed = f
        .test()
        .args(["plan", "--format", "commands"])
        .args(LABELS)
        .run()
        .stdout;
    let commands: Vec<String> = printed
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(as_logged)
        .collect();
    // what the notes say may run too: a namespace made on a first install
    let noted: Vec<String> = printed
        .lines()
        .filter_map(|l| l.split_once("(kubectl create namespace "))
        .map(|(_, rest)| {
            format!(
                "kubectl create namespace {}",
                rest.split(' ').next().unwrap()
            )
        })
        .collect();
    let ran = f.test().arg("run").args(LABELS).run().calls;
    assert!(ran.len() > 50, "the run ran the plan: {ran:?}");
    // every logged call is a printed command (or a noted one, or a look at a lease another
    // release holds: both clusters' support releases share namespace `support` in the fake
    // tools' single world, so they wait for each other)...
    for call in &ran {
        let lease_wait = call.contains(" get lease ") || call.starts_with("kubectl replace");
        assert!(
            lease_wait || commands.iter().chain(&noted).any(|c| matches(c, call)),
            "the run executed `{call}`, which plan --format commands does not show:\n{printed}"
        );
    }
    // ...and every printed command ran, as often as printed (the lease create may be retried
    // after the namespace is made)
    let mut printed_count: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &commands {
        *printed_count.entry(c).or_default() += 1;
    }
    for (c, n) in printed_count {
        let runs = ran.iter().filter(|call| matches(c, call)).count();
        let retried = c.starts_with("kubectl create -o json");
        assert!(
            runs == n
                || (retried && runs >= n)
                || ((c.contains("<deployment>") || c.contains("<workload>")) && runs >= n),
            "`{c}` is printed {n} time(s) but ran {runs} time(s)"
        );
    }
}

#[test]
fn a_run_reads_each_cluster_file_and_chart_schema_once() {
    let Ok(strace) = which::which("strace") else {
        assert!(
            std::env::var("CI").is_err(),
            "strace is needed for this test in CI (scripts/test-env install installs it)"
        );
        eprintln!("SKIPPED: strace not found");
        return;
    };
    let f = common::Fixture::multi();
    let trace = f.root.parent().unwrap().join("trace");
    // deploy's own command (fake tools, no CI variables), run under strace
    let base = f.command();
    let mut c = std::process::Command::new(strace);
    c.current_dir(base.get_current_dir().unwrap());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let out = c
        .args(["-f", "-e", "trace=openat", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_deploy"))
        .arg("run")
        .args(LABELS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(trace).unwrap();
    let opened = |file: &str| trace.lines().filter(|l| l.contains(file)).count();
    for c in ["alpha", "beta", "gamma"] {
        assert_eq!(
            opened(&format!("config/clusters/{c}/cluster.yaml\"")),
            1,
            "{c}'s cluster.yaml"
        );
    }
    assert_eq!(opened("helm-charts/basehub/values.schema.yaml\""), 1);
}
