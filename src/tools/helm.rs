//! helm 3: dependency update, upgrade --install, template, and the release queries.

use super::{network_timeout, waiting_watchdog};
use crate::cmd::{Arg, Cmd, Effect};

/// helm waits up to `--timeout` for pre-upgrade hooks, the resources, then post-upgrade hooks.
const HELM_WAITS: u32 = 3;

/// Downloads the chart's dependencies.
pub fn dependency_update(chart_dir: impl Into<Arg>) -> Cmd {
    Cmd::new("helm")
        .args(["dependency", "update"])
        .arg(chart_dir)
        .timeout(network_timeout())
}

/// Everything `helm upgrade --install` needs; callers decide the values.
#[derive(Clone, Debug, Default)]
pub struct Upgrade<'a> {
    pub release: &'a str,
    /// The chart folder (a `chart_override`'s temp copy is shown by its description).
    pub chart: Arg,
    pub namespace: &'a str,
    pub timeout: &'a str,
    /// The files helm reads, in order (decrypted and rendered copies shown by description).
    pub values: Vec<Arg>,
    pub set_string: Vec<(String, String)>,
    /// Helm 3's `--force` deletes and recreates changed resources: only on request.
    pub force: bool,
    /// `--labels k=v,…` (helm >= 3.13): stored on the revision's release Secret, already while
    /// it is pending. Only [`upgrade`] passes them.
    pub labels: Vec<(String, String)>,
}

/// `-f` for each values file in order, then the `--set-string`s, as helm layers them.
fn with_values(mut c: Cmd, u: &Upgrade<'_>) -> Cmd {
    for v in &u.values {
        c = c.arg("-f").arg(v.clone());
    }
    for (k, v) in &u.set_string {
        c = c.args(["--set-string".to_string(), format!("{k}={v}")]);
    }
    c
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
        .arg(u.release)
        .arg(u.chart.clone())
        .args(["--wait", "--timeout", u.timeout, "--cleanup-on-fail"]);
    c = with_values(c, u);
    if u.force {
        c = c.arg("--force");
    }
    if !u.labels.is_empty() {
        let kv: Vec<String> = u.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        c = c.args(["--labels".to_string(), kv.join(",")]);
    }
    c.effect(Effect::Change)
        .timeout(waiting_watchdog(u.timeout, HELM_WAITS))
}

/// What the cluster offers a chart's templates (`.Capabilities`), read from the cluster so a
/// render matches what `helm upgrade` renders there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capabilities {
    pub kube_version: String,
    pub api_versions: Vec<String>,
}

/// `helm template` with exactly the chart, namespace and values an [`upgrade`] would use, so a
/// render proves what the upgrade would apply. Its output holds the values' secrets.
pub fn template(u: &Upgrade<'_>) -> Cmd {
    template_for(u, None, false)
}

/// [`template`] as an upgrade of an installed release on a cluster with `caps` would render:
/// `--is-upgrade` sets `.Release.IsUpgrade`, the capabilities replace helm's built-in defaults.
pub fn template_for(u: &Upgrade<'_>, caps: Option<&Capabilities>, is_upgrade: bool) -> Cmd {
    let mut c = Cmd::new("helm")
        .args(["template", u.release])
        .arg(u.chart.clone())
        .args(["--namespace", u.namespace]);
    c = with_values(c, u);
    if is_upgrade {
        c = c.arg("--is-upgrade");
    }
    if let Some(caps) = caps {
        if !caps.kube_version.is_empty() {
            c = c.args(["--kube-version", caps.kube_version.as_str()]);
        }
        if !caps.api_versions.is_empty() {
            c = c.args(["--api-versions".to_string(), caps.api_versions.join(",")]);
        }
    }
    c.effect(Effect::LocalQuery).private_output()
}

/// `helm upgrade --install --dry-run=server -o json`: the release the [`upgrade`] would make,
/// rendered against the cluster (`lookup` works), stored nowhere. Its output holds the values'
/// secrets.
pub fn upgrade_dry_run(u: &Upgrade<'_>) -> Cmd {
    let c = Cmd::new("helm").args(["upgrade", "--install", "--namespace", u.namespace]);
    with_values(c.arg(u.release).arg(u.chart.clone()), u)
        .args(["--dry-run=server", "-o", "json"])
        .effect(Effect::RemoteQuery)
        .timeout(network_timeout())
        .private_output()
}

