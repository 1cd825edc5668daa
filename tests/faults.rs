//! Faults: an external command hanging past its watchdog, one killed by a signal, git missing,
//! a report that cannot be written. Each fails clearly with the right exit status.

mod common;

use common::{Fixture, text};

#[test]
fn a_hung_command_is_stopped_by_its_watchdog() {
    let f = Fixture::example();
    let t = std::time::Instant::now();
    let out = f
        .deploy()
        .env("DEPLOY_NETWORK_TIMEOUT", "1")
        .env("FAKE_SLEEP_ON", "gcloud auth")
        .arg("ea-hub")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(t.elapsed().as_secs() < 15, "stopped, not waited out");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("setup failed: `gcloud auth activate-service-account --key-file=secrets/gke-auth-key.json` did not finish within 1s and was stopped"),
        "{stderr}"
    );
    assert!(
        f.calls().contains(&"fake gcloud: got SIGTERM".to_string()),
        "the hung process got SIGTERM"
    );
    assert!(
        !f.calls().iter().any(|c| c.starts_with("docker")),
        "nothing after the hung step"
    );
}

#[test]
fn a_command_killed_by_a_signal_fails_the_step() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    let out = f
        .deploy()
        .env("FAKE_KILL_ON", "helm upgrade")
        .args(["ea-hub", "--no-setup", "--deploy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("deploy (helm upgrade) failed: `helm upgrade --install"),
        "{stderr}"
    );
    assert!(stderr.contains("failed with a signal"), "{stderr}");
    assert_eq!(
        f.calls().last().map(String::as_str),
        Some("kubectl -n ea-hub delete lease deploy-ea-hub --ignore-not-found"),
        "the lease is still released"
    );
}

#[test]
fn git_missing_is_named_before_anything_runs() {
    let f = Fixture::example();
    f.remove_tool("git");
    let out = f.deploy().args(["ea-hub", "--build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("required programs not found on PATH: git"),
        "{}",
        text(&out.stderr)
    );
    assert!(f.calls().is_empty());
    // --base needs git as well
    let f = Fixture::multi();
    f.remove_tool("git");
    let out = f
        .deploy()
        .args(["plan", "--base", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("required programs not found on PATH: git"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_report_that_cannot_be_written_fails_the_run() {
    let f = Fixture::multi();
    let out = f
        .deploy()
        .args([
            "run",
            "--report",
            "/dev/full",
            "config/clusters/gamma/prod.values.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("writing the report /dev/full"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

/// Run deploy as `nobody` (root ignores file modes) in a repo nobody cannot write to.
fn as_nobody(f: &Fixture, args: &[&str]) -> std::process::Output {
    // nobody must be able to reach the repo and the binary, but not write anything of the repo
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX,a-w"])
        .arg(&f.root)
        .status()
        .unwrap();
    assert!(status.success());
    let mut dir = f.root.parent();
    while let Some(d) = dir {
        let _ = std::process::Command::new("chmod")
            .arg("a+x")
            .arg(d)
            .status();
        dir = d.parent();
    }
    let exe = assert_cmd::cargo::cargo_bin("deploy");
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(exe)
        .args(args)
        .current_dir(&f.root)
        .env("PATH", format!("{}:/usr/bin:/bin", f.bin.display()))
        .env("HOME", "/nonexistent")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env(
            "GIT_CONFIG_PARAMETERS",
            format!("'safe.directory={}'", f.root.display()),
        )
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

#[test]
fn a_read_only_repo_can_be_planned_validated_and_dry_run() {
    if which::which("setpriv").is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "setpriv (util-linux) is needed for this test in CI"
        );
        eprintln!("SKIPPED: setpriv not found");
        return;
    }
    let f = Fixture::multi();
    for args in [
        vec![
            "plan",
            "--format",
            "json",
            "config/clusters/alpha/common.values.yaml",
        ],
        vec!["validate"],
        vec!["run", "--dry-run", "config/clusters/gamma/prod.values.yaml"],
    ] {
        let out = as_nobody(&f, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    // deploy writes nothing into the repo: a report there is the one thing that needs a write,
    // and a folder it cannot write in is refused before anything runs
    let out = as_nobody(
        &f,
        &[
            "run",
            "--dry-run",
            "--report",
            "report.json",
            "config/clusters/gamma/prod.values.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--report report.json: cannot write in ."),
        "{}",
        text(&out.stderr)
    );
    assert!(f.calls().is_empty(), "{:?}", f.calls());
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&f.root)
        .status();
}
