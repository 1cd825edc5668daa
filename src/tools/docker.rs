//! docker: login, registry queries, build, push.

use super::{network_timeout, transfer_timeout};
use crate::cmd::Cmd;

/// The password goes on stdin, never in argv (where `ps` and CI logs would show it).
pub fn login(username: &str, password: &str, registry: Option<&str>) -> Cmd {
    Cmd::new("docker")
        .args(["login", "-u", username, "--password-stdin"])
        .args(registry)
        .secret_stdin(password)
        .timeout(network_timeout())
}

/// Exit 0 when `image` (`repo:tag`) is in the registry; reads only the manifest.
pub fn manifest_inspect(image: &str) -> Cmd {
    Cmd::new("docker")
        .args(["manifest", "inspect", image])
        .remote_probe()
        .timeout(network_timeout())
}

pub fn pull(image: &str) -> Cmd {
    Cmd::new("docker")
        .args(["pull", image])
        .timeout(transfer_timeout())
}

pub fn build(image: &str, context: &str, cache_from: &[String]) -> Cmd {
    let mut c = Cmd::new("docker").args(["build", "-t", image]);
    for from in cache_from {
        c = c.args(["--cache-from", from.as_str()]);
    }
    c.arg(context).timeout(transfer_timeout())
}

pub fn push(image: &str) -> Cmd {
    Cmd::new("docker")
        .args(["push", image])
        .timeout(transfer_timeout())
}

/// `docker --version` (`Docker version 24.0.7, build afdd53b`): the client only, no daemon.
pub fn version() -> Cmd {
    super::version_probe(Cmd::new("docker").arg("--version"))
}
