//! A 2i2c-style repo (tests/fixtures/hub-ops-2i2c) deployed as 2i2c's deployer deploys it: the
//! commands of every release (a snapshot), the same commands run by `deploy run`, jsonnet values
//! rendered by the real Go jsonnet with each release's variables, nested local chart dependencies
//! vendored by the real helm inner first, `chart_override` copies, dask-gateway's CRDs from the
//! vendored chart, a `domain_override_file`, and validation of the whole repo.
//!
//! jsonnet and `helm dependency update` are the real programs (behind the fake tools, which log
//! the calls); the cluster side (kubectl, helm upgrade, the cloud CLIs, sops) is faked. Without
//! Go jsonnet or helm these tests say so on stderr and pass, except in CI (`CI=true`).

mod common;

use std::collections::BTreeMap;

use common::commands::{as_logged, matches};
use common::{Fixture, Test};

const ALL: [&str; 4] = [
    "--label",
    "deployer:deploy-hubs",
    "--label",
    "deployer:deploy-support",
];

/// What the fake `sops --decrypt` prints for the fixture's encrypted files (FAKE values).
const DECRYPTED: &[(&str, &str)] = &[
    (
        "config/clusters/gcp-east/enc-prod-domain.secret.yaml",
        "domain: university.east.example.org\n",
    ),
    (
        "config/clusters/gcp-east/enc-staging.secret.values.yaml",
        "jupyterhub:\n  hub:\n    config:\n      GitHubOAuthenticator:\n        client_secret: FAKE-east-client-secret\n",
    ),
    (
        "config/clusters/gcp-east/enc-support.secret.values.yaml",
        "grafana:\n  adminPassword: FAKE-east-grafana-password\n",
    ),
    (
        "helm-charts/support/enc-support.secret.values.yaml",
        "grafana:\n  adminPassword: FAKE-chart-grafana-password\n",
    ),
    (
        "helm-charts/support/enc-cryptnono.secret.values.yaml",
        "cryptnono:\n  detectors:\n    execwhacker:\n      bannedCommands: [FAKE-banned]\n",
    ),
    (
        "config/clusters/gcp-east/enc-deployer-credentials.secret.json",
        "{\"type\": \"service_account\", \"private_key\": \"FAKE-gcp-private-key\"}\n",
    ),
    (
        "config/clusters/aws-west/enc-deployer-credentials.secret.json",
        "{\"AccessKey\": {\"AccessKeyId\": \"FAKEKEYID\", \"SecretAccessKey\": \"FAKE-aws-secret\"}}\n",
    ),
];

/// The fixture with the real Go jsonnet and the real `helm dependency update` behind the fake
/// tools, and the encrypted files' fake decryptions; `None` (after a loud notice) without them.
fn repo(test: &str) -> Option<Fixture> {
    let jsonnet = common::real::go_jsonnet(test)?;
    let helm = common::real::helm(test)?;
    let f = Fixture::hub_ops_2i2c();
    f.use_real("jsonnet", &jsonnet, &[]);
    f.use_real("helm", &helm, &["helm dependency update"]);
    for (file, text) in DECRYPTED {
        f.sops_output(file, text);
    }
    f.set_deployments(&["hub", "proxy"]);
    Some(f)
}

/// `deploy` in the fixture, helm's own state kept in the fixture's fake folder.
fn deploy(f: &Fixture) -> Test<'_> {
    let mut t = f.test();
    for (k, sub) in [
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ] {
        t = t.env(k, f.fake.join("helm").join(sub));
    }
    t
}

