//! `deploy gitops`: rendering (snapshots, the CRD schema and a failing case per required field)
//! and pushing to a real local bare repository: first push, no-op, two racing pushers, and a race
//! lost more often than the retries allow.

mod common;

use std::path::Path;

use common::{Fixture, Output, Test, bare_repo, files_on_main, manifest_dir, text};

const ARGS: &[&str] = &[
    "--env",
    "staging",
    "--image-tag",
    "abc1234",
    "--set",
    "CHART_VERSION=1.2.0",
    "--set",
    "NAMESPACE=ea-hub",
];

fn fixture() -> Fixture {
    let f = Fixture::example();
    std::fs::copy(manifest_dir().join(".flux.ci"), f.root.join(".flux.ci")).unwrap();
    f
}

#[test]
fn render_fills_the_template_and_writes_env_name_yaml() {
    let f = fixture();
    f.test()
        .args(["gitops", "render", "--out", "out"])
        .args(ARGS)
        .stdout("out/staging/ea-hub.yaml\n")
        .no_calls()
        .run();
    let rendered = std::fs::read_to_string(f.root.join("out/staging/ea-hub.yaml")).unwrap();
    assert!(!rendered.contains("${"));
    insta::assert_snapshot!(rendered);
}

/// `deploy gitops render --out out args…` with `template` as .flux.ci.
fn render_with(template: &str, args: &[&str]) -> Test<'static> {
    Test::on(fixture())
        .write(".flux.ci", template)
        .args(["gitops", "render", "--out", "out"])
        .args(args)
}

/// A render that failed wrote nothing.
fn nothing_written(out: &Output) {
    assert!(!out.fixture.root.join("out").exists(), "{}", out.stderr);
}

#[test]
fn every_required_field_and_bad_input_is_an_error_before_anything_is_written() {
    let good = std::fs::read_to_string(manifest_dir().join(".flux.ci")).unwrap();
    let out = render_with(&good, ARGS).run();
    // every successful render passes the CRD schema: check it again from the written file
    let doc: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(out.fixture.root.join(out.stdout.trim())).unwrap(),
    )
    .unwrap();
    deploy::gitops::check(&doc).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("apiVersion", good.replace("apiVersion: helm.toolkit.fluxcd.io/v2\n", ""), "apiVersion: must be helm.toolkit.fluxcd.io/v2, not null"),
        ("old apiVersion", good.replace("fluxcd.io/v2\n", "fluxcd.io/v2beta1\n"), "apiVersion: must be helm.toolkit.fluxcd.io/v2, not \"helm.toolkit.fluxcd.io/v2beta1\""),
        ("kind", good.replace("kind: HelmRelease", "kind: Deployment"), "kind: must be HelmRelease"),
        ("metadata.name", good.replace("  name: ea-hub\n  namespace", "  namespace"), "metadata.name: required"),
        ("no chart", good.replace("  chart:\n    spec:\n      chart: ea-hub", "  chartx:\n    spec:\n      chart: ea-hub"), "spec: either chart or chartRef must be set"),
        ("chart and chartRef", good.replace("  install:", "  chartRef:\n    kind: OCIRepository\n    name: hub\n  install:"), "spec: either chart or chartRef must be set, not both"),
        ("chart name", good.replace("      chart: ea-hub\n", ""), "spec.chart.spec.chart: required"),
        ("chart version", good.replace("      version: \"${CHART_VERSION}\"\n", "      # was ${CHART_VERSION}\n"), "spec.chart.spec.version: required"),
        ("sourceRef", good.replace("      sourceRef:\n        kind: HelmRepository\n        name: hub-charts\n        namespace: flux-system\n", ""), "spec.chart.spec.sourceRef: required"),
        ("interval", good.replace("  interval: 10m\n", ""), "spec.interval: required"),
        ("values", good.replace("  values:\n    jupyterhub:", "  valuez:\n    jupyterhub:"), "spec.values: required"),
        ("invalid YAML", good.replace("kind: HelmRelease", "kind: [HelmRelease"), "the rendered HelmRelease is not valid YAML"),
        ("schema type", good.replace("  interval: 10m", "  interval: 10m\n  suspend: \"yes\""), "spec.suspend: \"yes\" is not of type \"boolean\" (HelmRelease CRD v2)"),
    ];
    for (name, template, want) in cases {
        let out = render_with(&template, ARGS)
            .context(name)
            .status(2)
            .stderr_contains(want)
            .no_calls()
            .run();
        nothing_written(&out);
    }
    // placeholders
    let out = render_with(&good, &["--env", "staging"])
        .status(2)
        .stderr_contains("placeholders without a value: NAMESPACE, CHART_VERSION, IMAGE_TAG")
        .run();
    nothing_written(&out);
    let mut extra = ARGS.to_vec();
    extra.extend(["--set", "SANDBOX=x"]);
    let out = render_with(&good, &extra)
        .status(2)
        .stderr_contains("--set SANDBOX: the template has no ${SANDBOX} placeholder")
        .run();
    nothing_written(&out);
    let out = render_with(&good, &["--env", "Staging/x", "--image-tag", "a"])
        .status(2)
        .stderr_contains("--env `Staging/x` must be a lowercase name")
        .run();
    nothing_written(&out);
}

