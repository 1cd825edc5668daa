//! Every planning rule, on the shipped example (examples/multi-cluster) with the files a 2i2c
//! repo has besides (deployer code, hub image, chartpress, terraform...) and deploy.yaml's
//! defaults: one row per case, the plan as a table plus the notices, in one snapshot.

mod common;

use common::Fixture;

/// A copy of the example, with the other files of a 2i2c repo the rows change (a changed path
/// that exists nowhere plans nothing), and no `plan:` in deploy.yaml: the defaults apply.
fn rules_repo() -> Fixture {
    let f = Fixture::multi();
    f.write("deploy.yaml", "live: false\n");
    for p in [
        "pyproject.toml",
        "deployer/deploy.py",
        "deployer/dev_commands/exec/infra.py",
        "deployer/tests/test_config.py",
        "deployer/health_check_tests/test_hub.py",
        "deployer/src/deployer/dev/commands/debug.py",
        "src/deployer/commands/deployer.py",
        "src/deployer/dev/commands/cilogon.py",
        "src/deployer/health_check_tests/test_hub.py",
        "helm-charts/chartpress.yaml",
        "helm-charts/images/hub/Dockerfile",
        "config/clusters/templates/gcp/support.values.yaml",
        "config/clusters/alpha/old.values.yaml",
        "terraform/main.tf",
        ".github/workflows/deploy.yaml",
    ] {
        f.write(p, "# a file of a 2i2c-style repo\n");
    }
    f
}

/// `deploy plan --format table args…` in `f`, which starts no tool: the table, then the notices.
fn plan(f: &Fixture, args: &[&str], stdin: Option<&str>) -> String {
    let mut t = f
        .test()
        .arg("plan")
        .args(["--format", "table"])
        .args(args)
        .no_calls();
    if let Some(s) = stdin {
        t = t.stdin(s);
    }
    let out = t.run();
    let mut s = out.stdout;
    for line in out.stderr.lines() {
        s.push_str(&format!("stderr: {line}\n"));
    }
    s
}

