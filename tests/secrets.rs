//! Planted secrets, one unique string per secret source, never appear in anything deploy
//! produces: stdout and stderr of every kind of run (verbose, GitHub Actions, dry runs, failures,
//! tools that echo what they were given), reports, Markdown plans, GitHub output files, and the
//! argv the fake tools saw. (`::add-mask::` lines are the one place a value is handed to CI.)

mod common;

use std::path::Path;

use common::{Fixture, Output, Test};

const DOCKER: &str = "PLANTED-docker-5f1c20";
const VALUES: &str = "PLANTED-values-3b7e91";
const AWS: &str = "PLANTED-aws-secret-9c4f77";
const AZURE: &str = "PLANTED-azure-sp-1d6b02";
const SOPS: &str = "PLANTED-sops-value-7e2a55";
const KUBE: &str = "PLANTED-kubeconfig-token-4e8c13";
const ALL: [&str; 6] = [DOCKER, VALUES, AWS, AZURE, SOPS, KUBE];

/// A run: what it is, its exit status, its arguments, its extra environment.
type Run<'a> = (&'a str, i32, Vec<&'a str>, Vec<(&'a str, &'a str)>);

struct Capture {
    text: String,
}

impl Capture {
    fn add_output(&mut self, what: &str, out: &Output) {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for line in text.lines() {
                // the mask command is how CI learns what to hide: it is meant to carry the value
                if !line.starts_with("::add-mask::") {
                    self.text.push_str(&format!("[{what} {stream}] {line}\n"));
                }
            }
        }
    }
    fn add_file(&mut self, what: &str, path: &Path) {
        if let Ok(t) = std::fs::read_to_string(path) {
            self.text.push_str(&format!("[{what}] {t}\n"));
        }
    }
    fn assert_clean(&self) {
        for s in ALL {
            if let Some(i) = self.text.find(s) {
                let start = self.text[..i].rfind('\n').map_or(0, |j| j + 1);
                let end = self.text[i..].find('\n').map_or(self.text.len(), |j| i + j);
                panic!("planted secret {s} leaked: {}", &self.text[start..end]);
            }
        }
    }
}

fn legacy() -> Fixture {
    let f = Fixture::example();
    f.write("secrets/dockerhub", format!("{DOCKER}\n"));
    let v = std::fs::read_to_string(f.root.join("secrets/ea-hub.yaml")).unwrap();
    let v = v.replacen("secretToken: ", &format!("secretToken: {VALUES} #"), 1);
    assert!(v.contains(VALUES));
    f.write("secrets/ea-hub.yaml", &v);
    f.set_deployments(&["hub"]);
    f.commit_all("plant");
    f
}

