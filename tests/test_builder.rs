//! The `Test` builder of tests/common: it passes when every expectation holds, fails on each kind
//! of unmet expectation (so no binary test can pass without checking), and its report shows the
//! command and what differs.

mod common;

use common::{Fixture, Test, manifest_dir};

/// What `deploy --version` prints: the package version and the commit it was built from.
fn version() -> String {
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(common::manifest_dir())
        .output()
        .unwrap();
    format!(
        "deploy {} (commit {})\n",
        env!("CARGO_PKG_VERSION"),
        String::from_utf8_lossy(&head.stdout).trim()
    )
}

/// The three setup calls of `deploy ea-hub` in the example.
fn setup_calls() -> [&'static str; 3] {
    [
        "gcloud auth activate-service-account --key-file=secrets/gke-auth-key.json",
        "gcloud container clusters get-credentials jhub --zone=us-central1-b --project=ea-jupyter",
        "docker login -u earthlabcu --password-stdin docker.io",
    ]
}

#[test]
fn every_expectation_met_passes_and_hands_back_the_output() {
    let out = Test::empty()
        .arg("--version")
        .status(0)
        .stdout(version())
        .stdout_contains("deploy ")
        .stderr("")
        .no_calls()
        .run();
    assert_eq!(out.stdout, version());
    assert!(out.status.success());
    assert!(
        out.fixture.root.join(".git").is_dir(),
        "the fixture is kept"
    );
}

#[test]
fn calls_are_those_of_this_run_only() {
    let f = Fixture::example();
    for _ in 0..2 {
        let out = f.test().arg("ea-hub").calls(setup_calls()).run();
        assert_eq!(out.calls, setup_calls());
    }
    assert_eq!(f.calls().len(), 6);
}

#[test]
fn args_env_stdin_and_current_dir_reach_deploy() {
    let example = manifest_dir().join("examples/multi-cluster");
    let out = Test::empty()
        .current_dir(&example)
        .args(["plan", "--format", "json", "--changed-from", "-"])
        .stdin("config/clusters/gamma/prod.values.yaml\n")
        .env("GITHUB_ACTIONS", "true")
        .no_calls()
        .run();
    assert_eq!(out.json()["prod-jobs"][0]["hub_name"], "prod");
    // the fixture's environment is replaced where the test says so
    Test::example()
        .env("FAKE_FAIL", "gcloud auth")
        .arg("ea-hub")
        .status(1)
        .calls([setup_calls()[0]])
        .run();
}

#[test]
fn fixture_changes_are_made_before_the_run() {
    Test::example()
        .remove("deploy.yaml")
        .arg("ea-hub")
        .status(2)
        .stderr_contains("no hub-ops repo: neither deploy.yaml")
        .run();
    Test::example()
        .remove_tool("helm")
        .args(["ea-hub", "--deploy"])
        .status(2)
        .stderr_contains("required programs not found on PATH: helm")
        .run();
}

#[test]
#[should_panic(expected = "status: expected 2, got 0")]
fn a_wrong_status_fails() {
    Test::empty().arg("--version").status(2).run();
}

#[test]
#[should_panic(expected = "status: expected 0, got 2")]
fn the_status_is_checked_when_not_stated() {
    Test::empty().run();
}

#[test]
#[should_panic(expected = "stdout: not the expected text")]
fn a_different_stdout_fails() {
    Test::empty()
        .arg("--version")
        .stdout("deploy 0.0.0\n")
        .run();
}

#[test]
#[should_panic(expected = "stdout: does not contain \"nope\"")]
fn a_missing_stdout_part_fails() {
    Test::empty().arg("--version").stdout_contains("nope").run();
}

#[test]
#[should_panic(expected = "stderr: not the expected text")]
fn a_different_stderr_fails() {
    Test::empty().arg("--version").stderr("a warning\n").run();
}

#[test]
#[should_panic(expected = "stderr: does not contain \"valid charts\"")]
fn a_missing_stderr_part_fails() {
    Test::empty()
        .arg("--version")
        .stderr_contains("valid charts")
        .run();
}

#[test]
#[should_panic(expected = "calls: not the expected ones")]
fn different_calls_fail() {
    Test::example()
        .arg("ea-hub")
        .calls(&setup_calls()[..2])
        .run();
}

#[test]
#[should_panic(expected = "calls: not the expected ones")]
fn calls_where_none_were_expected_fail() {
    Test::example().arg("ea-hub").no_calls().run();
}

#[test]
#[should_panic(expected = "calls: not the expected ones")]
fn no_calls_where_some_were_expected_fail() {
    Test::empty().arg("--version").calls(["helm version"]).run();
}

#[test]
fn the_report_shows_the_command_each_problem_and_the_output() {
    let panic = std::panic::catch_unwind(|| {
        Test::empty()
            .context("row 7")
            .env("FAKE_X", "a b")
            .arg("--version")
            .status(1)
            .stdout("deploy 0.0.0\n")
            .stderr_contains("warning")
            .run();
    })
    .expect_err("the run fails");
    let report = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        report.starts_with("`deploy` did not do what the test expected (3 problems)\n"),
        "{report}"
    );
    assert!(report.contains("context: row 7\n"), "{report}");
    assert!(
        report.contains(" && FAKE_X='a b' deploy --version\n"),
        "{report}"
    );
    assert!(report.contains("* status: expected 1, got 0\n"), "{report}");
    // a diff of the expected and actual stdout
    assert!(report.contains("\n-deploy 0.0.0\n"), "{report}");
    assert!(report.contains(&format!("\n+{}", version())), "{report}");
    assert!(
        report.contains("* stderr: does not contain \"warning\"\n"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "--- stdout ({} bytes) ---\n{}",
            version().len(),
            version()
        )),
        "{report}"
    );
}