#[test]
fn rules_on_the_example_repo() {
    let cases: &[(&str, &[&str])] = &[
        (
            "empty input plans nothing",
            &["--changed-from", "/dev/null"],
        ),
        (
            "a hub's own values file: that hub, staging as canary",
            &["config/clusters/alpha/physics.values.yaml"],
        ),
        (
            "a file shared by several hubs: each of them",
            &["config/clusters/alpha/common.values.yaml"],
        ),
        (
            "support values file: support on that cluster",
            &["config/clusters/alpha/support.values.yaml"],
        ),
        (
            "support chart: support on every cluster with a support block",
            &["helm-charts/support/values.yaml"],
        ),
        (
            "base chart: its hubs and the hubs of charts depending on it",
            &["helm-charts/basehub/values.yaml"],
        ),
        (
            "daskhub chart: daskhub hubs only",
            &["helm-charts/daskhub/templates/dask-gateway.yaml"],
        ),
        (
            "binderhub chart on a cluster without staging hubs",
            &["helm-charts/binderhub/values.yaml"],
        ),
        (
            "helm-charts/ file outside any chart: every hub",
            &["helm-charts/README.md"],
        ),
        ("deployer code: every hub", &["deployer/deploy.py"]),
        ("pyproject.toml: every hub", &["pyproject.toml"]),
        (
            "deployer README, health checks, tests, dev commands: nothing",
            &[
                "deployer/README.md",
                "deployer/health_check_tests/test_hub.py",
                "deployer/tests/test_config.py",
                "deployer/dev_commands/exec/infra.py",
                "deployer/src/deployer/dev/commands/debug.py",
            ],
        ),
        (
            "2i2c's CI filter: hub image, chartpress, templates: nothing",
            &[
                "helm-charts/images/hub/Dockerfile",
                "helm-charts/chartpress.yaml",
                "config/clusters/templates/gcp/support.values.yaml",
            ],
        ),
        (
            "the deployer in src/ (2i2c's decision matches deployer/* only): nothing",
            &[
                "src/deployer/commands/deployer.py",
                "src/deployer/dev/commands/cilogon.py",
                "src/deployer/health_check_tests/test_hub.py",
            ],
        ),
        ("deploy.yaml: every hub", &["deploy.yaml"]),
        (
            "docs, terraform, workflows: nothing",
            &[
                "docs/README.md",
                "terraform/main.tf",
                ".github/workflows/deploy.yaml",
            ],
        ),
        (
            "odd paths are normalized",
            &[
                "./config//clusters/alpha/./prod.values.yaml",
                "config/clusters/alpha/../beta/teaching.values.yaml",
            ],
        ),
        (
            "a comma is part of a path, never a separator",
            &["config/clusters/alpha/prod.values.yaml,config/clusters/alpha/climate.values.yaml"],
        ),
        (
            "a missing cluster is reported",
            &["config/clusters/nope/x.values.yaml"],
        ),
        ("a path leaving the repo is reported", &["../outside.yaml"]),
        (
            "a file no hub uses: nothing",
            &["config/clusters/alpha/old.values.yaml"],
        ),
        (
            "a path that exists nowhere is reported, not planned; each notice once",
            &[
                "config/clusters/alpha/phsyics.values.yaml",
                "./config/clusters/alpha/phsyics.values.yaml",
                "helm-charts/basehub/valeus.yaml",
                "../outside.yaml",
                "../outside.yaml",
            ],
        ),
        (
            "the Jinja template folder is not a cluster",
            &["config/clusters/templates/gcp/cluster.yaml"],
        ),
        (
            "cluster.yaml without a base: support and every hub there",
            &["config/clusters/beta/cluster.yaml"],
        ),
        (
            "cluster without support or staging: prod only",
            &["config/clusters/gamma/cluster.yaml"],
        ),
        (
            "staging hub changed alone: no prod",
            &["config/clusters/beta/dask-staging.values.yaml"],
        ),
        (
            "label skip-deploy: nothing at all",
            &[
                "--label",
                "deployer:skip-deploy",
                "helm-charts/support/values.yaml",
                "deploy.yaml",
            ],
        ),
        (
            "label skip-deploy-hubs: support only",
            &[
                "--label",
                "deployer:skip-deploy-hubs",
                "config/clusters/alpha/common.values.yaml",
                "config/clusters/alpha/support.values.yaml",
            ],
        ),
        (
            "label deploy-support",
            &["--label", "deployer:deploy-support"],
        ),
        ("label deploy-hubs", &["--label", "deployer:deploy-hubs"]),
        (
            "deploy-hubs with skip-deploy-hubs: no hubs",
            &[
                "--label",
                "deployer:deploy-hubs",
                "--label",
                "deployer:skip-deploy-hubs",
            ],
        ),
        (
            "other labels are ignored",
            &[
                "--label",
                "documentation",
                "--label",
                "deployer:something-else",
            ],
        ),
    ];
    let f = rules_repo();
    let mut all = String::new();
    for (name, args) in cases {
        all.push_str(&format!(
            "## {name}\n$ deploy plan {}\n{}\n",
            args.join(" "),
            plan(&f, args, None)
        ));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn changed_from_file_and_stdin_match_arguments() {
    let f = rules_repo();
    let paths = [
        "config/clusters/beta/research.values.yaml",
        "helm-charts/support/Chart.yaml",
    ];
    let from_args = plan(&f, &paths, None);
    let from_stdin = plan(
        &f,
        &["--changed-from", "-"],
        Some(&format!("{}\n\n{}\n", paths[0], paths[1])),
    );
    assert_eq!(from_args, from_stdin);
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), paths.join("\n")).unwrap();
    assert_eq!(
        plan(&f, &["--changed-from", tmp.path().to_str().unwrap()], None),
        from_args
    );
}

#[test]
fn every_cluster_of_the_example_loads() {
    let f = rules_repo();
    let out = plan(
        &f,
        &[
            "--label",
            "deployer:deploy-hubs",
            "--label",
            "deployer:deploy-support",
        ],
        None,
    );
    for hub in [
        "alpha ",
        "beta ",
        "gamma ",
        "dask-staging",
        "research",
        "binder",
    ] {
        assert!(out.contains(hub), "{hub} missing:\n{out}");
    }
    assert!(!out.contains("templates"));
}
