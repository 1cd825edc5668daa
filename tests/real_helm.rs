//! Real helm 3 (installed by scripts/install-tools): every shipped chart lints, and the deploy
//! step's own `helm dependency update` + a `helm template` with the upgrade's exact values work on
//! a chart with a local `file://` dependency.
//!
//! Without helm these tests say so on stderr and pass, except in CI (`CI=true`), where a missing
//! tool fails them: CI must never skip a real-tool test silently.

mod common;

use common::Test;
use std::path::{Path, PathBuf};

use deploy::cmd::Cmd;
use deploy::config::legacy::LegacyRepo;
use deploy::log::{Ci, Log, SharedBuf, Verbosity};
use deploy::plan::legacy::{self, ImageTag, Request};
use deploy::runner::{RealRunner, Reply, Runner};

/// The helm binary, or `None` after a loud notice (a panic in CI).
fn helm_or_skip(test: &str) -> Option<PathBuf> {
    common::real::helm(test)
}

/// Point a command at the real helm and keep its state in a private folder.
fn with_helm(cmd: &Cmd, helm: &Path, home: &Path) -> Cmd {
    let mut c = cmd.clone();
    c.program = helm.display().to_string();
    for (k, sub) in [
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ] {
        c = c.env(k, home.join(sub).display().to_string());
    }
    c
}

fn runner(root: &Path) -> RealRunner {
    let log = Log::with_sink(Verbosity::Normal, Ci::Plain, Box::new(SharedBuf::default()));
    let mut r = RealRunner::new(log);
    r.base_dir = Some(root.to_path_buf());
    r
}

fn stdout(r: Reply) -> String {
    match r {
        Reply::Ran(o) => o.stdout,
        Reply::NotRun => panic!("not run"),
    }
}

