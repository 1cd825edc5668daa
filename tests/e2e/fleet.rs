//! `deploy status`, `rollback` and `uninstall` on the test API server: a hub upgraded twice is
//! rolled back to its first revision; a hub removed from cluster.yaml is uninstalled (and one
//! still there is refused); status before and after.

use super::*;

fn status_of(env: &TestEnv, root: &Path, bin: &Path, release: &str) -> Value {
    let mut c = deploy_cmd(env, root, bin, bin);
    c.args(["status", "one", "--format", "json"]);
    let out = run_ok(c);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == release)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn a_hub_upgraded_twice_is_rolled_back_and_a_removed_hub_uninstalled() {
    let Some(env) = test_env("a_hub_upgraded_twice_is_rolled_back_and_a_removed_hub_uninstalled")
    else {
        return;
    };
    let s = unique();
    let (_tmp, root) = multi_repo(
        &env,
        &s,
        &[("one", &[("staging", "3.3.7"), ("prod", "3.3.7")])],
    );
    let bin = tempfile::tempdir().unwrap();
    let (staging, prod) = (format!("staging-{s}"), format!("prod-{s}"));
    let deploy = || deploy_cmd(&env, &root, bin.path(), bin.path());
    let mut c = deploy();
    c.args(["run", "--label", "deployer:deploy-hubs", "--timeout", "60s"]);
    run_ok(c);
    // prod's second revision: another hub image tag
    set_value(
        &root.join(format!("config/clusters/one/{prod}.values.yaml")),
        &["jupyterhub", "hub", "image", "tag"],
        "3.3.8",
    );
    git(&root, &["commit", "-qam", "prod: 3.3.8"]);
    let mut c = deploy();
    c.args([
        "run",
        "--base",
        "HEAD~1",
        "--head",
        "HEAD",
        "--timeout",
        "60s",
    ]);
    run_ok(c);
    let before = status_of(&env, &root, bin.path(), &prod);
    assert_eq!(
        (&before["revision"], &before["status"], &before["pending"]),
        (
            &Value::from(2),
            &Value::from("deployed"),
            &Value::from(false)
        ),
        "{before}"
    );
    // (the staging hub went first, as the canary)
    assert_eq!(status_of(&env, &root, bin.path(), &staging)["revision"], 2);

    // back to the last deployed revision before the current: 1 (helm makes it revision 3)
    let mut c = deploy();
    c.args(["rollback", "one", &prod, "--timeout", "60s"]);
    let out = run_ok(c);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("rolled back one/{prod} from revision 2 to 1")
    );
    let after = status_of(&env, &root, bin.path(), &prod);
    assert_eq!(
        (&after["revision"], &after["status"]),
        (&Value::from(3), &Value::from("deployed"))
    );
    let values = env.tool(
        "helm",
        &["get", "values", &prod, "--namespace", &prod, "-o", "json"],
    );
    let values: Value = serde_json::from_slice(&values.stdout).unwrap();
    assert_eq!(values["jupyterhub"]["hub"]["image"]["tag"], "3.3.7");
    // the lease was given back
    let lease = env.tool(
        "kubectl",
        &["-n", &prod, "get", "lease", &format!("deploy-{prod}")],
    );
    assert!(!lease.status.success());

    // a hub still in cluster.yaml is not uninstalled (exit 2, nothing run)
    let mut c = deploy();
    c.args(["uninstall", "one", &prod, "--yes"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(env.release(&prod).is_some());

    // staging leaves the config: status says so, then it can go, and status no longer lists it
    let cluster = root.join("config/clusters/one/cluster.yaml");
    let text_before = std::fs::read_to_string(&cluster).unwrap();
    // (its entry: `- name: …`, `helm_chart: …`, `helm_chart_values_files: […]`)
    let lines: Vec<&str> = text_before.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("- name: {staging}"))
        .unwrap();
    let kept: Vec<&str> = lines[..at]
        .iter()
        .chain(&lines[at + 3..])
        .copied()
        .collect();
    std::fs::write(&cluster, kept.join("\n") + "\n").unwrap();
    git(&root, &["commit", "-qam", "staging removed"]);
    // status still shows it, as no longer in cluster.yaml (deploy's label finds it)
    let gone_from_config = status_of(&env, &root, bin.path(), &staging);
    assert_eq!(
        (
            &gone_from_config["in_config"],
            &gone_from_config["installed"],
            &gone_from_config["revision"],
            &gone_from_config["status"]
        ),
        (
            &Value::from(false),
            &Value::from(true),
            &Value::from(2),
            &Value::from("deployed")
        ),
        "{gone_from_config}"
    );
    // outside a terminal, --yes is needed
    let mut c = deploy();
    c.args(["uninstall", "one", &staging])
        .stdin(std::process::Stdio::null());
    assert_eq!(c.output().unwrap().status.code(), Some(2));
    let mut c = deploy();
    c.args(["uninstall", "one", &staging, "--yes", "--timeout", "60s"]);
    let out = run_ok(c);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("uninstalled one/{staging}")
    );
    assert!(env.release(&staging).is_none());
    assert_eq!(status_of(&env, &root, bin.path(), &staging), Value::Null);
    env.forget_release(&prod);
}
