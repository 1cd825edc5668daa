//! `deploy doctor` as a user runs it, against the fake tools (which answer version probes, see
//! tests/fake-tools/fake-tool): what a run of the repo needs comes from the repo (every release's
//! run plan, or every legacy chart's deploy), each program's version is asked once, each
//! credentials file looked at; exit 0 when all is there, 1 when something is missing or the
//! wrong version (the table says how to install it), 2 when the config is broken.

mod common;

use common::Fixture;

/// The fake tools answer every probe, git's too (the real git's version differs per machine).
fn multi() -> Fixture {
    let f = Fixture::multi();
    f.fake_tool("git");
    f
}

/// The 2i2c-style fixture (sops-encrypted credentials, jsonnet values) with a Go jsonnet.
fn hub_ops_2i2c() -> Fixture {
    let f = Fixture::hub_ops_2i2c();
    f.fake_tool("git");
    f.fake_tool("jsonnet");
    f
}

const MULTI_PROBES: [&str; 6] = [
    "aws --version",
    "curl --version",
    "gcloud version",
    "git --version",
    "helm version --short",
    "kubectl version --client -o json",
];

#[test]
fn everything_found_is_exit_0_with_the_table() {
    let f = multi();
    let out = f.test().args(["doctor"]).calls(MULTI_PROBES).run();
    insta::assert_snapshot!(out.stdout);
    assert!(out.stderr.contains("ready: all 9"), "{}", out.stderr);
    // nothing of a credentials file is shown but its name
    let key = std::fs::read_to_string(
        f.root
            .join("config/clusters/alpha/deployer-credentials.secret.json"),
    )
    .unwrap();
    assert!(key.contains("FAKE0000"));
    assert!(!out.all().contains("FAKE0000"));
}

#[test]
fn json_lists_every_check_and_ok() {
    let f = multi();
    let out = f.test().args(["doctor", "--format", "json"]).run();
    insta::assert_snapshot!(out.stdout);
    let v = out.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["checks"].as_array().unwrap().len(), 9);
}

#[test]
fn a_missing_program_is_exit_1_naming_it_and_how_to_install_it() {
    let f = multi();
    f.remove_tool("helm");
    let out = f
        .test()
        .args(["doctor"])
        .status(1)
        .stderr_contains("helm: missing; https://helm.sh/docs/intro/install/")
        .run();
    let row = out.stdout.lines().find(|l| l.starts_with("helm ")).unwrap();
    assert!(row.contains(" missing "), "{row}");
    assert!(
        row.contains("scripts/install-tools (helm 3, Go jsonnet)"),
        "{row}"
    );
    // the others are still checked
    assert!(
        out.calls
            .iter()
            .any(|c| c == "kubectl version --client -o json")
    );
    let v = f
        .test()
        .args(["doctor", "--format", "json"])
        .status(1)
        .run()
        .json();
    assert_eq!(v["ok"], false);
    let helm = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "helm")
        .unwrap();
    assert_eq!(helm["status"], "missing");
    assert_eq!(helm["version"], serde_json::Value::Null);
}

#[test]
fn a_missing_credentials_file_is_exit_1() {
    let f = multi();
    let key = "config/clusters/beta/deployer-credentials.secret.json";
    f.remove(key);
    let out = f
        .test()
        .args(["doctor"])
        .status(1)
        .stderr_contains(format!(
            "{key}: missing; the file `aws.key` in config/clusters/beta/cluster.yaml names"
        ))
        .run();
    let row = out.stdout.lines().find(|l| l.starts_with(key)).unwrap();
    assert!(row.contains(" missing "), "{row}");
    assert!(
        row.contains("the credentials of cluster beta (aws.key)"),
        "{row}"
    );
    // a folder where the file should be will not do either
    std::fs::create_dir(f.root.join(key)).unwrap();
    f.test()
        .args(["doctor"])
        .status(1)
        .stdout_contains("a folder is there, not a file")
        .run();
}

