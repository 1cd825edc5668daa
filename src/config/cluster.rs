//! `config/clusters/<c>/cluster.yaml`, the multi-cluster layout of 2i2c's infrastructure repo.
//!
//! Compatibility: every field 2i2c's schema allows is accepted (and kept, when we do not act on
//! it), unknown top-level and hub keys are errors, and only what deploying needs is required
//! (2i2c's `metadata` block, billing details and domains are optional here).

use std::borrow::Cow;

use serde::Deserialize;
use serde_yaml::Value;

use super::error::ConfigError;
use super::paths;

pub const CLUSTERS_DIR: &str = "config/clusters";

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Gcp,
    Aws,
    Azure,
    Kubeconfig,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Gcp => "gcp",
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Kubeconfig => "kubeconfig",
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub name: String,
    pub provider: Provider,
    /// 2i2c's own bookkeeping (hubspot deal id): kept, not used.
    pub metadata: Option<Value>,
    pub provider_url: Option<String>,
    pub tenancy: Option<String>,
    pub gcp: Option<Gcp>,
    pub aws: Option<Aws>,
    pub azure: Option<Azure>,
    pub kubeconfig: Option<Kubeconfig>,
    pub support: Option<Support>,
    #[serde(default)]
    pub hubs: Vec<Hub>,
    /// Flux runs this cluster: `deploy run` writes HelmReleases to this releases repo instead of
    /// running helm.
    pub gitops: Option<Gitops>,
}

