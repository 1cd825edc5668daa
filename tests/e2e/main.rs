//! End-to-end: the real `deploy` binary against real tools started by `scripts/test-env start`:
//! helm 3, kubectl, a registry with a login, image builds through podman's Docker API, and a real
//! kube-apiserver with a node simulator. Run: `cargo test --features e2e --test e2e`.
//!
//! Without a running test environment these tests fail in CI (`CI=true`) and say loudly that
//! they were skipped elsewhere.

#[path = "../common/mod.rs"]
mod common;
mod fleet;
mod hub_ops_2i2c;
mod image;
mod revisions;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{copy_tree, git, manifest_dir, text};
use serde_json::Value;

/// What `scripts/test-env start` wrote to `$DEPLOY_TEST_ENV/env`.
struct TestEnv {
    vars: BTreeMap<String, String>,
    /// PATH with the tools' bin folder first.
    path: String,
}

impl TestEnv {
    fn var(&self, k: &str) -> &str {
        self.vars
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{k} missing from the env file"))
    }
    fn kubeconfig(&self) -> &str {
        self.var("KUBECONFIG")
    }
    fn registry_password(&self) -> String {
        std::fs::read_to_string(self.var("DEPLOY_TEST_REGISTRY_PASSWORD_FILE"))
            .unwrap()
            .trim()
            .to_string()
    }
    fn registry_ca(&self) -> PathBuf {
        Path::new(self.var("DEPLOY_TEST_ENV")).join("registry-auth/cert.pem")
    }