#[test]
fn helm_older_than_3_13_is_the_wrong_version() {
    let f = multi();
    f.tool_version("helm", "v3.12.3+g3a31588\n");
    let out = f
        .test()
        .args(["doctor"])
        .status(1)
        .stderr_contains("helm: wrong version 3.12.3;")
        .run();
    let row = out.stdout.lines().find(|l| l.starts_with("helm ")).unwrap();
    assert!(row.contains("wrong version  3.12.3"), "{row}");
    assert!(row.contains("3.13 or newer"), "{row}");
    f.tool_version("helm", "Client: v2.17.0+ga690bad\n");
    f.test()
        .args(["doctor"])
        .status(1)
        .stderr_contains("helm: wrong version 2.17.0;")
        .run();
}

#[test]
fn a_version_probe_that_fails_is_found_version_unknown() {
    let f = multi();
    let out = f
        .test()
        .args(["doctor"])
        .env("FAKE_FAIL", "gcloud version")
        .run();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("gcloud "))
        .unwrap();
    assert!(row.contains("found   unknown"), "{row}");
}

#[test]
fn the_2i2c_layout_needs_sops_and_the_go_jsonnet() {
    let f = hub_ops_2i2c();
    let out = f
        .test()
        .args(["doctor"])
        .calls([
            "aws --version",
            "curl --version",
            "gcloud version",
            "git --version",
            "helm version --short",
            "jsonnet --version",
            "kubectl version --client -o json",
            "sops --version --disable-version-check",
        ])
        .run();
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn the_cpp_jsonnet_is_reported_wrong() {
    let f = hub_ops_2i2c();
    f.tool_version("jsonnet", "Jsonnet commandline interpreter v0.20.0\n");
    let out = f
        .test()
        .args(["doctor"])
        .status(1)
        .stderr_contains("jsonnet: wrong version 0.20.0, not the Go implementation;")
        .run();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("jsonnet "))
        .unwrap();
    assert!(row.contains("go-jsonnet"), "{row}");
}

#[test]
fn encrypted_files_without_sops_are_exit_1() {
    let f = hub_ops_2i2c();
    f.remove_tool("sops");
    f.test()
        .args(["doctor"])
        .status(1)
        .stdout_contains("decrypting 7 sops-encrypted files")
        .stderr_contains("sops: missing; https://github.com/getsops/sops/releases")
        .run();
}

#[test]
fn a_flux_run_cluster_needs_git_and_no_credentials() {
    let f = multi();
    let c = std::fs::read_to_string(f.root.join("config/clusters/gamma/cluster.yaml")).unwrap();
    f.write(
        "config/clusters/gamma/cluster.yaml",
        c.replace(
            "hubs:",
            "gitops:\n  repo: /nonexistent/releases\n  path: gamma\nhubs:",
        ),
    );
    let out = f.test().args(["doctor"]).run();
    assert!(
        out.stdout
            .contains("pushing the HelmReleases of Flux-run clusters: gamma"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("gamma/deployer-credentials"),
        "{}",
        out.stdout
    );
    // alpha and beta still run helm: 2 + 4 hubs, 2 support charts
    assert!(
        out.stdout.contains("upgrading 10 releases"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_legacy_layout_needs_what_a_full_deploy_needs() {
    let f = Fixture::example();
    f.fake_tool("git");
    let out = f
        .test()
        .args(["doctor"])
        .calls([
            "docker --version",
            "gcloud version",
            "git --version",
            "helm version --short",
            "kubectl version --client -o json",
        ])
        .run();
    insta::assert_snapshot!(out.stdout);
    f.write("secrets/dockerhub", b"\0GITCRYPT\0\x8a\x01");
    f.test()
        .args(["doctor"])
        .status(1)
        .stderr_contains(
            "secrets/dockerhub: missing; still git-crypt encrypted: run `git-crypt unlock`",
        )
        .run();
    f.remove("secrets/gke-auth-key.json");
    f.test()
        .args(["doctor"])
        .status(1)
        .stderr_contains("secrets/gke-auth-key.json: missing;")
        .run();
}
