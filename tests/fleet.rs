//! `deploy status` against the fake tools: `helm get metadata` answers from installed releases
//! written into the fake's state (tests/fake-tools/fake-tool).

mod common;

use common::Fixture;
use serde_json::json;

fn installed(f: &Fixture, release: &str, revision: u64, status: &str) {
    let dir = f.fake.join("live").join(release);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = json!({
        "name": release, "namespace": release, "revision": revision, "status": status,
        "chart": "basehub", "version": "0.1.0", "appVersion": "4.1.5",
        "deployedAt": "2026-11-30T01:02:03Z",
    });
    std::fs::write(dir.join("metadata.json"), meta.to_string()).unwrap();
}

#[test]
fn status_says_what_is_deployed_where_and_what_is_pending() {
    let f = Fixture::multi();
    installed(&f, "staging", 4, "pending-upgrade");
    installed(&f, "prod", 7, "deployed");
    installed(&f, "physics", 2, "failed");
    // climate and support are not installed; old-hub left cluster.yaml but deploy's label
    // finds it (prod, in cluster.yaml too, is listed once)
    std::fs::write(
        f.fake.join("helm-list.json"),
        r#"[{"name":"prod","namespace":"prod","revision":"7","updated":"2026-11-30 01:02:03.5 +0000 UTC","status":"deployed","chart":"basehub-0.1.0","app_version":"4.1.5"},
{"name":"old-hub","namespace":"old-hub","revision":"3","updated":"2026-11-29 10:11:12.123456 +0000 UTC","status":"deployed","chart":"basehub-0.1.0","app_version":"4.1.5"}]"#,
    )
    .unwrap();
    let out = f.test().args(["status", "alpha"]).run();
    insta::assert_snapshot!("status_table", out.stdout);
    // it only reads: credentials, then one query per release and one list of deploy's releases
    let helm: Vec<&String> = out.calls.iter().filter(|c| c.starts_with("helm")).collect();
    assert_eq!(helm.len(), 6, "{helm:#?}");
    assert!(
        helm[..5]
            .iter()
            .all(|c| c.starts_with("helm get metadata ")),
        "{helm:#?}"
    );
    assert_eq!(
        helm[5],
        "helm list --all-namespaces --all --selector deploy-revision -o json"
    );

    let v = f
        .test()
        .args(["status", "alpha", "--format", "json"])
        .run()
        .json();
    let staging = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == "staging")
        .unwrap();
    assert_eq!(
        staging,
        &json!({
            "cluster": "alpha", "release": "staging", "kind": "staging", "installed": true,
            "revision": 4, "chart": "basehub 0.1.0", "app_version": "4.1.5",
            "status": "pending-upgrade", "deployed_at": "2026-11-30T01:02:03Z", "pending": true,
            "in_config": true
        })
    );
    let support = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == "support")
        .unwrap();
    assert_eq!(
        (&support["installed"], &support["status"]),
        (&json!(false), &json!("not installed"))
    );
    let old = v.as_array().unwrap().last().unwrap();
    assert_eq!(
        old,
        &json!({
            "cluster": "alpha", "release": "old-hub", "kind": null, "installed": true,
            "revision": 3, "chart": "basehub 0.1.0", "app_version": "4.1.5",
            "status": "deployed", "deployed_at": "2026-11-29T10:11:12Z", "pending": false,
            "in_config": false
        })
    );

    let md = f
        .test()
        .args(["status", "alpha", "--format", "markdown"])
        .run();
    assert!(
        md.stdout.starts_with("| CLUSTER | RELEASE | KIND |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains(
            "| alpha | staging | staging | 4 | basehub 0.1.0 | 4.1.5 | pending-upgrade (PENDING) |"
        ),
        "{}",
        md.stdout
    );
}

#[test]
fn status_live_compares_each_release_under_the_one_set_of_credentials() {
    let f = Fixture::multi();
    installed(&f, "prod", 7, "deployed");
    let out = f
        .test()
        .args(["status", "alpha", "--live", "--format", "json"])
        .run();
    let v = out.json();
    for r in v.as_array().unwrap() {
        assert!(r["live"].is_string(), "{r}");
    }
    let logins = out
        .calls
        .iter()
        .filter(|c| c.starts_with("gcloud container clusters get-credentials"))
        .count();
    assert_eq!(logins, 1, "{:#?}", out.calls);
}

#[test]
fn status_of_an_unreachable_cluster_says_why_and_exits_1() {
    let f = Fixture::multi();
    let out = f
        .test()
        .args(["status", "alpha", "--format", "json"])
        .env("FAKE_FAIL", "gcloud container clusters get-credentials")
        .status(1)
        .run();
    let v = out.json();
    assert!(v.as_array().unwrap().iter().all(|r| {
        r["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cluster credentials failed"))
    }));
    assert!(
        out.stderr.contains("release(s) could not be read"),
        "{}",
        out.stderr
    );
}

