//! Cluster credentials for the cloud providers of cluster.yaml, into a given kubeconfig file.
//! gcloud lives in `gcloud.rs` (the legacy flow uses it too).

use super::network_timeout;
use crate::cmd::{Arg, Cmd};

/// `aws eks update-kubeconfig`; credentials come from the environment the caller sets.
pub fn aws_update_kubeconfig(cluster: &str, region: &str, kubeconfig: &Arg) -> Cmd {
    Cmd::new("aws")
        .args([
            "eks",
            "update-kubeconfig",
            "--name",
            cluster,
            "--region",
            region,
        ])
        .arg("--kubeconfig")
        .arg(kubeconfig.clone())
        .timeout(network_timeout())
}

/// `az login` as a service principal; the secret is read by az from `secret_file` (`@file`
/// argument syntax), so it never appears in argv.
pub fn az_login(app_id: &str, tenant: &str, secret_file: &str) -> Cmd {
    Cmd::new("az")
        .args([
            "login",
            "--service-principal",
            "--username",
            app_id,
            "--tenant",
            tenant,
        ])
        .args(["--password".to_string(), format!("@{secret_file}")])
        .args(["--output", "none"])
        .timeout(network_timeout())
}

pub fn az_aks_get_credentials(resource_group: &str, cluster: &str, kubeconfig: &Arg) -> Cmd {
    Cmd::new("az")
        .args([
            "aks",
            "get-credentials",
            "--resource-group",
            resource_group,
            "--name",
            cluster,
        ])
        .arg("--file")
        .arg(kubeconfig.clone())
        .arg("--overwrite-existing")
        .timeout(network_timeout())
}

/// `aws --version` (`aws-cli/2.15.0 Python/3.11.6 …`).
pub fn aws_version() -> Cmd {
    super::version_probe(Cmd::new("aws").arg("--version"))
}

/// `az version --output json` (`{"azure-cli": "2.57.0", …}`): local, unlike `az --version`,
/// which asks PyPI for updates; without telemetry.
pub fn az_version() -> Cmd {
    super::version_probe(
        Cmd::new("az")
            .args(["version", "--output", "json"])
            .env("AZURE_CORE_COLLECT_TELEMETRY", "false"),
    )
}
