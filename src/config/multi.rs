//! The multi-cluster layout: `config/clusters/<c>/cluster.yaml` + shared charts in
//! `helm-charts/<chart>/`. `deploy.yaml` is optional here.

use std::path::{Path, PathBuf};

use super::charts::ChartGraph;
use super::cluster::{CLUSTERS_DIR, Cluster};
use super::deploy_yaml::DeployYaml;
use super::error::{ConfigError, ConfigErrors};
use super::legacy::DEPLOY_YAML;

pub const HELM_CHARTS_DIR: &str = "helm-charts";

#[derive(Clone, Debug)]
pub struct MultiRepo {
    pub root: PathBuf,
    pub settings: DeployYaml,
    /// Folders of config/clusters/ holding a cluster.yaml directly (not deeper), sorted.
    pub cluster_names: Vec<String>,
    /// Set by [`MultiRepo::load_lenient`]: deploy.yaml did not load (defaults are used).
    pub settings_error: Option<ConfigError>,
}

/// Cluster folders: exactly `config/clusters/*/cluster.yaml`, one level down (2i2c keeps a
/// Jinja template deeper that is not YAML).
fn cluster_folders(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(CLUSTERS_DIR)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("cluster.yaml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

impl MultiRepo {
    /// Whether `root` uses this layout.
    pub fn detect(root: &Path) -> bool {
        !cluster_folders(root).is_empty()
    }

    pub fn load(root: &Path) -> Result<MultiRepo, ConfigError> {
        let settings = match crate::config::input::read_text(root.join(DEPLOY_YAML)) {
            Ok(text) => super::yaml::from_str(DEPLOY_YAML, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DeployYaml::default(),
            Err(e) => return Err(ConfigError::new(DEPLOY_YAML, format!("cannot read: {e}"))),
        };
        Ok(MultiRepo {
            root: root.to_path_buf(),
            settings,
            cluster_names: cluster_folders(root),
            settings_error: None,
        })
    }

    /// Like [`MultiRepo::load`], but a broken deploy.yaml is kept as an error to report with the
    /// rest (`deploy validate` lists every problem at once).
    pub fn load_lenient(root: &Path) -> MultiRepo {
        MultiRepo::load(root).unwrap_or_else(|e| MultiRepo {
            root: root.to_path_buf(),
            settings: DeployYaml::default(),
            cluster_names: cluster_folders(root),
            settings_error: Some(e),
        })
    }

    pub fn has_cluster(&self, name: &str) -> bool {
        self.cluster_names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }

    /// Read and parse the named clusters, in parallel; all problems are reported together.
    pub fn load_clusters(&self, names: &[String]) -> Result<Vec<Cluster>, ConfigErrors> {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(names.len().max(1));
        let chunk = names.len().div_ceil(threads).max(1);
        let results: Vec<Result<Cluster, ConfigError>> = std::thread::scope(|s| {
            let handles: Vec<_> = names
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|n| self.load_cluster(n))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(ConfigError::new(
                            CLUSTERS_DIR,
                            "internal error: a loader thread panicked",
                        ))]
                    })
                })
                .collect()
        });
        let mut clusters = Vec::with_capacity(results.len());
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(c) => clusters.push(c),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(clusters)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    pub fn load_cluster(&self, name: &str) -> Result<Cluster, ConfigError> {
        let path = Cluster::yaml_path(name);
        let text = crate::config::input::read_text(self.root.join(&path))
            .map_err(|e| ConfigError::new(path.clone(), format!("cannot read: {e}")))?;
        Cluster::parse(name, &text)
    }

    /// The shared charts (`helm-charts/<chart>/` with a Chart.yaml) and their local dependencies.
    pub fn charts(&self) -> Result<ChartGraph, ConfigError> {
        let mut dirs = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.root.join(HELM_CHARTS_DIR)) {
            for e in entries.flatten() {
                if e.path().join("Chart.yaml").is_file()
                    && let Ok(n) = e.file_name().into_string()
                {
                    dirs.push(format!("{HELM_CHARTS_DIR}/{n}"));
                }
            }
        }
        ChartGraph::load(&self.root, dirs)
    }
}