/// A logged call as printed: the repo's absolute folder taken out (printed commands are
/// repo-relative), a chart_override's temp copy (`…/deploy-chart-XXXXXX/`) as
/// `<chart-override>/`.
fn relative(f: &Fixture, call: &str) -> String {
    let root = std::path::absolute(&f.root).unwrap();
    let call = call.replace(&format!("{}/", root.display()), "");
    call.split(' ')
        .map(|w| match w.find("/deploy-chart-") {
            Some(i) => {
                let rest = &w[i + 1..];
                let tail = rest.split_once('/').map_or("", |(_, t)| t);
                format!(
                    "{}<chart-override>/{tail}",
                    &w[..w.rfind(['=', ' ']).map_or(0, |j| j + 1).min(i)]
                )
            }
            None => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_commands_of_every_release_are_2i2cs() {
    let Some(f) = repo("the_commands_of_every_release_are_2i2cs") else {
        return;
    };
    let out = deploy(&f)
        .args(["plan", "--format", "commands"])
        .args(ALL)
        .run();
    insta::assert_snapshot!(out.stdout);
    // printing the commands renders (for real) but changes nothing
    assert!(
        f.calls().iter().all(|c| c.starts_with("jsonnet ")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn a_run_executes_the_printed_commands() {
    let Some(f) = repo("a_run_executes_the_printed_commands") else {
        return;
    };
    let printed = deploy(&f)
        .args(["plan", "--format", "commands"])
        .args(ALL)
        .run()
        .stdout;
    f.clear_calls();
    let commands: Vec<String> = printed
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(as_logged)
        .collect();
    let calls: Vec<String> = deploy(&f)
        .arg("run")
        .args(ALL)
        .run()
        .calls
        .iter()
        .map(|c| relative(&f, c))
        .collect();
    // the checks before the run render every jsonnet file once more (and check jsonnet's
    // version); they end where the first cluster's credentials start
    let checks = calls
        .iter()
        .position(|c| !c.starts_with("jsonnet ") && !c.starts_with("sops "))
        .unwrap();
    assert!(calls[..checks].iter().any(|c| c == "jsonnet --version"));
    let ran: Vec<String> = calls
        .iter()
        .enumerate()
        .filter(|(i, c)| *i >= checks || !c.starts_with("jsonnet "))
        .map(|(_, c)| c.clone())
        .collect();
    for call in &ran {
        let lease_wait = call.contains(" get lease ") || call.starts_with("kubectl replace");
        let namespace = call.starts_with("kubectl create namespace ");
        assert!(
            lease_wait || namespace || commands.iter().any(|c| matches(c, call)),
            "the run executed `{call}`, which plan --format commands does not show:\n{printed}"
        );
    }
    let mut printed_count: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &commands {
        *printed_count.entry(c).or_default() += 1;
    }
    for (c, n) in printed_count {
        let runs = ran.iter().filter(|call| matches(c, call)).count();
        // one printed line stands for each workload, each CRD file; a lease create may be
        // retried after its namespace is made
        let each = c.contains("<workload>")
            || c.starts_with("kubectl apply -f -")
            || c.starts_with("kubectl create -o json");
        // a file is decrypted once per run, however many releases print its decryption
        let cached = c.starts_with("sops --decrypt ");
        assert!(
            runs == n || (each && runs >= n) || (cached && (1..n).contains(&runs)),
            "`{c}` is printed {n} time(s) but ran {runs} time(s):\n{}",
            ran.join("\n")
        );
    }
}

/// The calls of `deploy run -v` (all releases), after the checks before the run.
fn run_all<'f>(f: &'f Fixture, env: &[(&str, &str)]) -> (Vec<String>, common::Output<'f>) {
    let mut t = deploy(f).args(["run", "-v"]).args(ALL);
    for (k, v) in env {
        t = t.env(k, v);
    }
    let out = t.run();
    let calls: Vec<String> = out.calls.iter().map(|c| relative(f, c)).collect();
    let checks = calls
        .iter()
        .position(|c| !c.starts_with("jsonnet ") && !c.starts_with("sops "))
        .unwrap();
    (calls[checks..].to_vec(), out)
}

#[test]
fn jsonnet_values_are_rendered_with_each_releases_variables() {
    let Some(f) = repo("jsonnet_values_are_rendered_with_each_releases_variables") else {
        return;
    };
    let (calls, out) = run_all(&f, &[("FAKE_ECHO_VALUES", "1")]);
    let log = &out.stderr;
    // daskhub's values.jsonnet is a symlink to basehub's: read through it, the values nest under
    // `basehub:` (std.thisFile is the path given, not the link's target)
    assert!(log.contains("\"basehub\": {"), "{log}");
    // each provider's variables: aws's EKS name and account, gcp's project
    for v in [
        "\"cluster\": \"west-eks\"",
        "\"account\": \"123456789012\"",
        "\"account\": \"gcp-east-project\"",
        "\"serviceAccountName\": null",
    ] {
        assert!(log.contains(v), "{v} in {log}");
    }
    // the prod hub's renders (its chart's values.jsonnet and its own prod.jsonnet) get the
    // domain of its domain_override_file, decrypted
    let prod: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("jsonnet ") && c.contains("VARS_2I2C_HUB_NAME=prod"))
        .collect();
    assert_eq!(prod.len(), 2, "{prod:?}");
    for c in prod {
        assert!(
            c.contains("VARS_2I2C_HUB_DOMAIN=university.east.example.org"),
            "{c}"
        );
    }
    // no decrypted value is in the log (the domain from the encrypted file neither)
    for (_, text) in DECRYPTED {
        for secret in text
            .split(['"', ' ', '\n', '[', ']'])
            .filter(|w| w.starts_with("FAKE"))
        {
            assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        }
    }
    assert!(!log.contains("university.east.example.org"), "{log}");
}

/// The line `fake-tool` wrote for `release`'s `helm upgrade` chart (see its `charts` state).
fn chart_of(f: &Fixture, release: &str) -> String {
    f.fake_state("charts")
        .lines()
        .find(|l| l.starts_with(&format!("chart {release} ")))
        .unwrap_or_else(|| panic!("no helm upgrade of {release}: {}", f.fake_state("charts")))
        .to_string()
}

#[test]
fn nested_local_charts_are_vendored_inner_first_and_overrides_are_copies() {
    let Some(f) = repo("nested_local_charts_are_vendored_inner_first_and_overrides_are_copies")
    else {
        return;
    };
    let (calls, _) = run_all(&f, &[]);
    // daskhub's basehub carries basehub's own subcharts: basehub was updated first
    assert_eq!(
        chart_of(&f, "dask"),
        "chart dask daskhub 0.1.0 vendored=[basehub-0.1.0.tgz] \
         nested=[dask-gateway jupyterhub]"
    );
    let updates: Vec<&String> = calls
        .iter()
        .filter(|c| {
            c.starts_with("helm dependency update helm-charts/") && !c.ends_with("/support")
        })
        .collect();
    assert_eq!(
        updates,
        [
            "helm dependency update helm-charts/basehub",
            "helm dependency update helm-charts/daskhub"
        ],
        "once per chart per run, inner first"
    );
    // a chart_override: helm gets a copy with the override as basehub's Chart.yaml (its
    // dependencies vendored in the copy), relative to the cluster folder or to the repo root
    // (two clusters have a hub named staging: only aws-west's has an override)
    let mut staging: Vec<&str> = f
        .fake_state("charts")
        .leak()
        .lines()
        .filter(|l| l.starts_with("chart staging "))
        .collect();
    staging.sort_unstable();
    assert_eq!(
        staging,
        [
            "chart staging basehub 0.1.0 vendored=[dask-gateway-2026.3.0.tgz jupyterhub-4.3.3.tgz] nested=[]",
            "chart staging basehub 0.2.0-west vendored=[dask-gateway-2026.3.0.tgz jupyterhub-4.3.3.tgz] nested=[]",
        ]
    );
    assert!(
        chart_of(&f, "lab")
            .ends_with(" basehub 0.1.0-lab vendored=[jupyterhub-4.3.3.tgz] nested=[]")
    );
    // the copies are gone, and the repo's basehub was not changed by them
    let upgraded: Vec<String> = f
        .calls()
        .into_iter()
        .filter(|c| c.contains("/deploy-chart-") && c.starts_with("helm upgrade"))
        .collect();
    assert_eq!(upgraded.len(), 2, "{upgraded:?}");
    for c in upgraded {
        let dir = c.split(' ').find(|w| w.contains("/deploy-chart-")).unwrap();
        assert!(!std::path::Path::new(dir).exists(), "{dir} left behind");
    }
    let chart = std::fs::read_to_string(f.root.join("helm-charts/basehub/Chart.yaml")).unwrap();
    assert!(chart.contains("version: 0.1.0\n"), "{chart}");
}

#[test]
fn without_basehub_first_daskhub_would_lack_basehubs_subcharts() {
    // the control for the test above: helm alone, daskhub updated without basehub first
    let Some(helm) =
        common::real::helm("without_basehub_first_daskhub_would_lack_basehubs_subcharts")
    else {
        return;
    };
    let f = Fixture::hub_ops_2i2c();
    let home = f.fake.join("helm");
    let out = std::process::Command::new(helm)
        .args(["dependency", "update", "helm-charts/daskhub"])
        .current_dir(&f.root)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let tgz = f.root.join("helm-charts/daskhub/charts/basehub-0.1.0.tgz");
    let list = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&tgz)
        .output()
        .unwrap();
    let list = common::text(&list.stdout);
    assert!(list.contains("basehub/Chart.yaml"), "{list}");
    assert!(!list.contains("basehub/charts/"), "{list}");
}

#[test]
fn dask_gateways_crds_are_applied_from_the_vendored_chart() {
    let Some(f) = repo("dask_gateways_crds_are_applied_from_the_vendored_chart") else {
        return;
    };
    let (all_calls, _) = run_all(&f, &[]);
    // the science hub enables dask-gateway at the top level, the dask hub under `basehub:`
    let applied = f.fake_state("applied");
    let names: Vec<&str> = applied
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name: "))
        .filter(|n| n.contains('.'))
        .collect();
    assert_eq!(
        names,
        [
            "daskclusters.gateway.dask.org",
            "ingressroutes.traefik.io",
            "daskclusters.gateway.dask.org",
            "ingressroutes.traefik.io"
        ],
        "{applied}"
    );
    // before each of those hubs' upgrade, after the lease (one hub per run: clusters run
    // concurrently, so the calls of a whole run interleave)
    for (cluster, hub) in [("aws-west", "science"), ("gcp-east", "dask")] {
        let calls = deploy(&f).args(["upgrade-hub", cluster, hub]).run().calls;
        let at = |p: &str| calls.iter().position(|c| c.starts_with(p)).unwrap();
        let upgrade = at(&format!("helm upgrade --install --namespace {hub} "));
        let status = at(&format!(
            "kubectl -n {hub} get secret -l owner=helm,name={hub} "
        ));
        let crds: Vec<usize> = calls
            .iter()
            .enumerate()
            .filter(|(i, c)| c.as_str() == "kubectl apply -f -" && (status..upgrade).contains(i))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(crds.len(), 2, "{hub}: {calls:?}");
    }
    // no CRDs for hubs without dask-gateway
    let calls = all_calls;
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.as_str() == "kubectl apply -f -")
            .count(),
        4
    );
}

#[test]
fn the_whole_repo_validates_and_a_bad_value_under_basehub_is_found() {
    let Some(f) = repo("the_whole_repo_validates_and_a_bad_value_under_basehub_is_found") else {
        return;
    };
    deploy(&f).arg("validate").run();
    // daskhub passes `basehub:` on to basehub, whose schema checks it
    f.write(
        "config/clusters/gcp-east/dask.values.yaml",
        "basehub:\n  dask-gateway:\n    enabled: yes-please\n",
    );
    deploy(&f)
        .arg("validate")
        .status(2)
        .stdout_contains("config/clusters/gcp-east/dask.values.yaml:3:")
        .stdout_contains("basehub.dask-gateway.enabled")
        .stdout_contains("(release gcp-east/dask, helm-charts/basehub/values.schema.yaml)")
        .run();
}

#[test]
fn a_jsonnet_error_stops_the_run_before_anything_starts() {
    let Some(f) = repo("a_jsonnet_error_stops_the_run_before_anything_starts") else {
        return;
    };
    f.write(
        "config/clusters/gcp-east/prod.jsonnet",
        "local hub = std.extVar('VARS_2I2C_HUB_NAME');\n{ jupyterhub: { hub: hub + } }\n",
    );
    f.commit_all("a broken jsonnet file");
    let out = deploy(&f)
        .arg("run")
        .args(ALL)
        .status(2)
        .stderr_contains("config/clusters/gcp-east/prod.jsonnet")
        .stderr_contains("jsonnet could not render it")
        .stderr_contains("prod.jsonnet:2:")
        .run();
    assert!(
        out.calls
            .iter()
            .all(|c| c.starts_with("jsonnet ") || c.starts_with("sops ")),
        "{:?}",
        out.calls
    );
}

#[test]
fn a_changed_override_plans_its_hub_and_the_reason_says_which() {
    // needs no real tool: planning reads the config only
    let f = Fixture::hub_ops_2i2c();
    let out = f
        .test()
        .args(["plan", "--format", "json"])
        .args([
            "config/overrides/lab-chart.yaml",
            "config/clusters/aws-west/chart.yaml",
            "config/clusters/gcp-east/enc-prod-domain.secret.yaml",
        ])
        .run();
    assert!(out.status.success(), "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let reasons: BTreeMap<String, String> = ["staging-jobs", "prod-jobs"]
        .iter()
        .flat_map(|k| plan[k].as_array().unwrap().clone())
        .map(|j| {
            (
                format!(
                    "{}/{}",
                    j["cluster_name"].as_str().unwrap(),
                    j["hub_name"].as_str().unwrap()
                ),
                j["reason_for_redeploy"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons["k8s-lab/lab"], "chart_override changed: config/overrides/lab-chart.yaml",
        "a root-relative override, outside the cluster's folder"
    );
    assert_eq!(
        reasons["aws-west/staging"],
        "chart_override changed: config/clusters/aws-west/chart.yaml"
    );
    assert_eq!(
        reasons["gcp-east/prod"],
        "domain_override_file changed: config/clusters/gcp-east/enc-prod-domain.secret.yaml"
    );
    assert_eq!(
        reasons.len(),
        4,
        "and gcp-east's staging canary: {reasons:?}"
    );
}

#[test]
fn a_flux_run_cluster_gets_rendered_values_and_what_flux_cannot_do_is_refused() {
    let Some(f) =
        repo("a_flux_run_cluster_gets_rendered_values_and_what_flux_cannot_do_is_refused")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let url = common::bare_repo(tmp.path());
    for c in ["gcp-east", "k8s-lab"] {
        let file = format!("config/clusters/{c}/cluster.yaml");
        let yaml = std::fs::read_to_string(f.root.join(&file)).unwrap();
        f.write(
            &file,
            format!("{yaml}gitops:\n  repo: {url}\n  path: clusters/{c}\n"),
        );
    }
    f.commit_all("gcp-east and k8s-lab are run by Flux");
    let out = deploy(&f)
        .args(["run", "--report", "report.json"])
        .args(ALL)
        .status(1)
        .stderr_contains("chart_override config/overrides/lab-chart.yaml replaces a Chart.yaml")
        .stderr_contains("domain_override_file config/clusters/gcp-east/enc-prod-domain.secret.yaml is read at deploy time")
        .stderr_contains("enc-staging.secret.values.yaml is sops-encrypted")
        .stderr_contains("the CRDs of dask-gateway 2026.3.0")
        .run();
    // nothing of the two Flux-run clusters ran against a cluster
    for c in &out.calls {
        assert!(
            !(c.starts_with("helm upgrade") && (c.contains(" dask ") || c.contains(" lab "))),
            "{c}"
        );
    }
    // staging failed, so gcp-east's prod hubs were skipped: deploy dask on its own
    deploy(&f)
        .args(["upgrade-hub", "gcp-east", "dask"])
        .stderr_contains("the CRDs of dask-gateway 2026.3.0")
        .run();
    let files = common::files_on_main(&url);
    assert!(files.contains("clusters/gcp-east/dask.yaml"), "{files}");
    let dask = common::git(
        tmp.path(),
        &[
            "--git-dir",
            &url,
            "show",
            "main:clusters/gcp-east/dask.yaml",
        ],
    );
    let doc: serde_json::Value = serde_yaml::from_str(&dask).unwrap();
    deploy::gitops::check(&doc).unwrap();
    // the daskhub chart's values.jsonnet, rendered with the hub's variables, is in its values
    assert_eq!(
        doc["spec"]["values"]["basehub"]["jupyterhub"]["ingress"]["hosts"][0],
        "dask.east.example.org",
        "{dask}"
    );
}
