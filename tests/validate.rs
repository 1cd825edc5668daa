//! `deploy validate`: a table of bad inputs, each with its exact message and exit status 2, and
//! nothing run; the shipped examples validate clean; the typed loader and the schemas agree.

mod common;

use std::path::Path;

use common::{Fixture, Test, manifest_dir};

fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let p = root.join(file);
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(t.contains(from), "{file} has no `{from}`");
    std::fs::write(p, t.replacen(from, to, 1)).unwrap();
}

fn append(root: &Path, file: &str, extra: &str) {
    let p = root.join(file);
    let mut t = std::fs::read_to_string(&p).unwrap();
    t.push_str(extra);
    std::fs::write(p, t).unwrap();
}

const ALPHA: &str = "config/clusters/alpha/cluster.yaml";
const BETA: &str = "config/clusters/beta/cluster.yaml";

type Case = (&'static str, fn(&Path));

fn multi_cases() -> Vec<Case> {
    vec![
        ("malformed YAML", |r| append(r, ALPHA, "hubs: [\n")),
        ("hubs is not a list", |r| {
            edit(r, BETA, "hubs:\n", "hubs: none\nold_hubs:\n")
        }),
        ("unknown top-level key", |r| {
            append(r, ALPHA, "regoin: us\n")
        }),
        ("unknown hub key", |r| {
            edit(
                r,
                ALPHA,
                "    display_name: Alpha staging",
                "    display_nmae: Alpha staging",
            )
        }),
        ("missing provider", |r| {
            edit(r, ALPHA, "provider: gcp\n", "")
        }),
        ("unknown provider", |r| {
            edit(r, ALPHA, "provider: gcp", "provider: gke")
        }),
        ("provider block missing", |r| {
            edit(r, BETA, "aws:", "aws_old:")
        }),
        ("name differs from the folder", |r| {
            edit(r, ALPHA, "name: alpha", "name: alfa")
        }),
        ("missing values file", |r| {
            std::fs::remove_file(r.join("config/clusters/alpha/physics.values.yaml")).unwrap()
        }),
        ("values path escapes the cluster folder", |r| {
            edit(
                r,
                ALPHA,
                "- prod.values.yaml",
                "- ../beta/common.values.yaml",
            )
        }),
        ("absolute values path", |r| {
            edit(r, ALPHA, "- prod.values.yaml", "- /etc/passwd")
        }),
        ("values file is a symlink out of the repo", |r| {
            let f = r.join("config/clusters/alpha/prod.values.yaml");
            std::fs::remove_file(&f).unwrap();
            std::os::unix::fs::symlink("/etc/hostname", f).unwrap();
        }),
        ("duplicate hub names", |r| {
            edit(r, ALPHA, "- name: climate", "- name: physics")
        }),
        ("invalid hub name", |r| {
            edit(r, ALPHA, "- name: climate", "- name: Climate_Lab")
        }),
        ("hub name longer than 53 characters", |r| {
            edit(
                r,
                ALPHA,
                "- name: climate",
                "- name: climate-laboratory-of-the-department-of-earth-sciences",
            )
        }),
        ("missing chart", |r| {
            edit(
                r,
                ALPHA,
                "helm_chart: basehub\n    helm_chart_values_files:\n      - common.values.yaml\n      - prod.values.yaml",
                "helm_chart: nohub\n    helm_chart_values_files:\n      - common.values.yaml\n      - prod.values.yaml",
            )
        }),
        ("duplicate domain across clusters", |r| {
            edit(
                r,
                BETA,
                "domain: staging.beta.example.org",
                "domain: staging.alpha.example.org",
            )
        }),
        ("hub without values files", |r| {
            edit(
                r,
                ALPHA,
                "    helm_chart_values_files:\n      - common.values.yaml\n      - staging.values.yaml\n",
                "",
            )
        }),
        ("values files not a list", |r| {
            edit(
                r,
                ALPHA,
                "    helm_chart_values_files:\n      - common.values.yaml\n      - staging.values.yaml\n",
                "    helm_chart_values_files: staging.values.yaml\n",
            )
        }),
        ("aws account is a string", |r| {
            edit(
                r,
                BETA,
                "account: 123456789012",
                "account: \"123456789012\"",
            )
        }),
        ("gcp without a zone", |r| {
            edit(r, ALPHA, "  zone: us-central1-b\n", "")
        }),
        ("kubeconfig file missing", |r| {
            std::fs::remove_file(r.join("config/clusters/gamma/deployer-credentials.secret.yaml"))
                .unwrap()
        }),
        ("support without a support chart", |r| {
            std::fs::remove_dir_all(r.join("helm-charts/support")).unwrap()
        }),
        ("values: proxy token too short", |r| {
            edit(
                r,
                "config/clusters/gamma/prod.values.yaml",
                "secretToken: ",
                "secretToken: short #",
            )
        }),
        ("values: unknown database type", |r| {
            edit(
                r,
                "config/clusters/gamma/prod.values.yaml",
                "  hub:\n    config:",
                "  hub:\n    db:\n      type: postgres\n    config:",
            )
        }),
        ("values file with two documents", |r| {
            append(
                r,
                "config/clusters/alpha/physics.values.yaml",
                "---\nb: 1\n",
            )
        }),
        ("values: wrong type", |r| {
            append(
                r,
                "config/clusters/alpha/climate.values.yaml",
                "  cull:\n    timeout: an hour\n",
            )
        }),
        ("values file is not YAML", |r| {
            std::fs::write(r.join("config/clusters/gamma/binder.values.yaml"), "a: [\n").unwrap()
        }),
        ("deploy.yaml unknown key", |r| {
            append(r, "deploy.yaml", "clusters_dir: elsewhere\n")
        }),
        ("deploy.yaml wrong type", |r| {
            edit(
                r,
                "deploy.yaml",
                "all_hubs: [",
                "all_hubs: \"deployer/**\"\n  old: [",
            )
        }),
        ("duplicate key in cluster.yaml", |r| {
            edit(
                r,
                ALPHA,
                "provider: gcp\n",
                "provider: gcp\nprovider: aws\n",
            )
        }),
        ("cluster.yaml with a byte-order mark and an error", |r| {
            let t = std::fs::read_to_string(r.join(ALPHA)).unwrap();
            std::fs::write(
                r.join(ALPHA),
                format!("\u{feff}{}", t.replace("name: alpha", "name: alfa")),
            )
            .unwrap();
        }),
        ("cluster folder name with a line break", |r| {
            let d = r.join("config/clusters/bad\n::warning::injected");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(r.join(ALPHA), d.join("cluster.yaml")).unwrap();
        }),
        ("helm_chart leaves helm-charts", |r| {
            edit(r, ALPHA, "helm_chart: basehub", "helm_chart: ../../x")
        }),
        ("gcp project that looks like an option", |r| {
            edit(
                r,
                ALPHA,
                "project: example-alpha",
                "project: --impersonate-service-account=x",
            )
        }),
        ("values file whose top level is a list", |r| {
            std::fs::write(
                r.join("config/clusters/gamma/binder.values.yaml"),
                "- a\n- b\n",
            )
            .unwrap()
        }),
        ("values file that is not UTF-8", |r| {
            std::fs::write(
                r.join("config/clusters/gamma/binder.values.yaml"),
                b"a: caf\xe9\n",
            )
            .unwrap()
        }),
        ("values file that is a FIFO", |r| {
            let f = r.join("config/clusters/gamma/binder.values.yaml");
            std::fs::remove_file(&f).unwrap();
            let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo(3) with a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }),
        ("secret values file with a duplicate key", |r| {
            append(
                r,
                "config/clusters/alpha/physics.secret.values.yaml",
                "jupyterhub:\n  proxy:\n    secretToken: FAKE-second-token-value\n",
            )
        }),
        ("secret value that breaks the schema is not quoted", |r| {
            edit(
                r,
                "config/clusters/alpha/physics.secret.values.yaml",
                "  proxy:\n",
                "  cull:\n    timeout: FAKE-secret-timeout\n  proxy:\n",
            )
        }),
        ("several problems at once", |r| {
            edit(r, ALPHA, "name: alpha", "name: alfa");
            edit(
                r,
                BETA,
                "domain: staging.beta.example.org",
                "domain: staging.alpha.example.org",
            );
            append(r, "deploy.yaml", "extra: 1\n");
        }),
    ]
}

fn legacy_cases() -> Vec<Case> {
    vec![
        ("legacy: timeout is a bare number", |r| {
            edit(r, "deploy.yaml", "timeout: 600s", "timeout: 600")
        }),
        ("legacy: unknown key", |r| {
            append(r, "deploy.yaml", "kubernetes_version: 1.29\n")
        }),
        ("legacy: listed chart without a folder", |r| {
            edit(
                r,
                "deploy.yaml",
                "charts: [staginghub,",
                "charts: [staginghub, edsc-hub,",
            )
        }),
        ("legacy: missing secrets file", |r| {
            std::fs::remove_file(r.join("secrets/nbgrader-hub.yaml")).unwrap()
        }),
        ("legacy: user image without a Dockerfile", |r| {
            std::fs::remove_file(r.join("user-images/ea-hub/Dockerfile")).unwrap()
        }),
        ("legacy: secrets file with a duplicate key", |r| {
            append(
                r,
                "secrets/ea-hub.yaml",
                "jupyterhub:\n  x: FAKE-duplicate-value\n",
            )
        }),
        ("legacy: secrets file symlinked out of the repo", |r| {
            let f = r.join("secrets/ea-hub.yaml");
            std::fs::remove_file(&f).unwrap();
            std::os::unix::fs::symlink("/etc/hostname", f).unwrap();
        }),
        ("legacy: gcloud key symlinked out of the repo", |r| {
            let f = r.join("secrets/gke-auth-key.json");
            std::fs::remove_file(&f).unwrap();
            std::os::unix::fs::symlink("/etc/hostname", f).unwrap();
        }),
        ("legacy: image name missing", |r| {
            edit(
                r,
                "deploy.yaml",
                "  name: earthlabhubops/ea-k8s-user-{chart}\n",
                "",
            )
        }),
    ]
}

fn run_table(cases: Vec<Case>, make: fn() -> Fixture) -> String {
    let mut all = String::new();
    for (name, mutate) in cases {
        let f = make();
        mutate(&f.root);
        let out = f
            .test()
            .context(name)
            .args(["validate"])
            .status(2)
            .no_calls()
            .run();
        assert!(
            !out.stdout.trim().is_empty() || !out.stderr.trim().is_empty(),
            "{name}: no message"
        );
        all.push_str(&format!("## {name}\n{}{}\n", out.stdout, out.stderr));
    }
    all
}

#[test]
fn bad_multi_cluster_inputs() {
    insta::assert_snapshot!(run_table(multi_cases(), Fixture::multi));
}

#[test]
fn bad_legacy_inputs() {
    insta::assert_snapshot!(run_table(legacy_cases(), Fixture::example));
}

#[test]
fn table_has_at_least_30_rows() {
    assert!(multi_cases().len() + legacy_cases().len() >= 30);
}

#[test]
fn the_shipped_examples_validate_clean() {
    for t in [Test::multi(), Test::example()] {
        t.arg("validate").stdout("").run();
    }
}

#[test]
fn github_and_json_formats() {
    let f = Fixture::multi();
    edit(&f.root, ALPHA, "name: alpha", "name: alfa");
    f.test()
        .args(["validate", "--format", "github"])
        .status(2)
        .stdout(
            "::error file=config/clusters/alpha/cluster.yaml::name: is `alfa` but the folder is \
             `alpha`: they must match\n",
        )
        .run();
    let v = f
        .test()
        .args(["validate", "--format", "json"])
        .status(2)
        .run()
        .json();
    assert_eq!(v["problems"][0]["file"], ALPHA);
    assert_eq!(v["problems"][0]["field"], "name");
}

#[test]
fn sops_files_are_skipped_with_a_notice_when_sops_is_missing() {
    Test::multi()
        .remove_tool("sops")
        .write(
            "config/clusters/gamma/prod.values.yaml",
            "jupyterhub:\n  proxy:\n    secretToken: ENC[AES256_GCM,data:x]\nsops:\n  version: 3.8.1\n",
        )
        .arg("validate")
        .stderr_contains("gamma/prod: config/clusters/gamma/prod.values.yaml not checked against helm-charts/basehub/values.schema.yaml: sops is not installed")
        .run();
}

#[test]
fn run_and_legacy_deploy_refuse_to_start_on_invalid_config() {
    let f = Fixture::multi();
    edit(
        &f.root,
        "config/clusters/gamma/prod.values.yaml",
        "secretToken: ",
        "secretToken: short #",
    );
    f.test()
        .args(["run", "config/clusters/gamma/prod.values.yaml"])
        .status(2)
        .stderr_contains("jupyterhub.proxy.secretToken")
        .no_calls()
        .run();
    // another release's problem does not block this one
    f.test()
        .args(["run", "config/clusters/gamma/binder.values.yaml"])
        .run();

    let f = Fixture::example();
    append(&f.root, "deploy.yaml", "kubernetes_version: 1.29\n");
    f.test()
        .args(["ea-hub", "--no-setup", "--deploy"])
        .status(2)
        .no_calls()
        .run();
}

#[test]
fn the_typed_loader_and_the_schema_agree_on_every_example() {
    use deploy::validate::schema;
    let mut files: Vec<(String, &schema::Schema, String)> = Vec::new();
    let multi = manifest_dir().join("examples/multi-cluster");
    for c in ["alpha", "beta", "gamma"] {
        let p = format!("config/clusters/{c}/cluster.yaml");
        files.push((
            c.to_string(),
            &schema::CLUSTER,
            std::fs::read_to_string(multi.join(&p)).unwrap(),
        ));
    }
    for c in ["2i2c-aws-us", "2i2c-uk", "leap", "utoronto"] {
        let p = manifest_dir().join(format!("tests/fixtures/2i2c/clusters/{c}/cluster.yaml"));
        files.push((
            c.to_string(),
            &schema::CLUSTER,
            std::fs::read_to_string(p).unwrap(),
        ));
    }
    for (name, s, text) in &files {
        let mut problems = Vec::new();
        schema::check(s, name, text, &mut problems);
        assert!(problems.is_empty(), "{name}: schema says {problems:?}");
        deploy::config::cluster::Cluster::parse(name, text)
            .unwrap_or_else(|e| panic!("{name}: loader says {e}"));
    }
    for dir in [manifest_dir(), multi] {
        let text = std::fs::read_to_string(dir.join("deploy.yaml")).unwrap();
        let mut problems = Vec::new();
        schema::check(&schema::DEPLOY, "deploy.yaml", &text, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        deploy::config::yaml::from_str::<deploy::config::deploy_yaml::DeployYaml>(
            "deploy.yaml",
            &text,
        )
        .unwrap();
    }
    // and they reject the same thing
    let bad = "name: x\nprovider: kubeconfig\nkubeconfig: {file: k}\nhubs:\n- name: a\n  helm_chart: b\n  helm_chart_values_files: []\n  domian: typo\n";
    let mut problems = Vec::new();
    schema::check(&schema::CLUSTER, "x", bad, &mut problems);
    assert_eq!(problems.len(), 1);
    assert!(deploy::config::cluster::Cluster::parse("x", bad).is_err());
}

/// The example with four hubs' values files sops-encrypted (in validation's order: the staging
/// hub before the prod hubs).
fn four_encrypted() -> (Fixture, [&'static str; 4]) {
    let encrypted = [
        "config/clusters/alpha/staging.values.yaml",
        "config/clusters/alpha/prod.values.yaml",
        "config/clusters/beta/teaching.values.yaml",
        "config/clusters/gamma/prod.values.yaml",
    ];
    let f = Fixture::multi();
    for file in encrypted {
        std::fs::write(
            f.root.join(file),
            "jupyterhub:\n  hub:\n    cookieSecret: ENC[AES256_GCM,data:x]\nsops:\n  version: 3.8.1\n",
        )
        .unwrap();
    }
    (f, encrypted)
}

#[test]
fn encrypted_files_are_decrypted_once_each_several_at_a_time_with_the_same_findings() {
    let (f, encrypted) = four_encrypted();
    // and a problem in a plain file, so there is something to report
    append(
        &f.root,
        "config/clusters/alpha/physics.values.yaml",
        "  hub:\n    db:\n      type: mysql\n",
    );
    let runs: Vec<_> = ["1", "4"]
        .into_iter()
        .map(|jobs| {
            f.test()
                .args(["validate", "--format", "json", "--jobs", jobs])
                .status(2)
                .run()
        })
        .collect();
    assert_eq!(runs[0].stdout, runs[1].stdout, "the same findings");
    for r in &runs {
        let mut sops: Vec<&str> = r
            .calls
            .iter()
            .filter(|c| c.starts_with("sops --decrypt"))
            .map(String::as_str)
            .collect();
        sops.sort_unstable();
        let want: Vec<String> = encrypted
            .iter()
            .map(|f| format!("sops --decrypt {f}"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(sops, want, "each encrypted file decrypted once");
    }
}

#[test]
fn encrypted_files_that_cannot_be_decrypted_for_the_same_reason_are_one_warning() {
    let (f, encrypted) = four_encrypted();
    // no key here: every file fails the same way (sops's message names no file; deploy's does)
    let run = |verbose: bool| {
        let mut t = f
            .test()
            .env("FAKE_FAIL", "sops --decrypt")
            .env("FAKE_FAIL_TEXT", "Failed to get the data key")
            .args(["validate", "--format", "json"]);
        if verbose {
            t = t.arg("-v");
        }
        t.run()
    };
    let quiet = run(false);
    let warnings: Vec<&str> = quiet
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", quiet.stderr);
    assert!(
        warnings[0].contains("config/clusters/alpha/staging.values.yaml not checked against"),
        "the first file is named: {}",
        quiet.stderr
    );
    assert!(
        quiet
            .stderr
            .contains("(and 3 more for the same reason: -v lists them)"),
        "{}",
        quiet.stderr
    );
    for file in &encrypted[1..] {
        assert!(!quiet.stderr.contains(file), "{file}: {}", quiet.stderr);
    }
    // -v names every file (so does not point to -v); JSON has a notice for each either way
    let verbose = run(true);
    assert!(
        !verbose.stderr.contains("-v lists them"),
        "{}",
        verbose.stderr
    );
    for file in encrypted {
        assert!(
            verbose
                .stderr
                .contains(&format!("{file} not checked against")),
            "{file}: {}",
            verbose.stderr
        );
    }
    for r in [&quiet, &verbose] {
        assert_eq!(r.json()["notices"].as_array().unwrap().len(), 4);
    }
}