impl ClusterFile {
    /// Whether its free-form blocks (2i2c's `metadata`, `billing` and `uptime_check`: the
    /// `Value` fields) are [`plain`](super::yaml::plain), as
    /// [`from_str_refusing_repeats`](super::yaml::from_str_refusing_repeats) requires.
    pub fn plain_values(&self) -> bool {
        let blocks = [
            self.metadata.as_ref(),
            self.gcp.as_ref().and_then(|g| g.billing.as_ref()),
            self.aws.as_ref().and_then(|a| a.billing.as_ref()),
        ];
        let hubs = self.hubs.iter().map(|h| h.uptime_check.as_deref());
        blocks
            .into_iter()
            .chain(hubs)
            .flatten()
            .all(super::yaml::plain)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gitops {
    /// The releases repository (any URL git can push to).
    pub repo: String,
    /// The folder of this cluster's HelmReleases in it.
    pub path: String,
    pub branch: Option<String>,
    /// The name of the Flux GitRepository (in flux-system) serving this hub-ops repo's charts.
    pub source: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gcp {
    pub key: String,
    pub project: String,
    pub cluster: String,
    pub zone: String,
    pub billing: Option<Value>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    pub account: Option<u64>,
    pub key: String,
    #[serde(rename = "clusterType")]
    pub cluster_type: Option<String>,
    #[serde(rename = "clusterName")]
    pub cluster_name: String,
    pub region: String,
    pub billing: Option<Value>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Azure {
    pub key: String,
    pub resource_group: String,
    pub cluster: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Kubeconfig {
    pub file: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Support {
    #[serde(default)]
    pub helm_chart_values_files: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hub {
    pub name: String,
    pub display_name: Option<String>,
    /// (Boxed, as `health_check`: most hubs have neither, and a parsed hub is smaller.)
    pub uptime_check: Option<Box<Value>>,
    pub domain: Option<String>,
    pub domain_override_file: Option<String>,
    pub helm_chart: String,
    pub helm_chart_values_files: Vec<String>,
    pub chart_override: Option<String>,
    /// What differs for this hub from deploy.yaml's `health_check:`.
    pub health_check: Option<Box<super::health::HubHealth>>,
}

impl ClusterFile {
    /// The values that reach a command line as arguments of their own, with their field.
    fn arg_fields(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        if let Some(g) = &self.gcp {
            out.extend([
                ("gcp.project", g.project.as_str()),
                ("gcp.cluster", &g.cluster),
                ("gcp.zone", &g.zone),
            ]);
        }
        if let Some(a) = &self.aws {
            out.extend([
                ("aws.clusterName", a.cluster_name.as_str()),
                ("aws.region", &a.region),
            ]);
        }
        if let Some(z) = &self.azure {
            out.extend([
                ("azure.resource_group", z.resource_group.as_str()),
                ("azure.cluster", &z.cluster),
            ]);
        }
        if let Some(g) = &self.gitops {
            out.push(("gitops.repo", &g.repo));
            out.extend(g.branch.as_deref().map(|b| ("gitops.branch", b)));
            out.extend(g.source.as_deref().map(|s| ("gitops.source", s)));
        }
        out
    }
}

/// A `chart_override` path as 2i2c's deployer reads it: with a `/`, relative to the repo root,
/// else to the cluster folder `dir`.
pub fn chart_override_path(dir: &str, value: &str) -> Result<String, String> {
    if value.contains('/') {
        paths::normalize(value)
    } else {
        paths::join(dir, value)
    }
}

/// A staging hub is one whose name contains `staging`: it is deployed first, as a canary.
pub fn is_staging_name(hub: &str) -> bool {
    hub.contains("staging")
}

impl Hub {
    pub fn is_staging(&self) -> bool {
        is_staging_name(&self.name)
    }
}

/// A loaded cluster: its folder name is its identity.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// The folder name under config/clusters/.
    pub name: String,
    /// `config/clusters/<name>`.
    pub dir: String,
    pub file: ClusterFile,
    /// The hubs' values files whose repo path is not `dir/<as written>` (a `./`, `..` or `//` in
    /// them), by hub and place in its list, sorted: most have none, and the others' paths are
    /// not kept twice (see [`Cluster::hub_values`]).
    resolved_values: Vec<(usize, usize, String)>,
    /// Each hub's other files: its chart_override, then its domain_override_file (see
    /// [`Cluster::hub_files`]).
    pub hub_extra_files: Vec<Vec<String>>,
    pub support_files: Vec<String>,
}

impl Cluster {
    pub fn yaml_path(name: &str) -> String {
        format!("{CLUSTERS_DIR}/{name}/cluster.yaml")
    }

    /// Parse a cluster.yaml's text. `name` is the folder name.
    pub fn parse(name: &str, text: &str) -> Result<Cluster, ConfigError> {
        let path = Cluster::yaml_path(name);
        // (its mappings are structs and `Value`s: see `from_str_refusing_repeats`)
        let file: ClusterFile =
            super::yaml::from_str_refusing_repeats(&path, text, ClusterFile::plain_values)?;
        Cluster::from_file(name, file)
    }

    pub fn from_file(name: &str, file: ClusterFile) -> Result<Cluster, ConfigError> {
        let path = Cluster::yaml_path(name);
        let err =
            |field: &str, m: String| ConfigError::new(path.clone(), m).field(field.to_string());
        if file.name != name {
            return Err(err(
                "name",
                format!(
                    "is `{}` but the folder is `{name}`: they must match",
                    file.name
                ),
            ));
        }
        let block_present = match file.provider {
            Provider::Gcp => file.gcp.is_some(),
            Provider::Aws => file.aws.is_some(),
            Provider::Azure => file.azure.is_some(),
            Provider::Kubeconfig => file.kubeconfig.is_some(),
        };
        if !block_present {
            let p = file.provider.as_str();
            return Err(err(
                p,
                format!("missing: provider is `{p}`, so its credentials block `{p}:` is required"),
            ));
        }
        for (field, value) in file.arg_fields() {
            super::names::check_arg(value).map_err(|m| err(field, m))?;
        }
        for (i, hub) in file.hubs.iter().enumerate() {
            super::names::check_chart_name(&hub.helm_chart)
                .map_err(|m| err(&format!("hubs[{i}].helm_chart"), m))?;
        }
        if let Some(g) = &file.gitops {
            paths::normalize(&g.path).map_err(|m| err("gitops.path", m))?;
        }
        let dir = format!("{CLUSTERS_DIR}/{name}");
        // the field is named only in an error: not formatted for each hub of a good file
        let folder = paths::Folder::new(&dir);
        let resolve = |field: &dyn Fn() -> String, list: &[String]| {
            list.iter()
                .map(|f| folder.join(f).map_err(|m| err(&field(), m)))
                .collect::<Result<Vec<String>, ConfigError>>()
        };
        let support_files = match &file.support {
            Some(s) => resolve(
                &|| "support.helm_chart_values_files".into(),
                &s.helm_chart_values_files,
            )?,
            None => Vec::new(),
        };
        let mut hub_extra_files = Vec::with_capacity(file.hubs.len());
        let mut resolved_values = Vec::new();
        for (i, hub) in file.hubs.iter().enumerate() {
            for (j, f) in hub.helm_chart_values_files.iter().enumerate() {
                if !folder.joins_as_written(f) {
                    let path = folder
                        .join(f)
                        .map_err(|m| err(&format!("hubs[{i}].helm_chart_values_files"), m))?;
                    resolved_values.push((i, j, path));
                }
            }
            let mut files = Vec::new();
            if let Some(o) = &hub.chart_override {
                files.push(
                    chart_override_path(&dir, o)
                        .map_err(|m| err(&format!("hubs[{i}].chart_override"), m))?,
                );
            }
            if let Some(d) = &hub.domain_override_file {
                files.push(
                    folder
                        .join(d)
                        .map_err(|m| err(&format!("hubs[{i}].domain_override_file"), m))?,
                );
            }
            hub_extra_files.push(files);
        }
        Ok(Cluster {
            name: name.to_string(),
            dir,
            file,
            resolved_values,
            hub_extra_files,
            support_files,
        })
    }

    /// The repo-relative credentials file of each provider block (cloud keys, kubeconfig).
    pub fn credential_files(&self) -> Vec<String> {
        let f = &self.file;
        [
            f.gcp.as_ref().map(|g| g.key.as_str()),
            f.aws.as_ref().map(|a| a.key.as_str()),
            f.azure.as_ref().map(|a| a.key.as_str()),
            f.kubeconfig.as_ref().map(|k| k.file.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter_map(|k| paths::join(&self.dir, k).ok())
        .collect()
    }

    /// Hub `i`'s values files, normalized repo-relative paths in order: what `helm upgrade -f`
    /// gets.
    pub fn hub_values(&self, i: usize) -> impl Iterator<Item = Cow<'_, str>> {
        let listed = &self.file.hubs[i].helm_chart_values_files;
        listed
            .iter()
            .enumerate()
            .map(move |(j, f)| match self.resolved_value(i, j) {
                Some(path) => Cow::Borrowed(path),
                None => Cow::Owned(format!("{}/{f}", self.dir)),
            })
    }

    /// Whether hub `i` lists `path` (normalized, repo-relative) among its values files: one of
    /// [`Cluster::hub_values`], without making them.
    pub fn hub_lists_value(&self, i: usize, path: &str) -> bool {
        let in_folder = path
            .strip_prefix(self.dir.as_str())
            .and_then(|rest| rest.strip_prefix('/'));
        let listed = &self.file.hubs[i].helm_chart_values_files;
        listed
            .iter()
            .enumerate()
            .any(|(j, f)| match self.resolved_value(i, j) {
                Some(resolved) => resolved == path,
                None => in_folder == Some(f.as_str()),
            })
    }

    fn resolved_value(&self, i: usize, j: usize) -> Option<&str> {
        if self.resolved_values.is_empty() {
            return None;
        }
        let at = self
            .resolved_values
            .binary_search_by(|(hub, place, _)| (*hub, *place).cmp(&(i, j)))
            .ok()?;
        Some(&self.resolved_values[at].2)
    }

    /// Normalized repo-relative paths of hub `i`'s files, in cluster.yaml order (values files,
    /// then chart_override and domain_override_file): what makes a change concern the hub.
    pub fn hub_files(&self, i: usize) -> impl Iterator<Item = Cow<'_, str>> {
        let extra = self.hub_extra_files[i]
            .iter()
            .map(|f| Cow::Borrowed(f.as_str()));
        self.hub_values(i).chain(extra)
    }

    pub fn provider(&self) -> Provider {
        self.file.provider
    }

    pub fn has_support(&self) -> bool {
        self.file.support.is_some()
    }
}

#[cfg(test)]
mod tests;
