//! What changed: paths (normalized one way) and pull-request labels, and with `--base` the paths
//! deleted and the base version of each changed cluster.yaml.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::cluster::CLUSTERS_DIR;

pub const LABEL_SKIP_DEPLOY: &str = "deployer:skip-deploy";
pub const LABEL_SKIP_HUBS: &str = "deployer:skip-deploy-hubs";
pub const LABEL_DEPLOY_SUPPORT: &str = "deployer:deploy-support";
pub const LABEL_DEPLOY_HUBS: &str = "deployer:deploy-hubs";

/// What changed. Paths are normalized, sorted and unique (see [`Changes::new`]).
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub paths: Vec<String>,
    pub labels: Vec<String>,
    /// With `--base`: each changed cluster.yaml at the base, by cluster name: its text, why it
    /// could not be read (`Err`), or `None` when it did not exist there. Without a base: `None`.
    pub base: Option<BTreeMap<String, Option<Result<String, String>>>>,
    /// With `--base`: the changed paths that exist at the base only (git says they were deleted).
    /// A changed path that exists neither where the config is read nor here exists nowhere.
    pub deleted: BTreeSet<String>,
    /// Problems with the input that are reported, not fatal (a path outside the repo).
    pub notices: Vec<String>,
}

impl Changes {
    /// Normalize, sort and dedupe raw paths; paths that cannot be normalized become notices.
    pub fn new(raw: impl IntoIterator<Item = String>, labels: Vec<String>) -> Changes {
        let mut paths = BTreeSet::new();
        let mut notices = Vec::new();
        for p in raw {
            if p.trim().is_empty() {
                continue;
            }
            if p.trim_end_matches(['\r', '\n'])
                .chars()
                .any(char::is_control)
            {
                notices.push(format!(
                    "ignored changed path {p:?}: it contains a control character"
                ));
                continue;
            }
            match crate::config::paths::normalize(&p) {
                Ok(n) => {
                    paths.insert(n);
                }
                Err(e) => notices.push(format!("ignored changed path: {e}")),
            }
        }
        Changes {
            paths: paths.into_iter().collect(),
            labels,
            base: None,
            deleted: BTreeSet::new(),
            notices,
        }
    }

    /// Record the paths git reports as deleted (normalized like the changed paths).
    pub fn set_deleted(&mut self, deleted: impl IntoIterator<Item = String>) {
        self.deleted = deleted
            .into_iter()
            .filter_map(|p| crate::config::paths::normalize(&p).ok())
            .collect();
    }

    pub fn has_label(&self, l: &str) -> bool {
        self.labels.iter().any(|x| x == l)
    }

    /// The clusters whose cluster.yaml changed (the ones whose base text matters).
    pub fn changed_cluster_yamls(&self) -> Vec<String> {
        self.paths
            .iter()
            .filter_map(|p| {
                let rest = p.strip_prefix(CLUSTERS_DIR)?.strip_prefix('/')?;
                let (c, tail) = rest.split_once('/')?;
                (tail == "cluster.yaml").then(|| c.to_string())
            })
            .collect()
    }
}
