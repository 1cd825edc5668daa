//! Local Helm charts and their `file://` dependencies, so a change inside one chart redeploys
//! exactly the releases that use it, directly or through another chart (daskhub → basehub).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::error::ConfigError;
use super::paths;
use super::tree::{Tree, WorkTree};

/// Only the fields we read; Chart.yaml has many more, which are not ours to police.
#[derive(Deserialize)]
pub(crate) struct ChartYaml {
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

/// One entry of a Chart.yaml's `dependencies`.
#[derive(Deserialize)]
pub(crate) struct Dependency {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: Option<serde_yaml::Value>,
    pub repository: Option<String>,
    pub alias: Option<String>,
}

/// Chart folders (repo-relative) and the local chart folders each depends on.
#[derive(Clone, Debug, Default)]
pub struct ChartGraph {
    deps: BTreeMap<String, BTreeSet<String>>,
}

impl ChartGraph {
    /// Load the charts in `dirs` and, transitively, every local chart they depend on.
    pub fn load(
        root: &Path,
        dirs: impl IntoIterator<Item = String>,
    ) -> Result<ChartGraph, ConfigError> {
        ChartGraph::load_from(&WorkTree::new(root), dirs)
    }

    /// Like [`ChartGraph::load`], each Chart.yaml read from `tree`.
    pub fn load_from(
        tree: &dyn Tree,
        dirs: impl IntoIterator<Item = String>,
    ) -> Result<ChartGraph, ConfigError> {
        let mut g = ChartGraph::default();
        let mut todo: Vec<String> = dirs.into_iter().collect();
        while let Some(dir) = todo.pop() {
            if g.deps.contains_key(&dir) {
                continue;
            }
            let file = format!("{dir}/Chart.yaml");
            let Some(text) = tree.read(&file)? else {
                g.deps.insert(dir, BTreeSet::new());
                continue;
            };
            let chart: ChartYaml = super::yaml::from_str(&file, &text)?;
            let mut deps = BTreeSet::new();
            for d in chart.dependencies {
                let Some(rel) = d
                    .repository
                    .as_deref()
                    .and_then(|r| r.strip_prefix("file://"))
                else {
                    continue;
                };
                let dep = paths::join(&dir, rel)
                    .map_err(|m| ConfigError::new(file.clone(), m).field("dependencies"))?;
                todo.push(dep.clone());
                deps.insert(dep);
            }
            g.deps.insert(dir, deps);
        }
        Ok(g)
    }

    pub fn contains(&self, dir: &str) -> bool {
        self.deps.contains_key(dir)
    }

    /// The chart folder that holds `path`, if any (the deepest one).
    pub fn chart_of(&self, path: &str) -> Option<&str> {
        self.deps
            .keys()
            .filter(|d| paths::is_under(path, d))
            .max_by_key(|d| d.len())
            .map(String::as_str)
    }

    /// `dir` and every chart that depends on it, directly or not.
    pub fn users_of(&self, dir: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::from([dir.to_string()]);
        loop {
            let before = out.len();
            for (chart, deps) in &self.deps {
                if !out.contains(chart) && deps.iter().any(|d| out.contains(d)) {
                    out.insert(chart.clone());
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_closure_follows_file_dependencies() {
        let tmp = tempfile::tempdir().unwrap();
        let w = |p: &str, s: &str| {
            let p = tmp.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, s).unwrap();
        };
        w("helm-charts/basehub/Chart.yaml", "name: basehub\n");
        w(
            "helm-charts/daskhub/Chart.yaml",
            "name: daskhub\ndependencies:\n- name: basehub\n  repository: file://../basehub\n- name: dask-gateway\n  repository: https://helm.dask.org\n",
        );
        w("helm-charts/binderhub/Chart.yaml", "name: binderhub\n");
        let g = ChartGraph::load(
            tmp.path(),
            [
                "helm-charts/basehub",
                "helm-charts/daskhub",
                "helm-charts/binderhub",
            ]
            .map(String::from),
        )
        .unwrap();
        assert_eq!(
            g.users_of("helm-charts/basehub")
                .into_iter()
                .collect::<Vec<_>>(),
            ["helm-charts/basehub", "helm-charts/daskhub"]
        );
        assert_eq!(
            g.chart_of("helm-charts/daskhub/values.yaml"),
            Some("helm-charts/daskhub")
        );
        assert_eq!(g.chart_of("helm-charts/README.md"), None);
        assert_eq!(g.chart_of("helm-charts/basehubx/a"), None);
    }
}