    /// A real tool, with the test environment.
    fn tool(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("PATH", &self.path)
            .env("KUBECONFIG", self.kubeconfig())
            .env("DOCKER_HOST", self.var("DOCKER_HOST"))
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    /// `helm status` as JSON, or None when there is no such release.
    fn release(&self, name: &str) -> Option<Value> {
        let o = self.tool("helm", &["status", name, "--namespace", name, "-o", "json"]);
        o.status
            .success()
            .then(|| serde_json::from_slice(&o.stdout).unwrap())
    }

    /// What `kubectl get secret` prints of helm's release Secrets of `release` (in its own
    /// namespace) that also match `selector` (`,version=N`, or nothing), shown as `output` asks.
    fn helm_secrets(&self, release: &str, selector: &str, output: &[&str]) -> String {
        let selector = format!("owner=helm,name={release}{selector}");
        let mut args = vec!["-n", release, "get", "secret", "-l", &selector];
        args.extend_from_slice(output);
        text(&self.tool("kubectl", &args).stdout)
    }

    fn forget_release(&self, name: &str) {
        self.tool("helm", &["uninstall", name, "--namespace", name, "--wait"]);
        self.tool(
            "kubectl",
            &[
                "-n",
                name,
                "delete",
                "lease",
                &format!("deploy-{name}"),
                "--ignore-not-found",
            ],
        );
    }

    fn registry_tags(&self, repo: &str) -> Vec<String> {
        let pw = self.registry_password();
        let o = Command::new("curl")
            .args(["-s", "--cacert"])
            .arg(self.registry_ca())
            .args([
                "-u",
                &format!("{}:{pw}", self.var("DEPLOY_TEST_REGISTRY_USER")),
            ])
            .arg(format!(
                "https://{}/v2/{repo}/tags/list",
                self.var("DEPLOY_TEST_REGISTRY_AUTH")
            ))
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        v["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn test_env(test: &str) -> Option<TestEnv> {
    let dir = std::env::var("DEPLOY_TEST_ENV").unwrap_or_else(|_| "/tmp/deploy-test-env".into());
    let file = Path::new(&dir).join("env");
    let up = std::fs::read_to_string(&file).ok().filter(|_| {
        Command::new("curl")
            .args(["-fs", "--cacert"])
            .arg(Path::new(&dir).join("pki/ca.crt"))
            .arg("https://127.0.0.1:6443/readyz")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(text) = up else {
        let msg = format!(
            "the test environment is not running ({} missing or the API server does not answer): \
             run `scripts/test-env install && scripts/test-env start`; e2e test `{test}` did NOT run",
            file.display()
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
        return None;
    };
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    let bin = vars
        .get("PATH")
        .map(|p| p.trim_end_matches(":$PATH").to_string())
        .unwrap_or_default();
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    Some(TestEnv { vars, path })
}

/// A unique suffix, so images and releases of one test run never meet those of another.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}{:x}", std::process::id(), nanos)
}

/// A temp git repo holding a copy of the legacy example adapted to the test environment: images
/// in the login registry, a fake gcloud (GKE cannot be reached; the cluster is the test one), a
/// base image from the local registry, hub databases in memory (no StorageClass here).
struct LegacyRepo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    bin: PathBuf,
    docker_config: PathBuf,
    image_prefix: String,
}

fn legacy_repo(env: &TestEnv, tweak: impl Fn(&Path)) -> LegacyRepo {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    for part in common::EXAMPLE_PARTS {
        copy_tree(&manifest_dir().join(part), &root.join(part));
    }
    let image_prefix = format!("e2e-{}", unique());
    std::fs::write(
        root.join("secrets/registry-password"),
        env.registry_password() + "\n",
    )
    .unwrap();
    std::fs::write(
        root.join("deploy.yaml"),
        format!(
            "charts: [staginghub, ea-hub, nbgrader-hub, monitoring]\n\
             gcloud: {{key_file: secrets/gke-auth-key.json, cluster: jhub, zone: us-central1-b, project: ea-jupyter}}\n\
             docker: {{username: {user}, password_file: secrets/registry-password, registry: {reg}}}\n\
             image: {{name: '{reg}/{image_prefix}-{{chart}}', tag_value: jupyterhub.singleuser.image.tag}}\n\
             helm: {{timeout: 60s}}\n",
            user = env.var("DEPLOY_TEST_REGISTRY_USER"),
            reg = env.var("DEPLOY_TEST_REGISTRY_AUTH"),
        ),
    )
    .unwrap();
    for hub in ["staginghub", "ea-hub", "nbgrader-hub"] {
        std::fs::write(
            root.join(format!("user-images/{hub}/Dockerfile")),
            format!(
                "FROM {}/busybox-base:1\nRUN echo {hub} > /etc/hub-name\n",
                env.var("DEPLOY_TEST_REGISTRY")
            ),
        )
        .unwrap();
        set_value(
            &root.join(format!("secrets/{hub}.yaml")),
            &["jupyterhub", "hub", "db", "type"],
            "sqlite-memory",
        );
    }
    tweak(&root);
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "e2e"]);
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gcloud = bin.join("gcloud");
    // get-credentials writes the test cluster's kubeconfig where deploy points KUBECONFIG (its
    // private folder), as the real one writes GKE's; it records where that was
    std::fs::write(
        &gcloud,
        format!(
            "#!/bin/sh\necho \"fake gcloud $* (CLOUDSDK_CONFIG=$CLOUDSDK_CONFIG)\" >&2\n\
             case \"$*\" in *get-credentials*) cp '{}' \"$KUBECONFIG\";; esac\nexit 0\n",
            env.kubeconfig()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&gcloud, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker_config = tmp.path().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    LegacyRepo {
        _tmp: tmp,
        root,
        bin,
        docker_config,
        image_prefix,
    }
}

/// Set a nested value in a YAML values file.
fn set_value(file: &Path, path: &[&str], value: &str) {
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut node = &mut doc;
    for key in &path[..path.len() - 1] {
        let m = node.as_mapping_mut().unwrap();
        node = m
            .entry(serde_yaml::Value::from(*key))
            .or_insert_with(|| serde_yaml::Value::Mapping(Default::default()));
    }
    node.as_mapping_mut().unwrap().insert(
        serde_yaml::Value::from(path[path.len() - 1]),
        serde_yaml::Value::from(value),
    );
    std::fs::write(file, serde_yaml::to_string(&doc).unwrap()).unwrap();
}

fn deploy_cmd(env: &TestEnv, root: &Path, bin: &Path, docker_config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deploy"));
    c.current_dir(root)
        .env("PATH", format!("{}:{}", bin.display(), env.path))
        .env("KUBECONFIG", env.kubeconfig())
        .env("DOCKER_HOST", env.var("DOCKER_HOST"))
        .env("DOCKER_CONFIG", docker_config)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("TRAVIS");
    c
}

fn run_ok(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert!(out.status.success(), "failed:\n{}", text(&out.stderr));
    out
}

#[test]
fn legacy_build_push_deploy_then_a_second_run_only_upgrades() {
    let Some(env) = test_env("legacy_build_push_deploy_then_a_second_run_only_upgrades") else {
        return;
    };
    env.forget_release("ea-hub");
    let repo = legacy_repo(&env, |_| {});
    let deploy = || deploy_cmd(&env, &repo.root, &repo.bin, &repo.docker_config);
    let tag = git(
        &repo.root,
        &[
            "log",
            "-n",
            "1",
            "--pretty=format:%h",
            "--",
            "user-images/ea-hub",
        ],
    );
    let image = format!("{}-ea-hub", repo.image_prefix);

    // setup gives helm and kubectl a private kubeconfig (the fake gcloud fills it): the
    // operator's own, which does not exist here, is neither used nor created
    let operator = repo.root.parent().unwrap().join("operator-kubeconfig");
    let mut c = deploy();
    c.args(["ea-hub", "--build", "--push", "--deploy"])
        .env("KUBECONFIG", &operator);
    let out = run_ok(c);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Login Succeeded"),
        "a real docker login: {stderr}"
    );
    assert!(!operator.exists(), "the operator's kubeconfig is untouched");
    assert_eq!(
        env.registry_tags(&image),
        vec![tag.clone()],
        "the image is in the registry"
    );
    let rel = env.release("ea-hub").expect("installed");
    assert_eq!(rel["info"]["status"], "deployed");
    assert_eq!(rel["version"], 1);
    let deployments = text(
        &env.tool(
            "kubectl",
            &["-n", "ea-hub", "get", "deployments", "-o", "name"],
        )
        .stdout,
    );
    assert!(
        deployments.contains("deployment.apps/hub")
            && deployments.contains("deployment.apps/proxy"),
        "{deployments}"
    );
    assert!(stderr.contains("successfully rolled out"), "{stderr}");
    let values = text(
        &env.tool(
            "helm",
            &["get", "values", "ea-hub", "-n", "ea-hub", "-o", "json"],
        )
        .stdout,
    );
    assert!(values.contains(&tag), "the image tag was set: {values}");

    // second run: the tag is in the registry, so nothing is built or pushed; helm upgrades
    let mut c = deploy();
    c.args(["ea-hub", "--build", "--push", "--deploy"]);
    let out = run_ok(c);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is already in the registry: not building it"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("+ docker build") && !stderr.contains("+ docker push"),
        "{stderr}"
    );
    assert_eq!(env.release("ea-hub").unwrap()["version"], 2);
    env.forget_release("ea-hub");
}

#[test]
fn a_broken_image_build_deploys_nothing() {
    let Some(env) = test_env("a_broken_image_build_deploys_nothing") else {
        return;
    };
    // staginghub is deployed by the secrets test too (tests run in parallel): only check that
    // no helm command ran
    let repo = legacy_repo(&env, |root| {
        let df = root.join("user-images/staginghub/Dockerfile");
        let mut t = std::fs::read_to_string(&df).unwrap();
        t.push_str("RUN echo 'the build breaks here' && exit 3\n");
        std::fs::write(df, t).unwrap();
    });
    let mut c = deploy_cmd(&env, &repo.root, &repo.bin, &repo.docker_config);
    c.args(["staginghub", "--build", "--push", "--deploy"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: build failed: `docker build"),
        "{stderr}"
    );
    assert!(!stderr.contains("+ helm"), "nothing deployed: {stderr}");
    assert!(
        env.registry_tags(&format!("{}-staginghub", repo.image_prefix))
            .is_empty(),
        "nothing pushed"
    );
}

#[test]
fn a_broken_rollout_times_out_is_cleaned_up_and_explained() {
    let Some(env) = test_env("a_broken_rollout_times_out_is_cleaned_up_and_explained") else {
        return;
    };
    env.forget_release("nbgrader-hub");
    let repo = legacy_repo(&env, |root| {
        // the node simulator never makes pods of a "never-ready" image ready
        set_value(
            &root.join("secrets/nbgrader-hub.yaml"),
            &["jupyterhub", "hub", "image", "tag"],
            "never-ready",
        );
    });
    // the image was never pushed: the registry says so, and helm does not run
    let mut c = deploy_cmd(&env, &repo.root, &repo.bin, &repo.docker_config);
    c.args(["nbgrader-hub", "--deploy", "--timeout", "15s"]);
    let out = c.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is in no registry")
            && stderr.contains("`deploy nbgrader-hub --build --push`"),
        "{stderr}"
    );
    assert!(!stderr.contains("helm upgrade"), "{stderr}");
    assert!(env.release("nbgrader-hub").is_none());

    let mut c = deploy_cmd(&env, &repo.root, &repo.bin, &repo.docker_config);
    c.args([
        "nbgrader-hub",
        "--build",
        "--push",
        "--deploy",
        "--timeout",
        "15s",
    ]);
    let t = Instant::now();
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(t.elapsed() >= Duration::from_secs(15));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("deploy (helm upgrade) failed"), "{stderr}");
    assert!(stderr.contains("context deadline exceeded"), "{stderr}");
    assert!(
        stderr.contains("helm waited 15s for the release's pods to become ready and gave up"),
        "{stderr}"
    );
    let rel = env
        .release("nbgrader-hub")
        .expect("helm records the failed install");
    assert_eq!(rel["info"]["status"], "failed");
    // the lease was released
    let lease = env.tool(
        "kubectl",
        &["-n", "nbgrader-hub", "get", "lease", "deploy-nbgrader-hub"],
    );
    assert!(!lease.status.success());
    env.forget_release("nbgrader-hub");
}

/// One cluster (`one`) with one hub (`hub-<suffix>`, image 3.3.7), and a folder for the tools'
/// state: what the revision and recovery tests start from.
struct OneHub {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    hub: String,
    bin: tempfile::TempDir,
}

impl OneHub {
    fn new(env: &TestEnv, suffix: &str) -> OneHub {
        let (_tmp, root) = multi_repo(env, suffix, &[("one", &[("hub", "3.3.7")])]);
        OneHub {
            _tmp,
            root,
            hub: format!("hub-{suffix}"),
            bin: tempfile::tempdir().unwrap(),
        }
    }

    /// `deploy upgrade-hub one <hub> --timeout <timeout>`, then `extra`.
    fn upgrade(&self, env: &TestEnv, timeout: &str, extra: &[&str]) -> Command {
        let mut c = deploy_cmd(env, &self.root, self.bin.path(), self.bin.path());
        c.args(["upgrade-hub", "one", &self.hub, "--timeout", timeout])
            .args(extra);
        c
    }

    /// The hub's values file.
    fn values(&self) -> PathBuf {
        self.root
            .join(format!("config/clusters/one/{}.values.yaml", self.hub))
    }
}

/// A multi-cluster repo of two "clusters" on the one test API server (their hub namespaces
/// differ), with the example's basehub chart and kubeconfig credentials.
fn multi_repo(
    env: &TestEnv,
    suffix: &str,
    clusters: &[(&str, &[(&str, &str)])],
) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    copy_tree(
        &manifest_dir().join("examples/multi-cluster/helm-charts"),
        &root.join("helm-charts"),
    );
    let kubeconfig = std::fs::read_to_string(env.kubeconfig()).unwrap();
    for (name, hubs) in clusters {
        let dir = root.join("config/clusters").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("deployer-credentials.secret.yaml"), &kubeconfig).unwrap();
        let mut y = format!(
            "name: {name}\nprovider: kubeconfig\nkubeconfig: {{file: deployer-credentials.secret.yaml}}\nhubs:\n"
        );
        for (hub, tag) in *hubs {
            let hub = format!("{hub}-{suffix}");
            y.push_str(&format!("- name: {hub}\n  helm_chart: basehub\n  helm_chart_values_files: [{hub}.values.yaml]\n"));
            std::fs::write(
                dir.join(format!("{hub}.values.yaml")),
                format!("jupyterhub:\n  proxy:\n    secretToken: FAKE-e2e-token-{hub}\n  hub:\n    image:\n      tag: \"{tag}\"\n"),
            )
            .unwrap();
        }
        std::fs::write(dir.join("cluster.yaml"), y).unwrap();
    }
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "e2e"]);
    (tmp, root)
}

#[test]
fn a_staging_failure_on_one_cluster_skips_only_its_prod_hubs() {
    let Some(env) = test_env("a_staging_failure_on_one_cluster_skips_only_its_prod_hubs") else {
        return;
    };
    let s = unique();
    let (_tmp, root) = multi_repo(
        &env,
        &s,
        &[
            ("one", &[("staging", "never-ready"), ("prod-a", "3.3.7")]),
            ("two", &[("staging", "3.3.7"), ("prod-b", "3.3.7")]),
        ],
    );
    let bin = tempfile::tempdir().unwrap();
    let mut c = deploy_cmd(&env, &root, bin.path(), bin.path());
    c.args([
        "run",
        "--label",
        "deployer:deploy-hubs",
        "--timeout",
        "15s",
        "--report",
        "report.json",
    ]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("report.json")).unwrap()).unwrap();
    let status = |r: &str| {
        report["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["release"] == r)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status(&format!("staging-{s}")), "failed");
    assert_eq!(status(&format!("prod-a-{s}")), "skipped");
    assert_eq!(status(&format!("prod-b-{s}")), "succeeded");
    assert!(
        env.release(&format!("prod-a-{s}")).is_none(),
        "cluster one's prod hub untouched"
    );
    assert_eq!(
        env.release(&format!("prod-b-{s}")).unwrap()["info"]["status"],
        "deployed"
    );
    for hub in [format!("staging-{s}"), format!("prod-b-{s}")] {
        env.forget_release(&hub);
    }
}

#[test]
fn interrupted_and_killed_upgrades_are_recovered_by_the_next_run() {
    let Some(env) = test_env("interrupted_and_killed_upgrades_are_recovered_by_the_next_run")
    else {
        return;
    };
    let one = OneHub::new(&env, &unique());
    let hub = one.hub.clone();
    run_ok(one.upgrade(&env, "60s", &[]));
    // an upgrade that can never become ready, interrupted while helm waits
    let values = one.values();
    std::fs::write(
        &values,
        std::fs::read_to_string(&values)
            .unwrap()
            .replace("3.3.7", "never-ready"),
    )
    .unwrap();
    let mut c = one.upgrade(&env, "120s", &[]);
    c.stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    wait_for_status(&env, &hub, "pending-upgrade");
    std::thread::sleep(Duration::from_millis(500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    // helm 3 handles SIGTERM itself: it stops waiting and records the upgrade as failed
    assert_eq!(env.release(&hub).unwrap()["info"]["status"], "failed");
    let lease = env.tool(
        "kubectl",
        &["-n", &hub, "get", "lease", &format!("deploy-{hub}")],
    );
    assert!(
        !lease.status.success(),
        "the interrupted run released its lease"
    );

    // a helm that dies without a word (a killed machine) leaves the release pending-upgrade
    let mut c = one.upgrade(&env, "120s", &[]);
    c.stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    wait_for_status(&env, &hub, "pending-upgrade");
    let helm_pid = text(
        &Command::new("pgrep")
            .args(["-f", &format!("helm upgrade --install --namespace {hub} ")])
            .output()
            .unwrap()
            .stdout,
    );
    let helm_pid = helm_pid
        .lines()
        .next()
        .expect("the helm upgrade process")
        .trim()
        .to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &helm_pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        env.release(&hub).unwrap()["info"]["status"],
        "pending-upgrade"
    );

    // fixed values; the next run finds the release stuck, rolls it back, and deploys
    std::fs::write(
        &values,
        std::fs::read_to_string(&values)
            .unwrap()
            .replace("never-ready", "3.3.8"),
    )
    .unwrap();
    let out = run_ok(one.upgrade(&env, "60s", &[]));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("release is stuck in pending-upgrade"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("helm rollback {hub}")), "{stderr}");
    let rel = env.release(&hub).unwrap();
    assert_eq!(rel["info"]["status"], "deployed", "{stderr}");
    let history = text(&env.tool("helm", &["history", &hub, "-n", &hub]).stdout);
    assert!(history.contains("Rollback to"), "{history}");
    env.forget_release(&hub);
}

/// A person's own `helm upgrade` (no lease) is in progress: deploy leaves it alone and fails
/// that release; once it is known dead, --force-recover rolls it back.
#[test]
fn a_persons_own_helm_upgrade_in_progress_is_never_rolled_back() {
    let Some(env) = test_env("a_persons_own_helm_upgrade_in_progress_is_never_rolled_back") else {
        return;
    };
    let one = OneHub::new(&env, &unique());
    let (hub, root) = (one.hub.clone(), one.root.clone());
    let upgrade_hub = |extra: &[&str]| one.upgrade(&env, "60s", extra);
    run_ok(upgrade_hub(&[]));
    // our marker is on the release Secret of the revision we made
    let labels = |rev: u32| env.helm_secrets(&hub, &format!(",version={rev}"), &["--show-labels"]);
    assert!(
        labels(1).contains("deploy-revision=1,deploy-timeout=60s"),
        "{}",
        labels(1)
    );

    // a person's upgrade that will wait (its pods never become ready)
    let values = one.values();
    let mut person = Command::new("helm")
        .args([
            "upgrade",
            "--install",
            &hub,
            "helm-charts/basehub",
            "-n",
            &hub,
            "-f",
        ])
        .arg(&values)
        .args([
            "--set",
            "jupyterhub.hub.image.tag=never-ready",
            "--wait",
            "--timeout",
            "90s",
        ])
        .current_dir(&root)
        .env("PATH", &env.path)
        .env("KUBECONFIG", env.kubeconfig())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_status(&env, &hub, "pending-upgrade");
    // helm copied our labels onto the person's revision: they name revision 1, not 2
    assert!(labels(2).contains("deploy-revision=1"), "{}", labels(2));

    let out = upgrade_hub(&[]).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pending-upgrade revision 2 (")
            && stderr.contains("not made by deploy")
            && stderr.contains("description \"Preparing upgrade\"")
            && stderr.contains("someone may still be upgrading it, so it is left alone")
            && stderr.contains("--force-recover"),
        "{stderr}"
    );
    assert!(!stderr.contains("helm rollback"), "{stderr}");
    assert!(
        person.try_wait().unwrap().is_none(),
        "the person's helm is still at work"
    );
    assert_eq!(
        env.release(&hub).unwrap()["info"]["status"],
        "pending-upgrade"
    );

    // the person's helm dies (a closed laptop): still recent, still left alone; the operator
    // who knows it is dead forces the recovery
    person.kill().unwrap();
    person.wait().unwrap();
    assert_eq!(upgrade_hub(&[]).output().unwrap().status.code(), Some(1));
    let out = run_ok(upgrade_hub(&["--force-recover"]));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("recovering it (--force-recover)")
            && stderr.contains(&format!("helm rollback {hub} 1")),
        "{stderr}"
    );
    let rel = env.release(&hub).unwrap();
    assert_eq!(rel["info"]["status"], "deployed");
    assert_eq!(rel["version"], 4, "2 pending, 3 the rollback, 4 ours");
    assert!(labels(4).contains("deploy-revision=4"), "{}", labels(4));
    env.forget_release(&hub);
}

fn wait_for_status(env: &TestEnv, hub: &str, want: &str) {
    let t0 = Instant::now();
    loop {
        let st = env
            .release(hub)
            .map(|r| r["info"]["status"].as_str().unwrap_or("").to_string());
        if st.as_deref() == Some(want) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "never reached {want}: {st:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn planted_secrets_never_show_in_output_or_in_process_arguments() {
    let Some(env) = test_env("planted_secrets_never_show_in_output_or_in_process_arguments") else {
        return;
    };
    env.forget_release("staginghub");
    let repo = legacy_repo(&env, |_| {});
    let password = env.registry_password();
    let token = "FAKE-planted-proxy-token-6cc1d4e2";
    set_value(
        &repo.root.join("secrets/staginghub.yaml"),
        &["jupyterhub", "proxy", "secretToken"],
        token,
    );
    git(&repo.root, &["commit", "-qam", "plant"]);
    let mut c = deploy_cmd(&env, &repo.root, &repo.bin, &repo.docker_config);
    c.args(["staginghub", "--build", "--push", "--deploy", "-v"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // watch every process's argv while the deploy runs (the output pipes are drained after: the
    // run prints far less than a pipe holds)
    let mut argv_seen = String::new();
    while child.try_wait().unwrap().is_none() {
        argv_seen.push_str(&text(
            &Command::new("ps")
                .args(["-eo", "args"])
                .output()
                .unwrap()
                .stdout,
        ));
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for secret in [password.as_str(), token] {
        assert!(!all.contains(secret), "secret in output");
        assert!(!argv_seen.contains(secret), "secret in some process's argv");
    }
    assert!(
        argv_seen.contains("helm upgrade --install"),
        "the sampling saw the run"
    );
    env.forget_release("staginghub");
}

/// `--live` on a real cluster: three hubs installed, then a base-chart change planned for all
/// three that only one of them renders differently. Exactly one upgrade runs.
#[test]
fn live_check_upgrades_only_the_hub_whose_render_changed() {
    let Some(env) = test_env("live_check_upgrades_only_the_hub_whose_render_changed") else {
        return;
    };
    let s = unique();
    let (_tmp, root) = multi_repo(
        &env,
        &s,
        &[(
            "one",
            &[
                ("staging", "3.3.7"),
                ("prod-a", "3.3.7"),
                ("prod-b", "3.3.7"),
            ],
        )],
    );
    // two hubs set the org name themselves; prod-a takes the chart's default
    for hub in ["staging", "prod-b"] {
        set_value(
            &root.join(format!("config/clusters/one/{hub}-{s}.values.yaml")),
            &[
                "jupyterhub",
                "custom",
                "homepage",
                "templateVars",
                "org",
                "name",
            ],
            "Own name",
        );
    }
    // a hook too: `helm get manifest` leaves hooks out, so they are compared through
    // `helm get hooks` (if they were not, every hub would look changed)
    std::fs::write(
        root.join("helm-charts/basehub/templates/post-upgrade-hook.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deployed-marker\n  annotations:\n    \"helm.sh/hook\": post-install,post-upgrade\n    \"helm.sh/hook-delete-policy\": before-hook-creation\ndata:\n  release: {{ .Release.Name | quote }}\n",
    )
    .unwrap();
    // and a secret generated once and kept with `lookup`, as the JupyterHub chart keeps its
    // proxy token: `helm template` renders a new one each time, so only a render against the
    // cluster (`helm upgrade --dry-run=server`) can tell that nothing changed
    std::fs::write(
        root.join("helm-charts/basehub/templates/generated-secret.yaml"),
        "{{- $old := lookup \"v1\" \"Secret\" .Release.Namespace \"generated\" | default (dict \"data\" (dict)) }}\napiVersion: v1\nkind: Secret\nmetadata:\n  name: generated\ndata:\n  token: {{ get $old.data \"token\" | default (randAlphaNum 32 | b64enc) | quote }}\n",
    )
    .unwrap();
    git(&root, &["add", "-A"]);
    git(
        &root,
        &["commit", "-qm", "own names, a hook, a generated secret"],
    );
    let bin = tempfile::tempdir().unwrap();
    let deploy = || deploy_cmd(&env, &root, bin.path(), bin.path());
    let hubs = [
        format!("staging-{s}"),
        format!("prod-a-{s}"),
        format!("prod-b-{s}"),
    ];
    let revision = |hub: &str| env.release(hub).unwrap()["version"].as_u64().unwrap();

    // install all three (a first install is never dropped: nothing to compare with)
    let mut c = deploy();
    c.args([
        "run",
        "--live",
        "--label",
        "deployer:deploy-hubs",
        "--timeout",
        "60s",
    ]);
    let out = run_ok(c);
    assert!(
        text(&out.stderr).contains("not installed yet"),
        "{}",
        text(&out.stderr)
    );
    for h in &hubs {
        assert_eq!(revision(h), 1, "{h}");
    }

    // the same again: nothing changed, so nothing is upgraded
    let mut c = deploy();
    c.args([
        "run",
        "--live",
        "--label",
        "deployer:deploy-hubs",
        "--report",
        "same.json",
    ]);
    run_ok(c);
    for h in &hubs {
        assert_eq!(revision(h), 1, "{h} was upgraded although nothing changed");
    }

    // the base chart's default org name changes
    let values = root.join("helm-charts/basehub/values.yaml");
    let text_before = std::fs::read_to_string(&values).unwrap();
    std::fs::write(
        &values,
        text_before.replace(
            "name: Example community",
            "name: Example community, renamed",
        ),
    )
    .unwrap();
    git(&root, &["commit", "-qam", "rename the default org"]);

    // plan --live: all three planned by the file rules, two dropped
    let mut c = deploy();
    c.args([
        "plan", "--live", "-v", "--format", "json", "--base", "HEAD~1",
    ]);
    let out = run_ok(c);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |key: &str| -> Vec<String> {
        plan[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["hub_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("prod-jobs"), vec![hubs[1].clone()], "{plan}");
    assert!(names("staging-jobs").is_empty(), "{plan}");
    let mut dropped = names("dropped-jobs");
    dropped.sort();
    assert_eq!(dropped, vec![hubs[2].clone(), hubs[0].clone()], "{plan}");
    assert!(
        plan["prod-jobs"][0]["live"]
            .as_str()
            .unwrap()
            .contains("ConfigMap/hub"),
        "{plan}"
    );
    // -v logs queries' output, but never a rendered manifest or the release's values
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains("FAKE-e2e-token"),
        "a secret value was printed:\n{all}"
    );

    // run --live: exactly one upgrade
    let mut c = deploy();
    c.args([
        "run",
        "--live",
        "--base",
        "HEAD~1",
        "--timeout",
        "60s",
        "--report",
        "report.json",
    ]);
    let out = run_ok(c);
    let stderr = text(&out.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("report.json")).unwrap()).unwrap();
    let releases = report["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 3, "{report:#}");
    let upgrades: Vec<&str> = releases
        .iter()
        .filter(|r| {
            r["commands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .any(|c| c.starts_with("helm upgrade") && !c.contains("--dry-run"))
        })
        .map(|r| r["release"].as_str().unwrap())
        .collect();
    assert_eq!(upgrades, vec![hubs[1].as_str()], "{report:#}");
    for r in releases {
        let (want, msg) = if r["release"] == hubs[1].as_str() {
            ("succeeded", "")
        } else {
            (
                "unchanged",
                "no change (rendered manifests equal live release)",
            )
        };
        assert_eq!(r["status"], want, "{r:#}");
        assert_eq!(r["message"], msg, "{r:#}");
    }
    assert_eq!(report["status"], "succeeded");
    assert!(
        stderr.contains(&format!("unchanged one/{}", hubs[0])),
        "{stderr}"
    );
    assert_eq!(revision(&hubs[0]), 1);
    assert_eq!(revision(&hubs[1]), 2);
    assert_eq!(revision(&hubs[2]), 1);
    // the generated secret made renders differ each time: every check rendered against the
    // cluster, and the kept hub says so
    let kept = releases
        .iter()
        .find(|r| r["release"] == hubs[1].as_str())
        .unwrap();
    assert!(
        kept["live"]
            .as_str()
            .unwrap()
            .contains("renders differently each time"),
        "{kept:#}"
    );
    for h in &hubs {
        env.forget_release(h);
    }
}