/// `helm get metadata -o json`: status, chart, version, appVersion, revision; exits non-zero
/// when the release does not exist.
pub fn get_metadata(release: &str, namespace: &str) -> Cmd {
    let mut c = Cmd::new("helm")
        .args([
            "get",
            "metadata",
            release,
            "--namespace",
            namespace,
            "-o",
            "json",
        ])
        .effect(Effect::RemoteQuery)
        .timeout(network_timeout());
    c.probe = true;
    c
}

/// `helm get manifest|hooks` (the release's objects) or `helm get values -o json` (the
/// user-supplied values): all of them may hold secrets.
pub fn get(what: GetWhat, release: &str, namespace: &str) -> Cmd {
    let c = Cmd::new("helm").args(["get", what.as_str(), release, "--namespace", namespace]);
    let c = if what == GetWhat::Values {
        c.args(["-o", "json"])
    } else {
        c
    };
    c.effect(Effect::RemoteQuery)
        .timeout(network_timeout())
        .private_output()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetWhat {
    Manifest,
    Hooks,
    Values,
}

impl GetWhat {
    fn as_str(self) -> &'static str {
        match self {
            GetWhat::Manifest => "manifest",
            GetWhat::Hooks => "hooks",
            GetWhat::Values => "values",
        }
    }
}

/// `helm status -o json`: exits non-zero when the release does not exist.
pub fn status(release: &str, namespace: &str) -> Cmd {
    // its JSON holds the release's values (`config`) and rendered Secrets (`manifest`): never
    // logged, even with --verbose
    let mut c = Cmd::new("helm")
        .args(["status", release, "--namespace", namespace, "-o", "json"])
        .effect(Effect::RemoteQuery)
        .timeout(network_timeout())
        .private_output();
    c.probe = true;
    c
}

/// `helm history -o json`: every revision with its status.
/// `helm list` of every release (any status) in every namespace that has the label `label`.
pub fn list_labelled(label: &str) -> Cmd {
    Cmd::new("helm")
        .args(["list", "--all-namespaces", "--all", "--selector", label])
        .args(["-o", "json"])
        .effect(Effect::RemoteQuery)
        .timeout(network_timeout())
}

pub fn history(release: &str, namespace: &str) -> Cmd {
    Cmd::new("helm")
        .args(["history", release, "--namespace", namespace, "-o", "json"])
        .effect(Effect::RemoteQuery)
        .timeout(network_timeout())
}

/// Roll back to `revision` (the previous one when `None`).
pub fn rollback(release: &str, namespace: &str, revision: Option<u64>, timeout: &str) -> Cmd {
    Cmd::new("helm")
        .args(["rollback", release])
        .args(revision.map(|r| r.to_string()))
        .args(["--namespace", namespace, "--wait", "--timeout", timeout])
        .timeout(waiting_watchdog(timeout, HELM_WAITS))
}

/// cert-manager's chart from its repository, at `version`, as 2i2c's deployer installs it.
pub fn cert_manager(version: &str) -> Cmd {
    Cmd::new("helm")
        .args([
            "upgrade",
            "cert-manager",
            "cert-manager",
            "--repo=https://charts.jetstack.io",
            "--install",
            "--create-namespace",
            "--namespace=cert-manager",
        ])
        .arg(format!("--version={version}"))
        .timeout(network_timeout())
}

/// Remove a release that never installed (stuck in pending-install).
pub fn uninstall(release: &str, namespace: &str, timeout: &str) -> Cmd {
    Cmd::new("helm")
        .args([
            "uninstall",
            release,
            "--namespace",
            namespace,
            "--wait",
            "--timeout",
            timeout,
        ])
        .timeout(waiting_watchdog(timeout, HELM_WAITS))
}

/// `helm version --short` (`v3.19.0+g3d8990f`): local, for `deploy doctor`.
pub fn version() -> Cmd {
    super::version_probe(Cmd::new("helm").args(["version", "--short"]))
}
