//! `config/clusters/<c>/cluster.yaml`, the multi-cluster layout of 2i2c's infrastructure repo.
//!
//! Compatibility: every field 2i2c's schema allows is accepted (and kept, when we do not act on
//! it), unknown top-level and hub keys are errors, and only what deploying needs is required
//! (2i2c's `metadata` block, billing details and domains are optional here).

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
    /// Each hub's values files only, in order: what `helm upgrade -f` gets.
    pub hub_values: Vec<Vec<String>>,
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
        let mut hub_values = Vec::with_capacity(file.hubs.len());
        for (i, hub) in file.hubs.iter().enumerate() {
            let values = resolve(
                &|| format!("hubs[{i}].helm_chart_values_files"),
                &hub.helm_chart_values_files,
            )?;
            hub_values.push(values);
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
            hub_values,
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

    /// Normalized repo-relative paths of hub `i`'s files, in cluster.yaml order (values files,
    /// then chart_override and domain_override_file): what makes a change concern the hub.
    pub fn hub_files(&self, i: usize) -> impl Iterator<Item = &str> {
        self.hub_values[i]
            .iter()
            .chain(&self.hub_extra_files[i])
            .map(String::as_str)
    }

    pub fn provider(&self) -> Provider {
        self.file.provider
    }

    pub fn has_support(&self) -> bool {
        self.file.support.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name: c1\nprovider: kubeconfig\nkubeconfig: {file: k.yaml}\nhubs:\n- name: staging\n  helm_chart: basehub\n  helm_chart_values_files: [./staging.values.yaml, ../c1/common.values.yaml]\n";

    #[test]
    fn minimal_cluster_loads_and_paths_are_normalized() {
        let c = Cluster::parse("c1", MINIMAL).unwrap();
        assert_eq!(
            c.hub_files(0).collect::<Vec<_>>(),
            [
                "config/clusters/c1/staging.values.yaml",
                "config/clusters/c1/common.values.yaml"
            ]
        );
        assert!(c.file.hubs[0].is_staging());
        assert!(!c.has_support());
    }

    #[test]
    fn folder_name_must_match() {
        let e = Cluster::parse("other", MINIMAL).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config/clusters/other/cluster.yaml: name: is `c1` but the folder is `other`: they must match"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_location() {
        let text = format!("{MINIMAL}  domian: x.org\n");
        let e = Cluster::parse("c1", &text).unwrap_err();
        assert_eq!(e.line, Some(8));
        assert!(e.message.starts_with("unknown field `domian`"), "{e}");
        let e = Cluster::parse("c1", &format!("{MINIMAL}extra: 1\n")).unwrap_err();
        assert!(e.message.starts_with("unknown field `extra`"), "{e}");
    }

    const FULL: &str = "name: c1\nprovider: gcp\nmetadata:\n  2i2c:\n    deal: 1\ngcp:\n  key: k.json\n  project: p\n  cluster: c\n  zone: z\n  billing:\n    paid_by_us: true\nsupport:\n  helm_chart_values_files: [support.values.yaml]\nhubs:\n- name: staging\n  domain: s.example.org\n  helm_chart: basehub\n  helm_chart_values_files: [a.yaml]\n  uptime_check:\n    expected_status: 200\n  health_check:\n    path: /hub/health\n";

    /// Cluster files are read straight from the text (`from_str_refusing_repeats`), which is
    /// right only while every mapping of `ClusterFile` refuses a repeated key by itself: a
    /// `HashMap` field added later would keep the last of two keys where `yaml::from_str`'s key
    /// scan refuses them. Each mapping here, given a key twice, must fail with the key scan's
    /// message, and tricky documents must read exactly as `yaml::from_str` reads them.
    #[test]
    fn read_straight_from_the_text_exactly_as_from_str_reads_it() {
        use crate::config::yaml;
        let both = |text: &str| {
            let direct = yaml::from_str_refusing_repeats("f", text, ClusterFile::plain_values);
            assert_eq!(direct, yaml::from_str::<ClusterFile>("f", text), "{text}");
            direct
        };
        assert!(both(FULL).is_ok());
        // a key given twice, in each mapping (top level, a Value block, a provider block, its
        // Value, support, a hub, a hub's Value, a hub's health check)
        for (after, key) in [
            ("provider: gcp\n", "provider: aws\n"),
            ("    deal: 1\n", "    deal: 2\n"),
            ("    deal: 1\n", "  2i2c: x\n"),
            ("  zone: z\n", "  zone: y\n"),
            ("    paid_by_us: true\n", "    paid_by_us: false\n"),
            ("support:\n", "  helm_chart_values_files: []\n"),
            ("  domain: s.example.org\n", "  domain: t.example.org\n"),
            ("    expected_status: 200\n", "    expected_status: 301\n"),
            ("    path: /hub/health\n", "    path: /x\n"),
        ] {
            let text = FULL.replacen(after, &format!("{after}{key}"), 1);
            assert_ne!(text, FULL);
            let e = both(&text).unwrap_err();
            assert!(e.message.starts_with("duplicate key"), "{text}\n{e}");
        }
        // what a Value would read differently: the exact path's reading, both ways
        for (from, to) in [
            ("name: staging", "name: 123"),
            ("zone: z", "zone: 1.10"),
            ("zone: z", "zone: !!str z"),
            ("hubs:\n", "hubs: ~\nx:\n"),
            ("    deal: 1\n", "    1: 1\n    <<: {a: b}\n"),
            ("  zone: z\n", "  zone: &z z\n  cluster2: *z\n"),
            ("  project: p\n", "  project: ~\n"),
            ("domain: s.example.org", "domain: \"a\": b"),
            ("helm_chart: basehub", "helm_chart: [basehub"),
            // keys equal as written, not as read: one key to the key scan, two to a `Value`
            ("    deal: 1\n", "    1: a\n    '1': b\n"),
            ("    deal: 1\n", "    true: a\n    'true': b\n"),
            ("    deal: 1\n", "    ~: a\n    '~': b\n"),
            ("    deal: 1\n", "    !!str 1: a\n    1: b\n"),
            ("    deal: 1\n", "    x: {1.0: a, '1.0': b}\n"),
            ("    paid_by_us: true\n", "    1: a\n    \"1\": b\n"),
            ("    expected_status: 200\n", "    200: a\n    \"200\": b\n"),
            ("  2i2c:\n    deal: 1\n", "  {1: a, \"1\": b}\n"),
        ] {
            let text = FULL.replacen(from, to, 1);
            assert_ne!(text, FULL);
            let _ = both(&text);
        }
    }

    /// `plain_values` must look at every `Value` field: one added to these structs must be added
    /// there too (and to the cases above).
    #[test]
    fn every_free_form_block_is_checked_for_plain_values() {
        let src = include_str!("cluster.rs");
        let code = src.split("#[cfg(test)]").next().unwrap();
        let fields = code.matches(": Option<Value>").count();
        assert_eq!(fields + code.matches(": Option<Box<Value>>").count(), 4);
        assert!(!code.contains(": Value,") && !code.contains("Vec<Value>"));
        let aws = FULL.replace("provider: gcp", "provider: aws").replace(
            "gcp:\n  key: k.json\n  project: p\n  cluster: c\n  zone: z\n",
            "aws:\n  key: k.json\n  clusterName: c\n  region: r\n",
        );
        for (text, from) in [
            (FULL, "    deal: 1\n"),
            (FULL, "    paid_by_us: true\n"),
            (aws.as_str(), "    paid_by_us: true\n"),
            (FULL, "    expected_status: 200\n"),
        ] {
            let ok: ClusterFile = crate::config::yaml::from_str("f", text).unwrap();
            assert!(ok.plain_values(), "{text}");
            let text = text.replacen(from, &format!("{from}    7: x\n"), 1);
            let other: ClusterFile = crate::config::yaml::from_str("f", &text).unwrap();
            assert!(!other.plain_values(), "{text}");
        }
    }

    #[test]
    fn provider_block_is_required() {
        let e = Cluster::parse("c1", "name: c1\nprovider: gcp\n").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("gcp"));
    }
}
