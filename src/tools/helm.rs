//! helm 3: dependency update and upgrade --install.

use crate::cmd::{Cmd, Effect};

pub fn dependency_update(chart_dir: &str) -> Cmd {
    Cmd::new("helm").args(["dependency", "update", chart_dir])
}

/// Everything `helm upgrade --install` needs; callers decide the values.
#[derive(Clone, Debug, Default)]
pub struct Upgrade<'a> {
    pub release: &'a str,
    pub chart: &'a str,
    pub namespace: &'a str,
    pub timeout: &'a str,
    pub values: Vec<String>,
    pub set_string: Vec<(String, String)>,
    /// Helm 3's `--force` deletes and recreates changed resources: only on request.
    pub force: bool,
}

pub fn upgrade(u: &Upgrade<'_>) -> Cmd {
    let mut c = Cmd::new("helm")
        .args([
            "upgrade",
            "--install",
            "--namespace",
            u.namespace,
            "--create-namespace",
        ])
        .args([
            u.release,
            u.chart,
            "--wait",
            "--timeout",
            u.timeout,
            "--cleanup-on-fail",
        ]);
    for v in &u.values {
        c = c.args(["-f", v.as_str()]);
    }
    for (k, v) in &u.set_string {
        c = c.args(["--set-string".to_string(), format!("{k}={v}")]);
    }
    if u.force {
        c = c.arg("--force");
    }
    c.effect(Effect::Change)
}

/// `helm template` with exactly the chart, namespace and values an [`upgrade`] would use, so a
/// render proves what the upgrade would apply.
pub fn template(u: &Upgrade<'_>) -> Cmd {
    let mut c = Cmd::new("helm").args(["template", u.release, u.chart, "--namespace", u.namespace]);
    for v in &u.values {
        c = c.args(["-f", v.as_str()]);
    }
    for (k, v) in &u.set_string {
        c = c.args(["--set-string".to_string(), format!("{k}={v}")]);
    }
    c.effect(Effect::LocalQuery)
}

/// `helm status -o json`: exits non-zero when the release does not exist.
pub fn status(release: &str, namespace: &str) -> Cmd {
    let mut c = Cmd::new("helm")
        .args(["status", release, "--namespace", namespace, "-o", "json"])
        .effect(Effect::RemoteQuery);
    c.probe = true;
    c
}

/// `helm history -o json`: every revision with its status.
pub fn history(release: &str, namespace: &str) -> Cmd {
    Cmd::new("helm")
        .args(["history", release, "--namespace", namespace, "-o", "json"])
        .effect(Effect::RemoteQuery)
}

/// Roll back to `revision` (the previous one when `None`).
pub fn rollback(release: &str, namespace: &str, revision: Option<u64>, timeout: &str) -> Cmd {
    Cmd::new("helm")
        .args(["rollback", release])
        .args(revision.map(|r| r.to_string()))
        .args(["--namespace", namespace, "--wait", "--timeout", timeout])
}

/// Remove a release that never installed (stuck in pending-install).
pub fn uninstall(release: &str, namespace: &str, timeout: &str) -> Cmd {
    Cmd::new("helm").args([
        "uninstall",
        release,
        "--namespace",
        namespace,
        "--wait",
        "--timeout",
        timeout,
    ])
}
