//! Real Go jsonnet (installed by scripts/install-tools): renders built by `deploy::jsonnet` and
//! `deploy::tools::jsonnet`, run by the real runner, on fixtures in the shape of a 2i2c-style
//! repo (tests/fixtures/jsonnet/README.md): the symlinked chart file, the library path, each
//! provider's variables, errors with their location, the watchdog, nothing private in the log.
//!
//! Without Go jsonnet these tests say so on stderr and pass, except in CI (`CI=true`), where a
//! missing tool fails them: CI must never skip a real-tool test silently.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use deploy::cmd::Cmd;
use deploy::config::cluster::Cluster;
use deploy::jsonnet::{self, Render};
use deploy::log::{Ci, Log, SharedBuf, Verbosity};
use deploy::runner::{CmdError, RealRunner, Runner};
use deploy::tools;
use serde_json::{Value, json};

/// The Go jsonnet, or `None` after a loud notice (a panic in CI).
fn jsonnet_or_skip(test: &str) -> Option<PathBuf> {
    common::real::go_jsonnet(test)
}

fn with_program(cmd: &Cmd, program: &Path) -> Cmd {
    let mut c = cmd.clone();
    c.program = program.display().to_string();
    c
}

fn runner(v: Verbosity) -> (RealRunner, SharedBuf) {
    let buf = SharedBuf::default();
    let log = Log::with_sink(v, Ci::Plain, Box::new(buf.clone()));
    (RealRunner::new(log), buf)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jsonnet")
}

fn charts() -> PathBuf {
    fixtures().join("helm-charts")
}

const AWS: &str = "name: c-aws\nprovider: aws\naws:\n  account: 790657130469\n  key: k.json\n  clusterType: eks\n  clusterName: eks-name\n  region: us-west-2\n";
const GCP: &str = "name: c-gcp\nprovider: gcp\ngcp:\n  key: k.json\n  project: gcp-project\n  cluster: gke-name\n  zone: us-central1\n";
const KUBECONFIG: &str = "name: c-kube\nprovider: kubeconfig\nkubeconfig: {file: k.yaml}\n";

fn cluster(folder: &str, yaml: &str) -> Cluster {
    Cluster::parse(folder, yaml).unwrap()
}

/// Renders through the real runner into a private temp file; the parsed JSON, or the error.
fn render(jsonnet: &Path, r: &Render, timeout: Option<Duration>) -> Result<Value, CmdError> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = with_program(
        &tools::jsonnet::render(r, &out.path().display().to_string()),
        jsonnet,
    );
    if let Some(t) = timeout {
        cmd = cmd.timeout(t);
    }
    runner(Verbosity::Normal).0.run(&cmd)?;
    let text = std::fs::read_to_string(out.path()).unwrap();
    Ok(serde_json::from_str(&text).unwrap())
}

fn hub_render(chart: &str, c: &Cluster, hub: &str, domain: &str) -> Render {
    let mut r = Render::chart_values(
        &charts().join(chart),
        jsonnet::ext_vars(c, Some((hub, Some(domain)))),
    )
    .unwrap();
    r.jpath
        .extend([fixtures().join("lib-a"), fixtures().join("lib-b")]);
    r
}