#[test]
fn credentials_runs_a_command_with_the_clusters_kubeconfig_then_removes_it() {
    let f = Fixture::multi();
    let script = "echo \"$KUBECONFIG\"; test -s \"$KUBECONFIG\" && echo \"$DEPLOY_CLUSTER\"";
    let out = f
        .test()
        .args(["credentials", "gamma", "--", "/bin/sh", "-c", script])
        .run();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(
        lines[1], "gamma",
        "the file was there while the command ran"
    );
    let kubeconfig = std::path::Path::new(lines[0]);
    assert!(
        kubeconfig.is_absolute() && !kubeconfig.exists(),
        "{lines:?}"
    );
    assert!(
        out.stderr
            .contains("gamma: the cluster's credentials were removed"),
        "{}",
        out.stderr
    );
    // its exit status decides
    f.test()
        .args(["credentials", "gamma", "--", "/bin/sh", "-c", "exit 3"])
        .status(1)
        .stderr_contains("the command exited with 3")
        .run();
    // a command ended by a signal (deploy was sent none) failed, and says which
    f.test()
        .args([
            "credentials",
            "gamma",
            "--",
            "/bin/sh",
            "-c",
            "kill -TERM $$",
        ])
        .status(1)
        .stderr_contains("the command was ended by signal 15 (SIGTERM)")
        .run();
}

#[test]
fn credentials_sent_sigterm_stops_its_command_removes_the_credentials_and_exits_130() {
    let f = Fixture::multi();
    // (ignoring SIGTERM, as an interactive shell does: deploy passes SIGHUP on)
    let (child, kubeconfig) = credentials_in_a_group(&f, "trap '' TERM; exec /bin/sleep 30");
    assert!(kubeconfig.exists(), "{}", kubeconfig.display());
    let t = std::time::Instant::now();
    common::signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(8),
        "the command was stopped at once, not waited for (nor killed after the grace period)"
    );
    assert!(!kubeconfig.exists(), "the credentials were removed");
    assert!(
        stderr.contains("gamma: the cluster's credentials were removed"),
        "{stderr}"
    );
}

#[test]
fn rollback_and_uninstall_refuse_what_the_config_says_before_running_anything() {
    let f = Fixture::multi();
    f.test()
        .args(["rollback", "alpha", "gone"])
        .status(2)
        .stderr_contains("config/clusters/alpha/cluster.yaml: no hub `gone` (hubs: staging, prod, physics, climate)")
        .no_calls()
        .run();
    f.test()
        .args(["uninstall", "alpha", "prod", "--yes"])
        .status(2)
        .stderr_contains("`prod` is still in this file")
        .no_calls()
        .run();
    f.test()
        .args(["uninstall", "alpha", "gone"])
        .stdin("")
        .status(2)
        .stderr_contains("pass --yes to confirm")
        .no_calls()
        .run();
    // a release that is not installed: said so, no lease taken
    let out = f
        .test()
        .args(["uninstall", "alpha", "gone", "--yes"])
        .status(1)
        .stderr_contains("alpha/gone is not installed")
        .run();
    assert!(
        !out.calls.iter().any(|c| c.contains("lease")),
        "{:#?}",
        out.calls
    );
}

#[test]
fn run_prune_uninstalls_the_hubs_a_change_removed_after_the_upgrades() {
    let f = Fixture::multi();
    installed(&f, "climate", 3, "deployed");
    let alpha = "config/clusters/alpha/cluster.yaml";
    let text = std::fs::read_to_string(f.root.join(alpha)).unwrap();
    let start = text.find("  - name: climate").unwrap();
    f.write(alpha, &text[..start]);
    f.commit_all("climate leaves");
    let args = ["run", "--base", "HEAD~1", "--head", "HEAD"];
    // without --prune: said, not done
    let out = f.test().args(args).run();
    assert!(
        out.stderr.contains("hub climate was removed"),
        "{}",
        out.stderr
    );
    assert!(!out.calls.iter().any(|c| c.starts_with("helm uninstall")));
    let out = f.test().args(args).arg("--prune").run();
    let uninstall: Vec<&String> = out
        .calls
        .iter()
        .filter(|c| c.starts_with("helm uninstall"))
        .collect();
    assert_eq!(
        uninstall,
        ["helm uninstall climate --namespace climate --wait --timeout 10m"]
    );
    assert!(
        out.stderr.contains("pruned  uninstalled alpha/climate"),
        "{}",
        out.stderr
    );
    // under its lease
    let lease = out
        .calls
        .iter()
        .position(|c| c.contains("create -o json -f -"))
        .unwrap();
    let at = out
        .calls
        .iter()
        .position(|c| c.starts_with("helm uninstall"))
        .unwrap();
    assert!(lease < at, "{:#?}", out.calls);
}

/// `deploy credentials` in its own process group (as a terminal's foreground job), its command
/// printing its KUBECONFIG first; the child and that path.
fn credentials_in_a_group(f: &Fixture, script: &str) -> (std::process::Child, std::path::PathBuf) {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let mut child = f
        .command()
        .args(["credentials", "gamma", "--", "/bin/sh", "-c"])
        .arg(format!("echo \"$KUBECONFIG\"; {script}"))
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, std::path::PathBuf::from(line.trim()))
}

#[test]
fn ctrl_c_that_the_command_outlives_is_its_own_and_one_that_ends_it_is_an_interruption() {
    let f = Fixture::multi();
    // a command that catches Ctrl-C (a REPL): twice, and it ends well; deploy neither stops it
    // nor exits at the second Ctrl-C
    let (child, kubeconfig) = credentials_in_a_group(
        &f,
        "trap 'echo caught >&2' INT; /bin/sleep 1; /bin/sleep 1; /bin/sleep 1; exit 0",
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    common::signal_group(&child, libc::SIGINT);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    common::signal_group(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!kubeconfig.exists());
    // a command that Ctrl-C ends: deploy was interrupted too
    let (child, kubeconfig) = credentials_in_a_group(&f, "exec /bin/sleep 30");
    std::thread::sleep(std::time::Duration::from_millis(300));
    common::signal_group(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(!kubeconfig.exists());
}