/// `deploy gitops push` to `url` (real git: the fixture's PATH has it).
fn push<'f>(f: &'f Fixture, url: &str, extra: &[&str]) -> Test<'f> {
    f.test()
        .args(["gitops", "push", "--releases-repo", url])
        .args(ARGS)
        .args(extra)
}

#[test]
fn push_then_a_second_push_is_a_no_op() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let url = bare_repo(tmp.path());
    push(&f, &url, &[]).run();
    assert_eq!(files_on_main(&url), "README.md\nstaging/ea-hub.yaml\n");
    let log = text(
        &std::process::Command::new("git")
            .args(["--git-dir", &url, "log", "-1", "--format=%s"])
            .output()
            .unwrap()
            .stdout,
    );
    let source = common::git(&f.root, &["rev-parse", "--short", "HEAD"]);
    assert_eq!(
        log.trim(),
        format!("deploy ea-hub to staging from {}", source.trim()),
        "the message names the source commit"
    );
    let before = common::git(Path::new(&url), &["rev-parse", "main"]);
    push(&f, &url, &[])
        .stderr_contains("already up to date: nothing to push")
        .run();
    assert_eq!(
        common::git(Path::new(&url), &["rev-parse", "main"]),
        before,
        "no new commit"
    );
}

#[test]
fn two_racing_pushers_both_land_through_rebase() {
    let tmp = tempfile::tempdir().unwrap();
    let url = bare_repo(tmp.path());
    // every push waits a moment in the server, so both clients push from the same base
    let hook = Path::new(&url).join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\n/bin/cat >/dev/null\n/bin/sleep 0.5\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (a, b) = (fixture(), fixture());
    let results = std::thread::scope(|s| {
        let ha = s.spawn(|| push(&a, &url, &[]).run());
        let hb = s.spawn(|| {
            let mut args = ARGS.to_vec();
            args[1] = "production";
            b.test()
                .args(["gitops", "push", "--releases-repo", &url])
                .args(args)
                .run()
        });
        [ha.join().unwrap(), hb.join().unwrap()]
    });
    assert_eq!(
        files_on_main(&url),
        "README.md\nproduction/ea-hub.yaml\nstaging/ea-hub.yaml\n"
    );
    let retried = results
        .iter()
        .filter(|r| r.stderr.contains("rebasing and retrying"))
        .count();
    assert_eq!(retried, 1, "exactly one lost the race and retried");
}