#[test]
fn a_symlinked_chart_file_renders_as_the_path_it_is_given() {
    let Some(j) = jsonnet_or_skip("a_symlinked_chart_file_renders_as_the_path_it_is_given") else {
        return;
    };
    let c = cluster("c-aws", AWS);
    let base = render(
        &j,
        &hub_render("basehub", &c, "prod", "prod.example.org"),
        None,
    )
    .unwrap();
    let dask = render(
        &j,
        &hub_render("daskhub", &c, "prod", "prod.example.org"),
        None,
    )
    .unwrap();

    // The same file through its symlink: wrapped, and its relative import is the one next to
    // the symlink. Everything else is the same.
    assert_eq!(base["chart"], "basehub");
    assert_eq!(base["nearby"]["found"], "next to basehub/values.jsonnet");
    let mut inner = dask["basehub"].clone();
    assert_eq!(dask.as_object().unwrap().len(), 1, "{dask}");
    assert_eq!(inner["chart"], "daskhub");
    assert_eq!(inner["nearby"]["found"], "next to daskhub/values.jsonnet");
    inner["chart"] = base["chart"].clone();
    inner["nearby"] = base["nearby"].clone();
    assert_eq!(inner, base);

    // The right-most library folder wins; std.thisFile of an import is where it was found.
    let lib_b = fixtures().join("lib-b/shared.libsonnet");
    assert_eq!(
        base["shared"],
        json!({"hub": "prod", "library": "lib-b", "file": lib_b.display().to_string()})
    );
    // aws: the EKS cluster name and the account id; not staging: the full quota and resources.
    assert_eq!(
        base["userServiceAccount"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::790657130469:role/eks-name-prod"
    );
    assert_eq!(base["nfs"]["quota"]["hard"], 10);
    assert_eq!(base["nfs"]["resources"]["requests"]["cpu"], 0.1);
    assert_eq!(
        base["jupyterhub"]["ingress"]["hosts"],
        json!(["prod.example.org"])
    );
    assert_eq!(
        base["jupyterhub"]["singleuser"]["nodeSelector"],
        json!({"2i2c/hub-name": "prod"})
    );
}

#[test]
fn each_provider_gets_its_cluster_variables() {
    let Some(j) = jsonnet_or_skip("each_provider_gets_its_cluster_variables") else {
        return;
    };
    let support = |c: &Cluster| {
        let r = Render::chart_values(&charts().join("support"), jsonnet::ext_vars(c, None));
        render(&j, &r.unwrap(), None).unwrap()
    };
    let kube = support(&cluster("c-kube", KUBECONFIG));
    assert_eq!(kube["accountIsNone"], true);
    assert_eq!(kube["grafana"]["serviceAccount"]["annotations"], json!({}));
    assert_eq!(kube["rules"][0]["labels"]["cluster"], "c-kube");
    assert_eq!(
        kube["rules"][1]["expr"],
        "floor(min(available{pvc='home-nfs'}) / min(capacity{pvc='home-nfs'}) * 100) <= 0\n"
    );

    let gcp = support(&cluster("c-gcp", GCP));
    assert_eq!(
        gcp["grafana"]["serviceAccount"]["annotations"],
        json!({"iam.gke.io/gcp-service-account": "grafana@gcp-project.iam.gserviceaccount.com"})
    );
    assert_eq!(gcp["rules"][0]["labels"]["cluster"], "c-gcp");

    let aws = support(&cluster("c-aws", AWS));
    assert_eq!(
        aws["costMonitoring"],
        json!({"enabled": true, "account": "790657130469"})
    );
    assert_eq!(aws["rules"][0]["labels"]["cluster"], "eks-name");

    // A staging gcp hub: the GKE service account names the cluster.yaml name and the project.
    let hub = render(
        &j,
        &hub_render(
            "basehub",
            &cluster("c-gcp", GCP),
            "staging",
            "s.example.org",
        ),
        None,
    )
    .unwrap();
    assert_eq!(
        hub["userServiceAccount"]["annotations"],
        json!({"iam.gke.io/gcp-service-account": "c-gcp-staging@gcp-project.iam.gserviceaccount.com"})
    );
    assert_eq!(hub["nfs"]["quota"]["hard"], 1);
    assert_eq!(hub["nfs"]["resources"], json!({}));
}

#[test]
fn a_failed_render_names_the_file_line_and_column() {
    let Some(j) = jsonnet_or_skip("a_failed_render_names_the_file_line_and_column") else {
        return;
    };
    // A hub chart rendered with the support variables: no hub name.
    let c = cluster("c-aws", AWS);
    let r = Render::chart_values(&charts().join("basehub"), jsonnet::ext_vars(&c, None)).unwrap();
    let e = render(&j, &r, None).unwrap_err();
    let CmdError::Failed { tail, .. } = &e else {
        panic!("{e}")
    };
    assert!(
        tail.contains("Undefined external variable: VARS_2I2C_HUB_NAME"),
        "{e}"
    );
    let at = format!("{}:4:18", r.file.display());
    assert!(tail.contains(&at), "no {at} in {e}");

    // A hub without a domain: the variable is left out, so the line reading it fails.
    let r = Render::chart_values(
        &charts().join("basehub"),
        jsonnet::ext_vars(&c, Some(("prod", None))),
    )
    .unwrap();
    let e = render(&j, &r, None).unwrap_err().to_string();
    assert!(
        e.contains("Undefined external variable: VARS_2I2C_HUB_DOMAIN"),
        "{e}"
    );
}

#[test]
fn a_render_that_does_not_end_is_stopped() {
    let Some(j) = jsonnet_or_skip("a_render_that_does_not_end_is_stopped") else {
        return;
    };
    let r = Render::new(&fixtures().join("misc/forever.jsonnet"), vec![]).unwrap();
    let started = std::time::Instant::now();
    let e = render(&j, &r, Some(Duration::from_secs(2))).unwrap_err();
    assert!(matches!(e, CmdError::TimedOut { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn what_a_render_writes_never_reaches_the_log() {
    let Some(j) = jsonnet_or_skip("what_a_render_writes_never_reaches_the_log") else {
        return;
    };
    let r = Render::new(
        &fixtures().join("misc/private.jsonnet"),
        vec![(jsonnet::HUB_NAME.into(), "prod".into())],
    )
    .unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let cmd = with_program(
        &tools::jsonnet::render(&r, &out.path().display().to_string()),
        &j,
    );
    let (runner, log) = runner(Verbosity::Verbose);
    runner.run(&cmd).unwrap();
    let written = std::fs::read_to_string(out.path()).unwrap();
    assert!(written.contains("planted-jsonnet-secret-prod"), "{written}");
    let logged = log.text();
    assert!(
        logged.contains("--output-file"),
        "the command was not logged: {logged}"
    );
    assert!(!logged.contains("planted-jsonnet-secret"), "{logged}");
    assert!(
        !logged.contains(&out.path().display().to_string()),
        "{logged}"
    );
}

/// Not run by `cargo test`: scripts/check-jsonnet-2i2c runs it on a checkout of 2i2c's
/// infrastructure repo (`DEPLOY_2I2C_CHECKOUT`). Every cluster.yaml loads; support and every hub
/// render their chart's values.jsonnet with Go jsonnet (daskhub hubs through the symlink, so
/// wrapped in `basehub:`); each render's argv goes to `DEPLOY_JSONNET_ARGV_OUT` (JSON lines),
/// which the script compares with the argv 2i2c's deployer builds from the same files.
#[test]
#[ignore = "needs a 2i2c checkout: scripts/check-jsonnet-2i2c"]
fn renders_of_a_2i2c_checkout() {
    let root =
        PathBuf::from(std::env::var_os("DEPLOY_2I2C_CHECKOUT").expect("DEPLOY_2I2C_CHECKOUT"));
    let out_path = std::env::var_os("DEPLOY_JSONNET_ARGV_OUT").expect("DEPLOY_JSONNET_ARGV_OUT");
    let j = jsonnet_or_skip("renders_of_a_2i2c_checkout").expect("Go jsonnet");
    let mut folders: Vec<_> = std::fs::read_dir(root.join("config/clusters"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cluster.yaml").is_file())
        .collect();
    folders.sort();
    let mut lines = String::new();
    let mut count = 0;
    for dir in folders {
        let folder = dir.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(dir.join("cluster.yaml")).unwrap();
        let c = Cluster::parse(&folder, &text).unwrap_or_else(|e| panic!("{e}"));
        let mut renders = Vec::new();
        if c.has_support() {
            let r = Render::chart_values(
                &root.join("helm-charts/support"),
                jsonnet::ext_vars(&c, None),
            );
            renders.push((
                format!("{folder}/support"),
                "support".to_string(),
                r.unwrap(),
            ));
        }
        for hub in &c.file.hubs {
            let vars = jsonnet::ext_vars(&c, Some((&hub.name, hub.domain.as_deref())));
            let r = Render::chart_values(&root.join("helm-charts").join(&hub.helm_chart), vars);
            renders.push((
                format!("{folder}/{}", hub.name),
                hub.helm_chart.clone(),
                r.unwrap(),
            ));
        }
        for (label, chart, r) in renders {
            let v = render(&j, &r, None).unwrap_or_else(|e| panic!("{label}: {e}"));
            let top: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(top == ["basehub"], chart == "daskhub", "{label}: {top:?}");
            let argv: Vec<String> = tools::jsonnet::render(&r, "OUT")
                .argv_clear()
                .iter()
                .map(|s| s.to_string())
                .collect();
            lines.push_str(&json!({"label": label, "argv": argv}).to_string());
            lines.push('\n');
            count += 1;
        }
    }
    std::fs::write(&out_path, lines).unwrap();
    eprintln!("rendered {count} chart values files of {}", root.display());
}
