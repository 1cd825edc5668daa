//! kubectl: deployments and their rollout.

use crate::cmd::{Cmd, Effect};

/// Prints `<kind>.apps/<name>` per line for each object of `kinds` (`deployments`,
/// `deployments,daemonsets`).
pub fn get_workloads(namespace: &str, kinds: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["-n", namespace, "get", kinds, "-o", "name"])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout())
}

/// `kubectl apply -f -` of a manifest given on stdin, described as `desc` in printed lines.
pub fn apply_doc(manifest: &str, desc: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["apply", "-f", "-"])
        .stdin_doc(manifest, desc)
        .timeout(super::network_timeout())
}

/// `kubectl apply -f URL` (cert-manager's CRDs, as 2i2c's deployer applies them).
pub fn apply_url(url: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["apply", "-f", url])
        .timeout(super::network_timeout())
}

/// The tigera operator's manifest, applied server-side as 2i2c's deployer does (ownership given
/// back to kubectl on conflicts).
pub fn apply_tigera_operator(version: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["apply", "--force-conflicts", "--server-side", "-f"])
        .arg(format!(
            "https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests/tigera-operator.yaml"
        ))
        .timeout(super::network_timeout())
}

/// The tigera operator's tolerations patched as 2i2c's deployer patches them (the patch as
/// Python's `json.dumps` writes it).
pub fn patch_tigera_operator() -> Cmd {
    Cmd::new("kubectl")
        .args([
            "--namespace",
            "tigera-operator",
            "patch",
            "deployment",
            "tigera-operator",
            "--patch",
            r#"{"spec": {"template": {"spec": {"tolerations": [{"effect": "NoExecute", "operator": "Exists"}]}}}}"#,
        ])
        .timeout(super::network_timeout())
}

/// `kubectl version -o json`: the server's version is `serverVersion.gitVersion`.
pub fn version() -> Cmd {
    Cmd::new("kubectl")
        .args(["version", "-o", "json"])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout())
}

/// `kubectl api-versions`: every group/version the server serves, one per line.
pub fn api_versions() -> Cmd {
    Cmd::new("kubectl")
        .arg("api-versions")
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout())
}

pub fn rollout_status(namespace: &str, deployment: &str, timeout: &str) -> Cmd {
    Cmd::new("kubectl")
        .args([
            "rollout",
            "status",
            "--namespace",
            namespace,
            "--watch",
            deployment,
        ])
        .args(["--timeout", timeout])
        // kubectl waits and reports; streaming its progress is what the user wants to see.
        .effect(Effect::Change)
        .timeout(super::waiting_watchdog(timeout, 1))
}

/// Create an object from JSON on stdin; fails with `AlreadyExists` if it is there. `desc` names
/// the object in printed command lines.
pub fn create_json(manifest: &str, desc: &str) -> Cmd {
    let mut c = Cmd::new("kubectl")
        .args(["create", "-o", "json", "-f", "-"])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout());
    c = c.stdin_doc(manifest, desc);
    c.probe = true;
    c
}

/// Replace an object from JSON on stdin; with `metadata.resourceVersion` set, fails with
/// `Conflict` when someone else changed it first (optimistic concurrency).
pub fn replace_json(manifest: &str, desc: &str) -> Cmd {
    let mut c = Cmd::new("kubectl")
        .args(["replace", "-o", "json", "-f", "-"])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout());
    c = c.stdin_doc(manifest, desc);
    c.probe = true;
    c
}

pub fn get_lease(namespace: &str, name: &str) -> Cmd {
    let mut c = Cmd::new("kubectl")
        .args(["-n", namespace, "get", "lease", name, "-o", "json"])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout());
    c.probe = true;
    c
}

pub fn delete_lease(namespace: &str, name: &str) -> Cmd {
    let mut c = Cmd::new("kubectl")
        .args([
            "-n",
            namespace,
            "delete",
            "lease",
            name,
            "--ignore-not-found",
        ])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout());
    c.cleanup = true;
    c
}

/// Create a namespace; exits non-zero with `AlreadyExists` when it is there.
pub fn create_namespace(namespace: &str) -> Cmd {
    let mut c = Cmd::new("kubectl")
        .args(["create", "namespace", namespace])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout());
    c.probe = true;
    c
}

/// The labels of every release Secret helm keeps for `release` (helm's default storage), one
/// JSON map per revision: helm's own `name`, `owner`, `status` and `version`, and the labels an
/// upgrade gave it (our marker). helm's secrets driver lists the same Secrets by the same
/// selector to answer `helm status`. Only the labels are asked for: the Secrets' data hold the
/// releases, values and their secrets included. Nothing is printed when there is none.
pub fn helm_release_records(namespace: &str, release: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["-n", namespace, "get", "secret", "-l"])
        .arg(format!("owner=helm,name={release}"))
        .args(["-o", "jsonpath={.items[*].metadata.labels}"])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout())
}

/// `kubectl version --client -o json`: this kubectl's own version (`clientVersion.gitVersion`),
/// without asking any server.
pub fn client_version() -> Cmd {
    super::version_probe(Cmd::new("kubectl").args(["version", "--client", "-o", "json"]))
}

/// `GET` through the API server's service proxy to port `http` of `service` (a hub's health
/// without DNS or ingress). Prints the body; a non-zero exit (an error status, no endpoint) is
/// an answer too.
pub fn service_proxy_get(namespace: &str, service: &str, path: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["get", "--raw"])
        .arg(format!(
            "/api/v1/namespaces/{namespace}/services/{service}:http/proxy{path}"
        ))
        .remote_probe()
        .timeout(super::curl::TRY_TIMEOUT)
}
