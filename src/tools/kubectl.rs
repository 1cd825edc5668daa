//! kubectl: deployments and their rollout.

use crate::cmd::{Cmd, Effect};

/// Prints `deployment.apps/<name>` per line.
pub fn get_deployments(namespace: &str) -> Cmd {
    Cmd::new("kubectl")
        .args(["-n", namespace, "get", "deployments", "-o", "name"])
        .effect(Effect::RemoteQuery)
        .timeout(super::NETWORK_TIMEOUT)
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
}
