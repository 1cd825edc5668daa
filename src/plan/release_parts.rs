//! The parts of a resolved release ([`super::release::ReleaseSpec`]) that are plain values.

use serde::Serialize;

/// What a values file is, which decides how it reaches helm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValuesKind {
    /// Passed as it is.
    Plain,
    /// sops-encrypted: decrypted into a private temp file first.
    Encrypted,
    /// jsonnet: rendered (with the release's external variables) into a temp JSON file first.
    Jsonnet,
}

/// One values file of a release. The path is repo-relative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValuesFile {
    pub path: String,
    pub kind: ValuesKind,
}

/// 2i2c's `chart_override`: a temp copy of the release's charts in which `file` replaces the
/// Chart.yaml of `replaces`; every step of the release (dependency updates, jsonnet renders,
/// the upgrade) then uses the copies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChartOverride {
    /// The replacement Chart.yaml (repo-relative).
    pub file: String,
    /// The chart folder whose Chart.yaml it replaces.
    pub replaces: String,
    /// The chart folders copied (each as its own folder name in the copy).
    pub copies: Vec<String>,
}

/// CRDs to apply before an upgrade, from a chart dependency `helm dependency update` vendored:
/// `<vendored_in>/charts/<chart>-<version>.tgz`, its `crds/` files in name order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Crds {
    pub chart: String,
    pub version: String,
    pub vendored_in: String,
}

/// What runs before a support release's upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "what", rename_all = "kebab-case")]
pub enum Extra {
    /// cert-manager's CRDs (`kubectl apply` of its release manifest) and its chart from its
    /// repository, at `version`.
    CertManager { version: String },
    /// The tigera operator's manifest (server-side apply) and the patch of its tolerations.
    TigeraOperator { version: String },
}

/// The workloads whose rollout is awaited after an upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wait {
    /// deploy.py's: every Deployment of the namespace.
    Deployments,
    /// 2i2c's deployer's: every Deployment and DaemonSet.
    DeploymentsAndDaemonSets,
}

/// How a hub is checked after its upgrade (`health_check:` of deploy.yaml and the hub's entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthSpec {
    pub cluster: String,
    pub hub: String,
    /// `https://<domain><path>` (empty without a domain: only `api-proxy` can check then).
    pub url: String,
    pub via: crate::config::health::Via,
    pub path: String,
    /// `via: https`: curl's `--connect-to` target and a CA bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// `via: api-proxy`: the Service asked through the API server.
    pub service: String,
    pub timeout_secs: u64,
    pub interval_secs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}
