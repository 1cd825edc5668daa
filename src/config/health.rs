//! `health_check:` in deploy.yaml and in a hub's cluster.yaml entry: how `deploy run` checks that
//! a hub answers after its upgrade (a staging hub that does not blocks its cluster's prod hubs).

use serde::{Deserialize, Serialize};

use super::duration::GoDuration;

/// How the hub is reached.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// `https://<domain><path>` with curl: DNS, ingress and certificate included.
    #[default]
    Https,
    /// The Kubernetes API server's service proxy to the hub's proxy Service: no DNS or ingress.
    ApiProxy,
}

/// `health_check:` in deploy.yaml: the repo's defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// Check hubs after their upgrade (`--no-health-check` turns it off for one run).
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub via: Via,
    /// The path asked (JupyterHub's health endpoint).
    #[serde(default = "default_path")]
    pub path: String,
    /// How long to keep asking before the hub counts as unhealthy.
    #[serde(default = "default_timeout")]
    pub timeout: GoDuration,
    /// How long to wait between two tries.
    #[serde(default = "default_interval")]
    pub interval: GoDuration,
    /// `HOST:PORT` to connect to instead of what the hub's domain resolves to (curl's
    /// `--connect-to`): a hub whose DNS is not set up yet, an ingress reached by its address.
    pub connect_to: Option<String>,
    /// A CA bundle to check the hub's certificate with (a private CA), repo-relative.
    pub ca_file: Option<String>,
    /// With `via: api-proxy`: the hub's proxy Service (port `http`).
    #[serde(default = "default_service")]
    pub service: String,
    /// Run after the hub answers (`sh -c`, in the repo, with DEPLOY_HUB_URL, DEPLOY_HUB,
    /// DEPLOY_CLUSTER and the cluster's KUBECONFIG): a test that spawns a server, runs a
    /// notebook… Its failure fails the check.
    pub command: Option<String>,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            enabled: true,
            via: Via::Https,
            path: default_path(),
            timeout: default_timeout(),
            interval: default_interval(),
            connect_to: None,
            ca_file: None,
            service: default_service(),
            command: None,
        }
    }
}

/// `health_check:` in a hub's entry: what differs for that hub.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubHealth {
    pub enabled: Option<bool>,
    pub via: Option<Via>,
    pub path: Option<String>,
    pub command: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_path() -> String {
    "/hub/health".into()
}

fn default_timeout() -> GoDuration {
    "5m".parse().unwrap_or_default()
}

fn default_interval() -> GoDuration {
    "5s".parse().unwrap_or_default()
}

fn default_service() -> String {
    "proxy-public".into()
}
