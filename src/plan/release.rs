//! One Helm release to upgrade, as data: the same for the legacy flow and the multi-cluster run.

use crate::cmd::Cmd;
use crate::tools::helm;

/// One release to upgrade. Paths are repo-relative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseSpec {
    pub release: String,
    pub namespace: String,
    pub chart: String,
    pub values: Vec<String>,
    pub set_string: Vec<(String, String)>,
    pub timeout: String,
    pub force: bool,
    /// Recover a pending revision even when someone may still be working on it
    /// (`--force-recover`).
    pub force_recover: bool,
}

impl ReleaseSpec {
    pub fn upgrade_args<'a>(&'a self, values: Vec<String>) -> helm::Upgrade<'a> {
        helm::Upgrade {
            release: &self.release,
            chart: &self.chart,
            namespace: &self.namespace,
            timeout: &self.timeout,
            values,
            set_string: self.set_string.clone(),
            force: self.force,
            labels: Vec::new(),
        }
    }

    /// The upgrade command with the values files as given (for display and tests).
    pub fn upgrade_cmd(&self) -> Cmd {
        helm::upgrade(&self.upgrade_args(self.values.clone()))
    }

    pub fn template_cmd(&self) -> Cmd {
        helm::template(&self.upgrade_args(self.values.clone()))
    }
}
