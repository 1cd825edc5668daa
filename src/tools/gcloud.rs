//! gcloud: GKE credentials.

use super::network_timeout;
use crate::cmd::Cmd;

pub fn activate_service_account(key_file: &str) -> Cmd {
    Cmd::new("gcloud")
        .args([
            "auth",
            "activate-service-account",
            &format!("--key-file={key_file}"),
        ])
        .timeout(network_timeout())
}

pub fn get_credentials(cluster: &str, zone: &str, project: &str) -> Cmd {
    Cmd::new("gcloud")
        .args(["container", "clusters", "get-credentials", cluster])
        .arg(format!("--zone={zone}"))
        .arg(format!("--project={project}"))
        .timeout(network_timeout())
}

/// Credentials for a cluster given by zone (`us-central1-b`) or region (`us-central1`).
pub fn get_credentials_at(cluster: &str, location: &str, project: &str) -> Cmd {
    let is_zone = location
        .rsplit_once('-')
        .is_some_and(|(_, last)| last.len() == 1 && last.chars().all(|c| c.is_ascii_lowercase()));
    let flag = if is_zone { "--zone" } else { "--region" };
    Cmd::new("gcloud")
        .args(["container", "clusters", "get-credentials", cluster])
        .arg(format!("{flag}={location}"))
        .arg(format!("--project={project}"))
        .timeout(network_timeout())
}

/// `gcloud version` (`Google Cloud SDK 460.0.0`, then its components), without the update check.
pub fn version() -> Cmd {
    super::version_probe(
        Cmd::new("gcloud")
            .arg("version")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true"),
    )
}
