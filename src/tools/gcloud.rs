//! gcloud: GKE credentials.

use super::NETWORK_TIMEOUT;
use crate::cmd::Cmd;

pub fn activate_service_account(key_file: &str) -> Cmd {
    Cmd::new("gcloud")
        .args([
            "auth",
            "activate-service-account",
            &format!("--key-file={key_file}"),
        ])
        .timeout(NETWORK_TIMEOUT)
}

pub fn get_credentials(cluster: &str, zone: &str, project: &str) -> Cmd {
    Cmd::new("gcloud")
        .args(["container", "clusters", "get-credentials", cluster])
        .arg(format!("--zone={zone}"))
        .arg(format!("--project={project}"))
        .timeout(NETWORK_TIMEOUT)
}
