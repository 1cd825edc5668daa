//! A 2i2c-style repo (tests/fixtures/hub-ops-2i2c) deployed for real on the test API server: a
//! daskhub hub whose values come from basehub's jsonnet (through daskhub's symlink, nested under
//! `basehub:`) keeps its ingress hosts, its nested subcharts (basehub's own dependencies inside
//! daskhub's basehub) are installed, dask-gateway's CRDs are in the cluster; a hub with a
//! `chart_override` is installed from the override's chart.

use super::*;

/// The fixture with its kubeconfig cluster pointed at the test API server and two hubs on it:
/// `dask-<s>` (daskhub, dask-gateway on under `basehub:`) and `lab-<s>` (basehub, with the repo's
/// root-relative `chart_override`).
fn lab_repo(env: &TestEnv, s: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    copy_tree(&manifest_dir().join("tests/fixtures/hub-ops-2i2c"), &root);
    let dir = root.join("config/clusters/k8s-lab");
    std::fs::copy(
        env.kubeconfig(),
        dir.join("deployer-credentials.secret.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("cluster.yaml"),
        format!(
            "name: k8s-lab\nprovider: kubeconfig\nkubeconfig:\n  file: deployer-credentials.secret.yaml\n\
             hubs:\n\
             - name: dask-{s}\n  display_name: Dask\n  domain: dask-{s}.lab.example.org\n  helm_chart: daskhub\n  helm_chart_values_files: [dask.values.yaml]\n\
             - name: lab-{s}\n  display_name: Lab\n  domain: lab-{s}.lab.example.org\n  helm_chart: basehub\n  chart_override: config/overrides/lab-chart.yaml\n  helm_chart_values_files: [lab.values.yaml]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("dask.values.yaml"),
        "basehub:\n  dask-gateway:\n    enabled: true\n",
    )
    .unwrap();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "e2e"]);
    (tmp, root)
}

fn get(env: &TestEnv, args: &[&str]) -> String {
    let o = env.tool("kubectl", args);
    assert!(o.status.success(), "kubectl {args:?}: {}", text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn a_2i2c_style_daskhub_hub_keeps_its_ingress_and_nested_subcharts() {
    let Some(env) = test_env("a_2i2c_style_daskhub_hub_keeps_its_ingress_and_nested_subcharts")
    else {
        return;
    };
    let s = unique();
    let (_tmp, root) = lab_repo(&env, &s);
    let bin = tempfile::tempdir().unwrap();
    let dask = format!("dask-{s}");
    let mut c = deploy_cmd(&env, &root, bin.path(), bin.path());
    // (the hubs' domains resolve nowhere here: health checks are tests/health.rs's)
    c.args([
        "upgrade-hub",
        "k8s-lab",
        &dask,
        "--timeout",
        "2m",
        "--no-health-check",
    ]);
    run_ok(c);
    assert_eq!(env.release(&dask).unwrap()["info"]["status"], "deployed");
    // from basehub's values.jsonnet, rendered through daskhub's symlink: under `basehub:`, so
    // jupyterhub (a subchart of basehub, inside daskhub) gets the hub's ingress host
    let cm = |name: &str, key: &str| {
        get(
            &env,
            &[
                "-n",
                &dask,
                "get",
                "configmap",
                name,
                "-o",
                &format!("jsonpath={{.data.{key}}}"),
            ],
        )
    };
    assert_eq!(
        cm("hub-config", "ingress-hosts"),
        format!("dask-{s}.lab.example.org")
    );
    assert_eq!(cm("cluster-info", "hub"), dask);
    assert_eq!(cm("cluster-info", "account"), "None");
    assert_eq!(cm("cluster-info", "chart"), "basehub-0.1.0");
    // dask-gateway, basehub's other subchart, is on; its CRDs were applied before the upgrade
    get(
        &env,
        &[
            "-n",
            &dask,
            "get",
            "deployment",
            &format!("api-{dask}-dask-gateway"),
        ],
    );
    for crd in ["daskclusters.gateway.dask.org", "ingressroutes.traefik.io"] {
        get(&env, &["get", "crd", crd]);
    }
    env.forget_release(&dask);
}

#[test]
fn a_chart_override_is_the_chart_the_hub_is_installed_from() {
    let Some(env) = test_env("a_chart_override_is_the_chart_the_hub_is_installed_from") else {
        return;
    };
    let s = unique();
    let (_tmp, root) = lab_repo(&env, &s);
    let bin = tempfile::tempdir().unwrap();
    let lab = format!("lab-{s}");
    let mut c = deploy_cmd(&env, &root, bin.path(), bin.path());
    c.args([
        "upgrade-hub",
        "k8s-lab",
        &lab,
        "--timeout",
        "2m",
        "--no-health-check",
    ]);
    run_ok(c);
    let release = env.release(&lab).unwrap();
    assert_eq!(release["info"]["status"], "deployed");
    let chart = get(
        &env,
        &[
            "-n",
            &lab,
            "get",
            "configmap",
            "cluster-info",
            "-o",
            "jsonpath={.data.chart}",
        ],
    );
    assert_eq!(chart, "basehub-0.1.0-lab");
    // the override has no dask-gateway dependency
    let o = env.tool(
        "kubectl",
        &[
            "-n",
            &lab,
            "get",
            "deployment",
            &format!("api-{lab}-dask-gateway"),
        ],
    );
    assert!(!o.status.success());
    // nothing was written into the repo's charts by the copy
    let status = git(
        &root,
        &[
            "status",
            "--porcelain",
            "--",
            "helm-charts/basehub/Chart.yaml",
        ],
    );
    assert_eq!(status, "");
    env.forget_release(&lab);
}