#[test]
fn every_shipped_chart_lints() {
    let Some(helm) = helm_or_skip("every_shipped_chart_lints") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let root = common::manifest_dir();
    let repo = LegacyRepo::load(&root).unwrap();
    assert_eq!(
        repo.chart_names(),
        ["staginghub", "ea-hub", "nbgrader-hub", "monitoring"]
    );
    let r = runner(&root);
    for chart in &repo.charts {
        let lint = Cmd::new("helm")
            .args(["lint", &chart.dir, "-f", &chart.secrets_file])
            .local_query();
        let out = stdout(
            r.run(&with_helm(&lint, &helm, home.path()))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(
            out.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{}: {out}",
            chart.name
        );
    }
    // the shared base chart too, with the values a hub must provide
    let lint = Cmd::new("helm")
        .args([
            "lint",
            "base-charts/jupyterhub",
            "--set",
            "proxy.secretToken=x",
            "--set",
            "hub.cookieSecret=y",
        ])
        .local_query();
    stdout(
        r.run(&with_helm(&lint, &helm, home.path()))
            .unwrap_or_else(|e| panic!("{e}")),
    );
}

#[test]
fn deploy_step_dependency_update_and_template_render_the_release() {
    let Some(helm) = helm_or_skip("deploy_step_dependency_update_and_template_render_the_release")
    else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let f = common::Fixture::example();
    let repo = LegacyRepo::load(&f.root).unwrap();
    let req = Request {
        chart: "ea-hub".into(),
        setup: false,
        build: false,
        push: false,
        deploy: true,
        rebuild: false,
        force: false,
        force_recover: false,
        timeout: None,
        lock_timeout: std::time::Duration::from_secs(1),
    };
    let chart = repo.chart("ea-hub").unwrap();
    let tag = ImageTag {
        tag: "abc1234".into(),
        older: vec![],
    };
    let plan = legacy::plan(&repo, &req, chart, Some(&tag)).unwrap();
    let d = plan.deploy.expect("deploy planned");
    let r = runner(&f.root);

    // the exact command the deploy step runs: resolves file://../../base-charts/jupyterhub offline
    let dependency_update = deploy::tools::helm::dependency_update(&d.release.chart);
    r.run(&with_helm(&dependency_update, &helm, home.path()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        f.root
            .join("hub-charts/ea-hub/charts/jupyterhub-1.0.0.tgz")
            .is_file()
    );

    let rendered = stdout(
        r.run(&with_helm(&d.release.template_cmd(), &helm, home.path()))
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(rendered.contains("kind: Deployment"), "{rendered}");
    assert!(
        rendered.contains("earthlabhubops/ea-k8s-user-ea-hub"),
        "image name rendered"
    );
    assert!(
        rendered.contains("abc1234"),
        "the --set-string tag reaches the render"
    );
    assert!(
        rendered.contains("namespace: ea-hub") || !rendered.contains("namespace:"),
        "namespace"
    );

    // the same render without the secrets file fails: a missing secret is caught by the chart
    let mut no_secrets = d.release.template_cmd();
    let i = no_secrets
        .args
        .iter()
        .position(|a| a.value() == "-f")
        .unwrap();
    no_secrets.args.drain(i..i + 2);
    let err = r
        .run(&with_helm(&no_secrets, &helm, home.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("failed with exit status 1"), "{err}");
}

#[test]
fn every_hub_and_support_release_of_the_multi_cluster_example_renders() {
    let Some(helm) =
        helm_or_skip("every_hub_and_support_release_of_the_multi_cluster_example_renders")
    else {
        return;
    };
    use deploy::config::multi::MultiRepo;
    let home = tempfile::tempdir().unwrap();
    // a copy, since helm dependency update writes into the chart folder
    let tmp = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(common::manifest_dir().join("examples/multi-cluster"))
        .arg(tmp.path().join("repo"))
        .status()
        .unwrap();
    assert!(status.success());
    let root = tmp.path().join("repo");
    let repo = MultiRepo::load(&root).unwrap();
    let r = runner(&root);
    let helm_cmd = |args: Vec<String>| {
        with_helm(
            &Cmd::new("helm").args(args).local_query(),
            &helm,
            home.path(),
        )
    };
    for chart in ["basehub", "daskhub", "binderhub", "support"] {
        let dir = format!("helm-charts/{chart}");
        r.run(&helm_cmd(vec![
            "dependency".into(),
            "update".into(),
            dir.clone(),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let clusters = repo.load_clusters(&repo.cluster_names).unwrap();
    assert_eq!(clusters.len(), 3);
    let mut rendered = 0;
    for c in &clusters {
        let mut releases: Vec<(String, String, Vec<String>)> = c
            .file
            .hubs
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let values = c
                    .hub_files(i)
                    .filter(|f| f.ends_with(".values.yaml"))
                    .map(|f| f.into_owned())
                    .collect();
                (
                    h.name.clone(),
                    format!("helm-charts/{}", h.helm_chart),
                    values,
                )
            })
            .collect();
        if c.has_support() {
            releases.push((
                "support".into(),
                "helm-charts/support".into(),
                c.support_files.clone(),
            ));
        }
        for (release, chart, values) in releases {
            let mut args = vec![
                "template".to_string(),
                release.clone(),
                chart,
                "--namespace".into(),
                release.clone(),
            ];
            for v in values {
                args.extend(["-f".to_string(), v]);
            }
            let out = stdout(
                r.run(&helm_cmd(args))
                    .unwrap_or_else(|e| panic!("{}/{release}: {e}", c.name)),
            );
            assert!(out.contains("kind: Deployment"), "{}/{release}", c.name);
            rendered += 1;
        }
    }
    assert_eq!(rendered, 10 + 2, "ten hubs and two support releases");
}

#[test]
fn validate_helm_lints_and_renders_every_release_of_both_examples() {
    let Some(helm) = helm_or_skip("validate_helm_lints_and_renders_every_release_of_both_examples")
    else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        helm.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // the real helm first on PATH, its state in a private folder
    let real_helm = |t: Test<'static>| -> Test<'static> {
        t.env("PATH", &path)
            .env("HELM_CACHE_HOME", home.path().join("cache"))
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_DATA_HOME", home.path().join("data"))
    };
    for t in [Test::multi(), Test::example()] {
        real_helm(t)
            .args(["validate", "--helm", "-v"])
            .stderr_contains("+ helm template")
            .run();
    }
    // a template that fails to render is caught
    let template = "helm-charts/binderhub/templates/configmap.yaml";
    let t = Test::multi();
    let broken = std::fs::read_to_string(t.fixture().root.join(template)).unwrap()
        + "\n{{ .Values.no.such.value }}\n";
    real_helm(t.write(template, broken))
        .args([
            "validate",
            "--helm",
            "config/clusters/gamma/binder.values.yaml",
        ])
        .status(2)
        .stdout_contains(
            "config/clusters/gamma/binder.values.yaml: helm lint of release gamma/binder failed",
        )
        .stdout_contains("helm template of release gamma/binder failed")
        .run();
}