fn multi() -> Fixture {
    let f = Fixture::multi();
    f.write(
        "config/clusters/beta/deployer-credentials.secret.json",
        format!(r#"{{"AccessKey": {{"AccessKeyId": "AKIAFAKE", "SecretAccessKey": "{AWS}"}}}}"#),
    );
    let kc = std::fs::read_to_string(
        f.root
            .join("config/clusters/gamma/deployer-credentials.secret.yaml"),
    )
    .unwrap();
    let kc = kc
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("token:") {
                format!("    token: {KUBE}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(kc.contains(KUBE), "{kc}");
    f.write(
        "config/clusters/gamma/deployer-credentials.secret.yaml",
        &kc,
    );
    f.encrypt_gamma_prod_values();
    f.write(
        "config/clusters/delta/cluster.yaml",
        "name: delta\nprovider: azure\nazure: {key: sp.secret.json, resource_group: rg, cluster: aks}\nhubs:\n- name: delta-prod\n  helm_chart: basehub\n  helm_chart_values_files: [prod.values.yaml]\n",
    );
    f.write(
        "config/clusters/delta/sp.secret.json",
        format!(r#"{{"appId": "app", "tenant": "t", "password": "{AZURE}"}}"#),
    );
    f.write(
        "config/clusters/delta/prod.values.yaml",
        "jupyterhub:\n  proxy:\n    secretToken: FAKE-delta-token\n",
    );
    f.commit_all("plant");
    f
}

#[test]
fn planted_secrets_never_leak_from_any_run() {
    let mut cap = Capture {
        text: String::new(),
    };
    let echo = [
        ("FAKE_ECHO_STDIN", "1"),
        ("FAKE_ECHO_VALUES", "1"),
        ("FAKE_SOPS_VALUE", SOPS),
    ];

    let f = legacy();
    let runs: Vec<Run> = vec![
        (
            "legacy full",
            0,
            vec!["ea-hub", "--build", "--push", "--deploy", "-v"],
            vec![],
        ),
        (
            "legacy github",
            0,
            vec!["ea-hub", "--deploy", "-v"],
            vec![("GITHUB_ACTIONS", "true")],
        ),
        (
            "legacy travis",
            0,
            vec!["ea-hub", "--deploy"],
            vec![("TRAVIS", "true")],
        ),
        (
            "legacy dry run",
            0,
            vec!["ea-hub", "--build", "--push", "--deploy", "--dry-run", "-v"],
            vec![],
        ),
        (
            "legacy login fails",
            1,
            vec!["ea-hub", "-v"],
            vec![("FAKE_FAIL", "docker login")],
        ),
        (
            "legacy upgrade fails",
            1,
            vec!["ea-hub", "--deploy", "-v"],
            vec![("FAKE_FAIL", "helm upgrade")],
        ),
        (
            "legacy validate",
            0,
            vec!["validate", "--format", "json"],
            vec![],
        ),
        (
            "legacy plan",
            0,
            vec!["plan", "--format", "markdown", "secrets/ea-hub.yaml"],
            vec![],
        ),
        ("legacy doctor", 0, vec!["doctor", "-v"], vec![]),
    ];
    for (what, status, args, env) in runs {
        let mut t = f.test().context(what).args(&args).status(status);
        for (k, v) in echo.iter().chain(&env) {
            t = t.env(k, v);
        }
        cap.add_output(what, &t.run());
    }
    cap.add_file("legacy fake argv", &f.fake.join("log"));

    let f = multi();
    // a live release whose stored objects and values hold secrets (as real ones do)
    let live = f.fake.join("live/prod");
    std::fs::create_dir_all(&live).unwrap();
    std::fs::write(
        live.join("metadata.json"),
        r#"{"status":"deployed","chart":"basehub","version":"0.1.0","appVersion":"4.1.5"}"#,
    )
    .unwrap();
    std::fs::write(
        live.join("manifest"),
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: hub}}\nstringData: {{token: {SOPS}, key: {KUBE}}}\n"),
    )
    .unwrap();
    std::fs::write(
        live.join("values.json"),
        format!(r#"{{"token": "{VALUES}"}}"#),
    )
    .unwrap();
    // and the release as `helm upgrade --dry-run=server` renders it, when the chart renders a new
    // random secret each time (FAKE_TEMPLATE_RANDOM below)
    let manifest =
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: x}}\ndata: {{v: {VALUES}}}\n");
    std::fs::write(
        live.join("dry-run.json"),
        serde_json::json!({"manifest": manifest, "hooks": []}).to_string(),
    )
    .unwrap();
    let (gh_out, gh_sum) = (f.root.join("gh-output"), f.root.join("gh-summary"));
    let runs: Vec<Run> = vec![
        (
            "run all",
            0,
            vec![
                "run",
                "-v",
                "--report",
                "report.json",
                "--label",
                "deployer:deploy-hubs",
                "--label",
                "deployer:deploy-support",
            ],
            vec![],
        ),
        (
            "run github",
            0,
            vec![
                "run",
                "--report",
                "report-gh.json",
                "config/clusters/gamma/prod.values.yaml",
                "config/clusters/delta/prod.values.yaml",
            ],
            vec![("GITHUB_ACTIONS", "true")],
        ),
        (
            "run failing",
            1,
            vec![
                "run",
                "-v",
                "--report",
                "report-fail.json",
                "config/clusters/gamma/prod.values.yaml",
            ],
            vec![("FAKE_FAIL", "helm upgrade")],
        ),
        (
            "run live",
            0,
            vec![
                "run",
                "--live",
                "-v",
                "--report",
                "report-live.json",
                "config/clusters/gamma/prod.values.yaml",
            ],
            vec![("FAKE_TEMPLATE_RANDOM", "1")],
        ),
        (
            "plan live",
            0,
            vec![
                "plan",
                "--live",
                "-v",
                "--format",
                "markdown",
                "config/clusters/gamma/prod.values.yaml",
            ],
            vec![("FAKE_FAIL", "helm get hooks")],
        ),
        (
            "run dry",
            0,
            vec!["run", "--dry-run", "-v", "--label", "deployer:deploy-hubs"],
            vec![],
        ),
        // renders that print the decrypted values (FAKE_ECHO_VALUES), at two revisions
        (
            "diff",
            0,
            vec!["diff", "--base", "HEAD~1", "--head", "HEAD", "-v"],
            vec![],
        ),
        (
            "diff json without keys",
            0,
            vec!["diff", "--base", "HEAD~1", "--format", "json", "-v"],
            vec![("FAKE_FAIL", "sops --decrypt")],
        ),
        (
            "plan diff github",
            0,
            vec![
                "plan",
                "--base",
                "HEAD~1",
                "--format",
                "github",
                "--diff",
                "--diff-file",
                "diff.txt",
                "--comment-body",
                "diff-comment.md",
            ],
            vec![("GITHUB_ACTIONS", "true")],
        ),
        (
            "upgrade-hub azure",
            0,
            vec!["upgrade-hub", "delta", "delta-prod", "-v"],
            vec![],
        ),
        (
            "plan github",
            0,
            vec![
                "plan",
                "--format",
                "github",
                "--label",
                "deployer:deploy-hubs",
            ],
            vec![],
        ),
        (
            "plan markdown",
            0,
            vec![
                "plan",
                "--format",
                "markdown",
                "config/clusters/gamma/enc-prod.secret.values.yaml",
            ],
            vec![],
        ),
        (
            "validate",
            0,
            vec!["validate", "-v", "--format", "json"],
            vec![],
        ),
        (
            "doctor",
            0,
            vec!["doctor", "-v", "--format", "json"],
            vec![],
        ),
        ("doctor table", 0, vec!["doctor", "-v"], vec![]),
    ];
    for (what, status, args, env) in runs {
        let mut t = f.test().context(what).args(&args).status(status);
        for (k, v) in echo.iter().chain(&env) {
            t = t.env(k, v);
        }
        let t = t
            .env("GITHUB_OUTPUT", &gh_out)
            .env("GITHUB_STEP_SUMMARY", &gh_sum);
        cap.add_output(what, &t.run());
    }
    for r in [
        "report.json",
        "report-gh.json",
        "report-fail.json",
        "report-live.json",
        "diff.txt",
        "diff-comment.md",
    ] {
        cap.add_file(r, &f.root.join(r));
    }
    // the diff did render the releases with their secrets, and hid them
    let diff = std::fs::read_to_string(f.root.join("diff.txt")).unwrap();
    assert!(diff.contains("=== gamma/prod: "), "{diff}");
    assert!(diff.contains("(secret"), "{diff}");
    cap.add_file("GITHUB_OUTPUT", &gh_out);
    cap.add_file("GITHUB_STEP_SUMMARY", &gh_sum);
    cap.add_file("multi fake argv", &f.fake.join("log"));

    // the runs did reach the secrets: otherwise this test would prove nothing
    assert!(
        std::fs::read_to_string(f.fake.join("log"))
            .unwrap()
            .contains("sops --decrypt config/clusters/gamma/enc-prod.secret.values.yaml")
    );
    assert!(
        std::fs::read_to_string(f.fake.join("log"))
            .unwrap()
            .contains("az login")
    );
    assert!(
        cap.text.contains("logging in with password ***"),
        "the echoing docker was scrubbed, not silent"
    );
    assert!(
        cap.text.contains("cookieSecret: ***"),
        "the echoing helm printed the decrypted values, scrubbed"
    );
    cap.assert_clean();
}

/// gamma/prod with a sops-encrypted values file.
fn with_encrypted_values() -> Fixture {
    let f = Fixture::multi();
    f.encrypt_gamma_prod_values();
    f.commit_all("encrypted values");
    f
}

#[test]
fn sops_output_that_cannot_be_parsed_stops_the_run_before_anything_starts() {
    // an encrypted values file (checked by validation against the chart's schema) and an
    // encrypted kubeconfig (checked by the pre-run decryption only)
    let encrypted_kubeconfig = || {
        let f = Fixture::multi();
        f.write(
            "config/clusters/gamma/deployer-credentials.secret.yaml",
            "users: ENC[AES256_GCM,data:abc=,type:str]\nsops:\n  version: 3.8.1\n",
        );
        f.commit_all("encrypted kubeconfig");
        f
    };
    type Case = (&'static str, String, fn() -> Fixture, &'static str);
    let cases: [Case; 3] = [
        (
            "a duplicate key",
            format!("jupyterhub:\n  a: {SOPS}\n  a: {VALUES}\n"),
            with_encrypted_values,
            "config/clusters/gamma/enc-prod.secret.values.yaml",
        ),
        (
            "not YAML",
            format!("jupyterhub: [\"{SOPS}\n"),
            with_encrypted_values,
            "config/clusters/gamma/enc-prod.secret.values.yaml",
        ),
        (
            "a kubeconfig with a duplicate key",
            format!("users:\n- user: {{token: {KUBE}, token: {SOPS}}}\n"),
            encrypted_kubeconfig,
            "config/clusters/gamma/deployer-credentials.secret.yaml",
        ),
    ];
    for (what, doc, make, file) in cases {
        let out = Test::on(make())
            .context(what)
            .env("FAKE_SOPS_OUTPUT", &doc)
            .env("GITHUB_ACTIONS", "true")
            .args(["upgrade-hub", "gamma", "prod", "-v"])
            .status(2)
            // only sops ran
            .calls([format!("sops --decrypt {file}")])
            // the error names the file, in an annotation on it
            .stderr_contains(format!("::error file={file},line="))
            .stderr_contains(format!("::{file}:"))
            .run();
        let mut cap = Capture {
            text: String::new(),
        };
        cap.add_output(what, &out);
        cap.assert_clean();
    }
}

#[test]
fn a_multi_line_secret_never_shows_a_line_of_itself() {
    let f = Fixture::multi();
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nPLANTEDkeyLineNumberOne0123\nPLANTEDkeyLineNumberTwo4567\n-----END OPENSSH PRIVATE KEY-----\n";
    let block: String = key.lines().map(|l| format!("      {l}\n")).collect();
    let p = "config/clusters/alpha/physics.secret.values.yaml";
    let v = std::fs::read_to_string(f.root.join(p)).unwrap();
    f.write(p, format!("{v}  deployKey: |\n{block}"));
    f.commit_all("a private key");
    for ci in ["GITHUB_ACTIONS", "TRAVIS"] {
        let out = f
            .test()
            .env("FAKE_ECHO_VALUES", "1")
            .env(ci, "true")
            .args(["upgrade-hub", "alpha", "physics", "-v"])
            .run();
        let shown: String = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            shown.contains("deployKey: |"),
            "helm echoed the values (else this proves nothing): {shown}"
        );
        assert!(!shown.contains("PLANTEDkeyLine"), "{ci}: {shown}");
        if ci == "GITHUB_ACTIONS" {
            let stderr = &out.stderr;
            for line in ["PLANTEDkeyLineNumberOne0123", "PLANTEDkeyLineNumberTwo4567"] {
                assert!(
                    stderr.contains(&format!("::add-mask::{line}\n")),
                    "GitHub masks each line: {stderr}"
                );
            }
        }
    }
}

#[test]
fn credentials_files_mask_their_credentials_and_nothing_else() {
    let out = Test::multi()
        .env("GITHUB_ACTIONS", "true")
        .args(["upgrade-hub", "alpha", "prod"])
        // the project stays readable
        .stderr_contains("--project=example-alpha")
        .run();
    let masks: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    assert_eq!(
        masks,
        [
            "FAKE0000000000000000000000000000000000",
            "-----BEGIN PRIVATE KEY-----\nFAKE-NOT-A-REAL-KEY\n-----END PRIVATE KEY-----",
        ]
        .iter()
        .flat_map(|m| m.lines())
        .collect::<Vec<_>>(),
        "the key and its id, line by line; not the project, the account's type or e-mail"
    );
}
