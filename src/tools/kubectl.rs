//! kubectl: deployments and their rollout.

use crate::cmd::{Cmd, Effect};

/// Prints `deployment.apps/<name>` per line.
pub fn get_deployments(namespace: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["-n", namespace, "get", "deployments", "-o", "name"])
        .effect(Effect::RemoteQuery)
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

/// The labels of helm's release Secret for one revision (helm's default storage), as a JSON map;
/// nothing when there is no such Secret. Only the labels are asked for: the Secret's data holds
/// the release, values and their secrets included.
pub fn helm_release_labels(namespace: &str, release: &str, revision: u64) -> Cmd {
    let mut c = Cmd::new("kubectl")
        .args(["-n", namespace, "get", "secret", "-l"])
        .arg(format!("owner=helm,name={release},version={revision}"))
        .args(["-o", "jsonpath={.items[*].metadata.labels}"])
        .effect(Effect::RemoteQuery)
        .timeout(super::network_timeout());
    c.probe = true;
    c
}