#[test]
fn a_race_lost_more_often_than_the_retries_allow_fails_clearly() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let url = bare_repo(tmp.path());
    // another service always pushes first: the server moves main while receiving our push
    let hook = Path::new(&url).join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\n/bin/cat >/dev/null\nunset GIT_QUARANTINE_PATH\ntree=$(git rev-parse main^{tree})\nc=$(echo other | git commit-tree \"$tree\" -p main)\ngit update-ref refs/heads/main \"$c\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = push(&f, &url, &["--retries", "2"])
        .status(1)
        .stderr_contains(
            "lost the race to other pushes 3 times; nothing of ours landed: run it again",
        )
        .run();
    let stderr = out.stderr;
    assert_eq!(
        stderr.matches("rebasing and retrying").count(),
        2,
        "{stderr}"
    );
    assert!(!files_on_main(&url).contains("staging/"), "nothing landed");
}

#[test]
fn run_writes_helm_releases_for_a_flux_run_cluster_instead_of_running_helm() {
    let f = Fixture::multi();
    let tmp = tempfile::tempdir().unwrap();
    let url = bare_repo(tmp.path());
    let cluster = f.root.join("config/clusters/beta/cluster.yaml");
    let mut yaml = std::fs::read_to_string(&cluster).unwrap();
    yaml.push_str(&format!("gitops:\n  repo: {url}\n  path: clusters/beta\n"));
    std::fs::write(&cluster, yaml).unwrap();
    common::git(&f.root, &["commit", "-qam", "beta is run by Flux"]);
    let out = f
        .test()
        .args([
            "run",
            "--report",
            "report.json",
            "config/clusters/beta/research.values.yaml",
            "config/clusters/beta/support.values.yaml",
        ])
        .run();
    assert!(
        out.calls
            .iter()
            .all(|c| !c.starts_with("helm") && !c.starts_with("kubectl") && !c.starts_with("aws")),
        "{:?}",
        out.calls
    );
    let files = files_on_main(&url);
    assert_eq!(
        files,
        "README.md\nclusters/beta/dask-staging.yaml\nclusters/beta/research.yaml\nclusters/beta/staging.yaml\nclusters/beta/support.yaml\n"
    );
    let show = |p: &str| {
        text(
            &std::process::Command::new("git")
                .args(["--git-dir", &url, "show", &format!("main:{p}")])
                .output()
                .unwrap()
                .stdout,
        )
    };
    for p in ["support", "staging", "dask-staging", "research"] {
        let doc: serde_json::Value =
            serde_yaml::from_str(&show(&format!("clusters/beta/{p}.yaml"))).unwrap();
        deploy::gitops::check(&doc).unwrap_or_else(|e| panic!("{p}: {e:?}"));
    }
    let research: serde_json::Value =
        serde_yaml::from_str(&show("clusters/beta/research.yaml")).unwrap();
    assert_eq!(
        research["spec"]["chart"]["spec"]["chart"],
        "./helm-charts/daskhub"
    );
    assert_eq!(
        research["spec"]["dependsOn"][0]["name"], "staging",
        "prod waits for the staging hubs"
    );
    assert!(
        research["spec"]["values"]["basehub"].is_object(),
        "the hub's values files, merged"
    );
    let staging: serde_json::Value =
        serde_yaml::from_str(&show("clusters/beta/staging.yaml")).unwrap();
    assert_eq!(staging["spec"]["dependsOn"][0]["name"], "support");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.root.join("report.json")).unwrap())
            .unwrap();
    assert!(
        report["releases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "succeeded"),
        "{report}"
    );

    // encrypted values are never written in clear
    f.write(
        "config/clusters/beta/research.values.yaml",
        "basehub:\n  x: ENC[AES256_GCM,data:x]\nsops:\n  version: 3.8.1\n",
    );
    f.test()
        .args([
            "run",
            "--report",
            "report.json",
            "config/clusters/beta/research.values.yaml",
        ])
        // what sops prints validates against basehub's schema (under `basehub:`)
        .env(
            "FAKE_SOPS_OUTPUT",
            "basehub:\n  jupyterhub:\n    proxy:\n      secretToken: FAKE-research-token\n",
        )
        .status(1)
        .stderr_contains(
            "research.values.yaml is sops-encrypted: its values cannot be written in clear",
        )
        .run();
}
