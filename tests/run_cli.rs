//! `deploy run`, `upgrade-support`, `upgrade-hub` and `filter-prod` as binaries, on a copy of the
//! multi-cluster example, with fake cloud tools, helm and kubectl that log argv, sleep and fail
//! on demand.

mod common;

use common::{Fixture, Test, text};
use serde_json::Value;

fn report(f: &Fixture) -> Value {
    serde_json::from_str(&std::fs::read_to_string(f.root.join("report.json")).unwrap()).unwrap()
}

fn statuses(v: &Value) -> Vec<String> {
    v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{} {}",
                r["cluster_name"].as_str().unwrap(),
                r["release"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn run_deploys_the_plan_and_writes_a_report() {
    let f = Fixture::multi();
    f.set_deployments(&["hub", "proxy"]);
    let out = f
        .test()
        .args([
            "run",
            "--report",
            "report.json",
            "config/clusters/alpha/common.values.yaml",
            "config/clusters/gamma/prod.values.yaml",
        ])
        .stderr_contains("done    alpha/physics in")
        .stderr_contains("release summary:")
        .run();
    let r = report(&f);
    assert_eq!(r["status"], "succeeded");
    assert_eq!(
        statuses(&r),
        [
            "alpha/staging succeeded",
            "alpha/climate succeeded",
            "alpha/physics succeeded",
            "alpha/prod succeeded",
            "gamma/prod succeeded"
        ]
    );
    let first = &r["releases"][0];
    assert_eq!(first["kind"], "staging");
    assert!(
        first["reason_for_redeploy"]
            .as_str()
            .unwrap()
            .contains("config/clusters/alpha/common.values.yaml")
    );
    assert!(first["commands"].as_array().unwrap().iter().any(|c| {
        c.as_str()
            .unwrap()
            .starts_with("helm upgrade --install --namespace staging")
    }));
    // credentials went to a private kubeconfig, in a folder only the owner can enter, removed
    // at exit; the credentials call happened once for alpha
    let envs = f.call_envs();
    let gcloud = envs.iter().find(|e| e[0] == "gcloud").unwrap();
    assert!(gcloud[2].contains("/deploy-alpha-"), "{gcloud:?}");
    assert_eq!(gcloud[4], "700", "{gcloud:?}");
    assert!(!std::path::Path::new(&gcloud[2]).parent().unwrap().exists());
    let calls = out.calls;
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("gcloud container clusters get-credentials alpha-cluster"))
            .count(),
        1
    );
    // helm dependency update once per chart
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "helm dependency update helm-charts/basehub")
            .count(),
        1
    );
    // every lease was released
    assert!(
        std::fs::read_dir(f.fake.join("leases"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_failing_staging_hub_skips_its_prod_hubs_and_exits_1() {
    let f = Fixture::multi();
    f.test()
        .env(
            "FAKE_FAIL",
            "helm upgrade --install --namespace dask-staging",
        )
        .args([
            "run",
            "--report",
            "report.json",
            "--label",
            "deployer:deploy-hubs",
        ])
        .status(1)
        .stderr_contains("error: beta/dask-staging: helm upgrade: `helm upgrade")
        .stderr_contains("| Error: fake helm failed on purpose")
        .run();
    let r = report(&f);
    assert_eq!(r["status"], "failed");
    let s = statuses(&r);
    for want in [
        "beta/dask-staging failed",
        "beta/staging skipped",
        "beta/research skipped",
        "beta/teaching skipped",
        "alpha/prod succeeded",
        "gamma/binder succeeded",
    ] {
        assert!(s.contains(&want.to_string()), "{want}: {s:?}");
    }
    let skipped = r["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["release"] == "research")
        .unwrap();
    assert_eq!(skipped["message"], "skipped (staging failed)");
}

#[test]
fn sigterm_mid_run_stops_children_starts_nothing_new_and_writes_the_report() {
    let f = Fixture::multi();
    let (out, _) = f.interrupt_at(
        "helm upgrade --install --namespace physics",
        &[
            "run",
            "--jobs",
            "1",
            "--report",
            "report.json",
            "config/clusters/alpha/common.values.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let calls = f.calls();
    assert!(
        calls.contains(&"fake helm: got SIGTERM".to_string()),
        "the running helm got the signal"
    );
    let r = report(&f);
    assert_eq!(r["status"], "interrupted");
    let s = statuses(&r);
    assert!(
        s.contains(&"alpha/physics interrupted".to_string()),
        "{s:?}"
    );
    // climate ran before physics (sorted, one job at a time); prod was never started
    assert!(s.contains(&"alpha/prod interrupted".to_string()), "{s:?}");
    assert!(
        !calls.iter().any(|c| c.contains("--namespace prod ")),
        "no new release started: {calls:#?}"
    );
    assert!(
        std::fs::read_dir(f.fake.join("leases"))
            .unwrap()
            .next()
            .is_none(),
        "leases released"
    );
}

#[test]
fn run_a_saved_plan_and_filter_prod_jobs() {
    let f = Fixture::multi();
    let plan = f
        .test()
        .args([
            "plan",
            "--format",
            "json",
            "--label",
            "deployer:deploy-hubs",
        ])
        .run();
    f.write("plan.json", &plan.stdout);

    // support/staging of beta failed in its matrix job: its prod jobs are dropped
    let kept = f
        .test()
        .args([
            "filter-prod",
            "--plan",
            "plan.json",
            "--failed-clusters",
            "beta",
        ])
        .stderr_contains("dropping 2 prod job(s)")
        .run()
        .json();
    let names: Vec<String> = kept
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{}/{}",
                j["cluster_name"].as_str().unwrap(),
                j["hub_name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "alpha/climate",
            "alpha/physics",
            "alpha/prod",
            "gamma/binder",
            "gamma/prod"
        ]
    );

    // the same from a staging results report
    f.test()
        .env("FAKE_FAIL", "--namespace staging ")
        .args(["upgrade-hub", "alpha", "staging", "--report", "report.json"])
        .status(1)
        .run();
    let kept = f
        .test()
        .args([
            "filter-prod",
            "--plan",
            "plan.json",
            "--results",
            "report.json",
        ])
        .run()
        .json();
    assert!(
        kept.as_array()
            .unwrap()
            .iter()
            .all(|j| j["cluster_name"] != "alpha"),
        "{kept}"
    );
    assert_eq!(kept.as_array().unwrap().len(), 4);

    // run the saved plan, as a later job would
    f.test()
        .args([
            "run",
            "--plan",
            "plan.json",
            "--report",
            "report.json",
            "--jobs",
            "2",
        ])
        .run();
    assert_eq!(report(&f)["releases"].as_array().unwrap().len(), 10);
}

#[test]
fn upgrade_support_and_upgrade_hub_deploy_one_release() {
    let f = Fixture::multi();
    let calls = f.test().args(["upgrade-support", "beta"]).run().calls;
    assert_eq!(
        calls[0],
        "aws eks update-kubeconfig --name beta-cluster --region us-west-2 --kubeconfig "
            .to_string()
            + calls[0].rsplit(' ').next().unwrap()
    );
    assert!(
        calls[0].contains("/deploy-beta-"),
        "a private kubeconfig: {}",
        calls[0]
    );
    assert!(calls.iter().any(|c| c.starts_with(
        "helm upgrade --install --namespace support --create-namespace support helm-charts/support"
    )));

    let out = f.test().args(["upgrade-hub", "gamma", "binder"]).run();
    assert!(out.calls.iter().any(|c| c.starts_with(
        "helm upgrade --install --namespace binder --create-namespace binder helm-charts/binderhub"
    )));

    f.test()
        .args(["upgrade-hub", "gamma", "nope"])
        .status(2)
        .stderr_contains("cluster gamma has no hub `nope`; its hubs: prod, binder")
        .no_calls()
        .run();
    f.test()
        .args(["upgrade-support", "gamma"])
        .status(2)
        .stderr_contains("has no `support:` block")
        .no_calls()
        .run();
    f.test()
        .args(["upgrade-support", "zeta"])
        .status(2)
        .stderr_contains("unknown cluster `zeta`; clusters: alpha, beta, gamma")
        .no_calls()
        .run();
}

#[test]
fn run_dry_run_prints_commands_in_order_and_runs_nothing() {
    let out = Test::multi()
        .args([
            "run",
            "--dry-run",
            "config/clusters/beta/research.values.yaml",
        ])
        .no_calls()
        .run();
    // the private kubeconfig lives in a fresh temp folder each run
    let stdout = out.stdout;
    let stable: String = stdout
        .lines()
        .map(|l| match l.find("/deploy-beta-") {
            Some(i) => {
                let end = l[i + 1..].find('/').map_or(l.len(), |j| i + 1 + j);
                format!(
                    "{}<TMP>/deploy-beta-XXXX{}\n",
                    &l[..l[..i].rfind(' ').map_or(0, |k| k + 1)],
                    &l[end..]
                )
            }
            None => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!(stable);
}

#[test]
fn missing_tools_stop_a_real_run_before_anything_runs() {
    Test::multi()
        .remove_tool("aws")
        .args(["run", "config/clusters/beta/research.values.yaml"])
        .status(2)
        .stderr_contains("required programs not found on PATH: aws")
        .no_calls()
        .run();
}

#[test]
fn sops_encrypted_values_are_decrypted_to_private_temp_files_and_masked() {
    let f = with_encrypted_values();
    let out = f
        .test()
        .env("GITHUB_ACTIONS", "true")
        .args(["upgrade-hub", "gamma", "prod"])
        .run();
    assert!(
        out.calls.contains(
            &"sops --decrypt config/clusters/gamma/enc-prod.secret.values.yaml".to_string()
        )
    );
    let values = std::fs::read_to_string(f.fake.join("values-files")).unwrap();
    let lines: Vec<&str> = values.lines().collect();
    assert_eq!(
        lines[0],
        "values config/clusters/gamma/prod.values.yaml 644"
    );
    let (path, mode) = lines[1]
        .strip_prefix("values ")
        .unwrap()
        .rsplit_once(' ')
        .unwrap();
    assert_eq!(mode, "600", "decrypted values are private: {values}");
    assert!(
        path.contains("deploy-secret-") && path.ends_with(".yaml"),
        "{path}"
    );
    assert!(
        !std::path::Path::new(path).exists(),
        "removed after the upgrade"
    );
    let all = out.all();
    let secret = "FAKE-sops-decrypted-secret-value";
    assert_eq!(
        all.matches(secret).count(),
        1,
        "only in the mask command: {all}"
    );
    assert!(all.contains(&format!("::add-mask::{secret}")));
}

#[test]
fn azure_secret_reaches_az_through_a_private_file_never_argv() {
    let out = Test::multi()
        .write(
            "config/clusters/delta/cluster.yaml",
            "name: delta\nprovider: azure\nazure:\n  key: sp.secret.json\n  resource_group: rg-delta\n  cluster: delta-aks\nhubs:\n- name: prod\n  helm_chart: basehub\n  helm_chart_values_files: [prod.values.yaml]\n",
        )
        .write(
            "config/clusters/delta/sp.secret.json",
            r#"{"service_principal_id": "app-123", "tenant_id": "tenant-9", "service_principal_password": "FAKE-azure-sp-password-77"}"#,
        )
        .write(
            "config/clusters/delta/prod.values.yaml",
            "jupyterhub:\n  proxy:\n    secretToken: FAKE-token\n",
        )
        .args(["upgrade-hub", "delta", "prod"])
        .run();
    let calls = &out.calls;
    let login = calls.iter().find(|c| c.starts_with("az login")).unwrap();
    assert!(
        login.starts_with(
            "az login --service-principal --username app-123 --tenant tenant-9 --password @"
        ),
        "{login}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("FAKE-azure-sp-password-77")),
        "never in argv"
    );
    let seen = std::fs::read_to_string(out.fixture.fake.join("az")).unwrap();
    let parts: Vec<&str> = seen.split_whitespace().collect();
    assert_eq!(
        (parts[2], parts[3]),
        ("600", "FAKE-azure-sp-password-77"),
        "{seen}"
    );
    assert!(
        !std::path::Path::new(parts[1]).exists(),
        "removed after the run"
    );
    assert!(calls.iter().any(|c| {
        c.starts_with("az aks get-credentials --resource-group rg-delta --name delta-aks --file ")
    }));
    let all = out.all();
    assert!(!all.contains("FAKE-azure-sp-password-77"));
}

#[test]
fn github_actions_gets_a_group_per_release_and_a_step_summary() {
    let f = Fixture::multi();
    let summary = f.root.join("summary.md");
    let out = f
        .test()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("FAKE_FAIL", "--namespace binder ")
        .args([
            "run",
            "config/clusters/gamma/prod.values.yaml",
            "config/clusters/gamma/binder.values.yaml",
        ])
        .status(1)
        .stderr_contains("::group::done    gamma/prod in")
        .stderr_contains("::group::FAILED  gamma/binder after")
        .env(
            "FAKE_FAIL_TEXT",
            "UPGRADE FAILED: timed out\nwaiting for pod binder-0\n50% done",
        )
        .stderr_contains("::error::gamma/binder: helm upgrade:")
        .run();
    // the whole message in one annotation: the command's last lines, escaped
    let annotation = out
        .stderr
        .lines()
        .find(|l| l.starts_with("::error::gamma/binder"))
        .unwrap();
    assert!(
        annotation
            .contains("UPGRADE FAILED: timed out%0A  | waiting for pod binder-0%0A  | 50%25 done"),
        "{annotation}"
    );
    let md = std::fs::read_to_string(summary).unwrap();
    assert!(
        md.starts_with("## Deploy results\n\n| Release | Cluster | Result | Duration |\n"),
        "{md}"
    );
    assert!(md.contains("| binder | gamma | failed |"), "{md}");
    assert!(
        md.contains("| prod | gamma | succeeded, healthy in "),
        "{md}"
    );
    // each failure with its message and output tail
    let failures = md.split("### Failures").nth(1).expect("a failures section");
    assert!(
        failures.contains("#### gamma/binder (prod) failed after"),
        "{md}"
    );
    assert!(
        failures.contains("waiting for pod binder-0\n  | 50% done"),
        "{md}"
    );
    // the run as a timeline, per cluster
    let chart = md.split("```mermaid\n").nth(1).expect("a timeline");
    assert!(chart.starts_with("gantt\n    dateFormat x\n"), "{chart}");
    assert!(chart.contains("    section gamma\n"), "{chart}");
    assert!(chart.contains("    binder failed : crit, "), "{chart}");
    assert!(chart.contains("    prod succeeded : done, "), "{chart}");
}

#[test]
fn github_actions_gets_an_annotation_per_config_problem_on_its_file_and_line() {
    let f = Fixture::multi();
    let cluster = f.root.join("config/clusters/alpha/cluster.yaml");
    let yaml = std::fs::read_to_string(&cluster).unwrap();
    std::fs::write(
        &cluster,
        yaml.replacen("provider: gcp", "provider: gcpp", 1),
    )
    .unwrap();
    let out = f
        .test()
        .env("GITHUB_ACTIONS", "true")
        .args(["run", "config/clusters/alpha/prod.values.yaml"])
        .status(2)
        .no_calls()
        .run();
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        line.starts_with("::error file=config/clusters/alpha/cluster.yaml,line="),
        "{line}"
    );
    assert!(line.contains(",col="), "{line}");
    assert!(
        line.contains("::config/clusters/alpha/cluster.yaml:"),
        "{line}"
    );
}

/// gamma/prod with a sops-encrypted values file.
fn with_encrypted_values() -> Fixture {
    let f = Fixture::multi();
    f.encrypt_gamma_prod_values();
    f
}

/// The decrypted file helm was given, from the fake helm's record.
fn decrypted_path(f: &Fixture) -> String {
    let values = std::fs::read_to_string(f.fake.join("values-files")).unwrap();
    let line = values
        .lines()
        .find(|l| l.contains("deploy-secret-"))
        .expect("a decrypted values file");
    let (path, mode) = line
        .strip_prefix("values ")
        .unwrap()
        .rsplit_once(' ')
        .unwrap();
    assert_eq!(mode, "600", "{line}");
    path.to_string()
}

#[test]
fn decrypted_values_are_removed_when_the_upgrade_fails() {
    let f = with_encrypted_values();
    f.test()
        .env("FAKE_FAIL", "helm upgrade")
        .args(["upgrade-hub", "gamma", "prod"])
        .status(1)
        .run();
    let path = decrypted_path(&f);
    assert!(
        !std::path::Path::new(&path).exists(),
        "{path} left behind after a failure"
    );
}

#[test]
fn decrypted_values_are_removed_when_interrupted() {
    let f = with_encrypted_values();
    let (out, _) = f.interrupt_at("helm upgrade", &["upgrade-hub", "gamma", "prod"]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let path = decrypted_path(&f);
    assert!(
        !std::path::Path::new(&path).exists(),
        "{path} left behind after SIGTERM"
    );
}

#[test]
fn a_failure_whose_message_says_interrupted_is_a_failure() {
    let f = Fixture::multi();
    f.test()
        .env("FAKE_FAIL", "helm upgrade")
        .env("FAKE_FAIL_TEXT", "UPGRADE FAILED: watch interrupted")
        .args(["upgrade-hub", "gamma", "prod", "--report", "report.json"])
        .status(1)
        .run();
    let r = report(&f);
    assert_eq!(r["status"], "failed");
    assert_eq!(statuses(&r), vec!["gamma/prod failed"]);
}

#[test]
fn ctrl_c_in_a_terminal_is_an_interruption_though_helm_died_of_it() {
    let f = with_encrypted_values();
    let (child, _) = f.start_sleeping(
        "helm upgrade",
        &["upgrade-hub", "gamma", "prod", "--report", "report.json"],
        &[],
    );
    // the terminal signals the whole process group: helm dies of SIGINT before deploy forwards it
    common::signal_group(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        f.calls().contains(&"fake helm: got SIGINT".to_string()),
        "{:?}",
        f.calls()
    );
    assert!(!stderr.contains("failed with"), "{stderr}");
    let r = report(&f);
    assert_eq!(r["status"], "interrupted");
    assert_eq!(statuses(&r), vec!["gamma/prod interrupted"]);
    assert!(!std::path::Path::new(&decrypted_path(&f)).exists());
}

#[test]
fn ctrl_c_to_deploy_alone_reaches_helm_as_sigterm_after_a_grace() {
    let f = with_encrypted_values();
    // `kill -INT <deploy>`: helm did not get it, so deploy passes it on (as SIGTERM) once the
    // grace a terminal's Ctrl-C gives helm to stop on its own (2 s) is over
    let (child, _) = f.start_sleeping(
        "helm upgrade",
        &["upgrade-hub", "gamma", "prod", "--report", "report.json"],
        &[],
    );
    let t = std::time::Instant::now();
    common::signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let calls = f.calls();
    assert!(
        calls.contains(&"fake helm: got SIGTERM".to_string()),
        "{calls:?}"
    );
    assert!(
        !calls.contains(&"fake helm: got SIGINT".to_string()),
        "{calls:?}"
    );
    assert!(took >= std::time::Duration::from_secs(2), "{took:?}");
    assert_eq!(report(&f)["status"], "interrupted");
    assert!(!std::path::Path::new(&decrypted_path(&f)).exists());
}

#[test]
fn sighup_stops_like_sigterm() {
    let f = with_encrypted_values();
    let (out, _) = f.signal_at(
        "helm upgrade",
        &["upgrade-hub", "gamma", "prod", "--report", "report.json"],
        &[],
        libc::SIGHUP,
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let calls = f.calls();
    assert!(
        calls.contains(&"fake helm: got SIGTERM".to_string()),
        "helm was stopped: {calls:?}"
    );
    assert_eq!(report(&f)["status"], "interrupted");
    assert!(!std::path::Path::new(&decrypted_path(&f)).exists());
    for k in f.kubeconfigs() {
        assert!(!std::path::Path::new(&k).exists(), "{k} left behind");
    }
    assert!(
        std::fs::read_dir(f.fake.join("leases"))
            .unwrap()
            .next()
            .is_none(),
        "lease released"
    );
}

#[test]
fn a_second_sigterm_exits_at_once_and_still_removes_the_secrets() {
    let f = with_encrypted_values();
    let (child, _) = f.start_sleeping(
        "helm upgrade",
        &["upgrade-hub", "gamma", "prod"],
        &[("FAKE_IGNORE_TERM", "1")],
    );
    common::signal(&child, libc::SIGTERM);
    // deploy forwards the first one to helm, which ignores it
    let t = std::time::Instant::now();
    while !f
        .calls()
        .contains(&"fake helm: ignored SIGTERM".to_string())
    {
        assert!(t.elapsed().as_secs() < 10, "not forwarded: {:?}", f.calls());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let decrypted = decrypted_path(&f);
    let kubeconfigs = f.kubeconfigs();
    assert!(!kubeconfigs.is_empty());
    for k in &kubeconfigs {
        assert!(
            std::path::Path::new(k).exists(),
            "{k} is there until the exit"
        );
    }
    let t = std::time::Instant::now();
    common::signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let took = t.elapsed();
    f.kill_sleeper();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    // without waiting for helm's grace period (10 s) to end
    assert!(took.as_secs() < 5, "took {took:?}");
    assert!(
        stderr.contains("interrupted again: stopping at once"),
        "{stderr}"
    );
    assert!(
        !std::path::Path::new(&decrypted).exists(),
        "{decrypted} left"
    );
    for k in &kubeconfigs {
        let dir = std::path::Path::new(k).parent().unwrap();
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn a_run_started_with_sigchld_ignored_still_waits_for_its_commands() {
    // (a parent that ignores SIGCHLD passes that on: the kernel would then reap deploy's commands
    // itself, and waiting for them would fail with "No child processes")
    use std::os::unix::process::CommandExt;
    let f = Fixture::multi();
    f.set_deployments(&["hub", "proxy"]);
    let mut cmd = f.command();
    cmd.args(["run", "config/clusters/gamma/prod.values.yaml"]);
    // SAFETY: signal(2) in the child before exec, async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("done    gamma/prod in"), "{stderr}");
}
