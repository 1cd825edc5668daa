//! `deploy.yaml`: the repo's settings (what deploy.py hard-coded).

use serde::Deserialize;

use super::duration::GoDuration;

/// The repo's settings file, at its root.
pub const DEPLOY_YAML: &str = "deploy.yaml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployYaml {
    /// Charts `deploy <chart>` accepts; default: discovered from the tree.
    pub charts: Option<Vec<String>>,
    #[serde(default = "default_charts_dir")]
    pub charts_dir: String,
    #[serde(default = "default_images_dir")]
    pub images_dir: String,
    #[serde(default = "default_secrets_dir")]
    pub secrets_dir: String,
    pub gcloud: Option<Gcloud>,
    pub docker: Option<Docker>,
    pub image: Option<Image>,
    #[serde(default)]
    pub helm: Helm,
    /// Multi-cluster planning rules.
    #[serde(default)]
    pub plan: PlanSettings,
    /// `deploy plan`, `run`, `upgrade-support` and `upgrade-hub` check releases against their
    /// cluster (`--live`) unless given `--no-live`.
    #[serde(default)]
    pub live: bool,
    /// How support releases are deployed (multi-cluster layout). The defaults are what 2i2c's
    /// deployer does.
    #[serde(default)]
    pub support: SupportSettings,
    /// How `deploy run` checks that a hub answers after its upgrade (multi-cluster layout).
    #[serde(default)]
    pub health_check: super::health::HealthSettings,
}

/// `support:` in deploy.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportSettings {
    /// Values files of the support chart given to every cluster's support release, first
    /// (repo-relative). Default: 2i2c's chart-level encrypted files, those of them that exist.
    pub values_files: Option<Vec<String>>,
    /// cert-manager's CRDs and chart installed before each support release, at this version;
    /// `null`: not installed.
    #[serde(default = "default_cert_manager")]
    pub cert_manager_version: Option<String>,
    /// On AWS clusters, the tigera operator's manifest applied (and patched) before each
    /// support release, at this version; `null`: not applied.
    #[serde(default = "default_tigera_operator")]
    pub tigera_operator_version: Option<String>,
}

/// 2i2c's deployer's `--cert-manager-version` default.
fn default_cert_manager() -> Option<String> {
    Some("v1.20.3".into())
}

/// The tigera operator version 2i2c's deployer hard-codes.
fn default_tigera_operator() -> Option<String> {
    Some("v3.29.3".into())
}

/// The support chart's own values files 2i2c's deployer gives every support release first.
pub const DEFAULT_SUPPORT_VALUES: [&str; 2] = [
    "helm-charts/support/enc-support.secret.values.yaml",
    "helm-charts/support/enc-cryptnono.secret.values.yaml",
];

impl Default for SupportSettings {
    fn default() -> Self {
        SupportSettings {
            values_files: None,
            cert_manager_version: default_cert_manager(),
            tigera_operator_version: default_tigera_operator(),
        }
    }
}

fn default_charts_dir() -> String {
    "hub-charts".into()
}
fn default_images_dir() -> String {
    "user-images".into()
}
fn default_secrets_dir() -> String {
    "secrets".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gcloud {
    pub key_file: String,
    pub cluster: String,
    pub zone: String,
    pub project: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docker {
    pub username: String,
    pub password_file: String,
    /// The host given to `docker login`; none means Docker Hub's default.
    pub registry: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Image repository; `{chart}` is replaced by the chart name.
    pub name: String,
    /// Helm value set to the image tag with `--set-string`.
    pub tag_value: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Helm {
    pub timeout: Option<GoDuration>,
}

impl DeployYaml {
    /// What the schema cannot say: a zero timeout (kubectl would wait forever) and values that
    /// reach a command line.
    pub fn check(&self, file: &str) -> Result<(), super::ConfigError> {
        if self
            .helm
            .timeout
            .as_ref()
            .is_some_and(|t| t.duration().is_zero())
        {
            return Err(super::ConfigError::new(
                file,
                "must be more than 0: it bounds helm and each rollout (kubectl takes 0 as \
                 \"wait forever\")",
            )
            .field("helm.timeout"));
        }
        for (field, value) in self.arg_fields() {
            super::names::check_arg(value)
                .map_err(|m| super::ConfigError::new(file, m).field(field))?;
        }
        for (i, f) in self.support.values_files.iter().flatten().enumerate() {
            super::paths::normalize(f).map_err(|m| {
                super::ConfigError::new(file, m).field(format!("support.values_files[{i}]"))
            })?;
        }
        Ok(())
    }

    /// The values that reach a command line as arguments of their own, with their field.
    pub fn arg_fields(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        if let Some(g) = &self.gcloud {
            out.extend([
                ("gcloud.cluster", g.cluster.as_str()),
                ("gcloud.zone", &g.zone),
                ("gcloud.project", &g.project),
            ]);
        }
        if let Some(d) = &self.docker {
            out.push(("docker.username", &d.username));
            if let Some(r) = &d.registry {
                out.push(("docker.registry", r));
            }
        }
        if let Some(i) = &self.image {
            out.extend([
                ("image.name", i.name.as_str()),
                ("image.tag_value", &i.tag_value),
            ]);
        }
        let s = &self.support;
        out.extend(
            s.cert_manager_version
                .as_deref()
                .map(|v| ("support.cert_manager_version", v)),
        );
        out.extend(
            s.tigera_operator_version
                .as_deref()
                .map(|v| ("support.tigera_operator_version", v)),
        );
        out
    }
}

impl Image {
    pub fn repository(&self, chart: &str) -> String {
        self.name.replace("{chart}", chart)
    }
}

/// `plan:` in deploy.yaml: paths that redeploy every hub, and paths never to act on. The defaults
/// make a 2i2c-style repo behave as its own deployer does.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    #[serde(default = "default_all_hubs")]
    pub all_hubs: Vec<String>,
    #[serde(default = "default_ignore")]
    pub ignore: Vec<String>,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            all_hubs: default_all_hubs(),
            ignore: default_ignore(),
        }
    }
}

impl PlanSettings {
    /// `all_hubs` and `ignore`, compiled (`*` stays within a folder, `**` crosses folders).
    pub fn globs(&self) -> Result<(globset::GlobSet, globset::GlobSet), super::ConfigError> {
        Ok((
            globset(&self.all_hubs, "plan.all_hubs")?,
            globset(&self.ignore, "plan.ignore")?,
        ))
    }
}

/// What redeploys every hub in 2i2c's CI (`.github/workflows/deploy-hubs.yaml` hands the files
/// its path filter lists to the deployer's `plan-upgrade` decision): the deployer package in its
/// `deployer/` layout, the Python project files, and our own settings. Their decision matches
/// `deployer/*`, which since the deployer moved to `src/deployer/` matches none of its files: a
/// change there redeploys nothing, here as there.
fn default_all_hubs() -> Vec<String> {
    [
        "deployer/**",
        "pyproject.toml",
        "requirements.txt",
        "deploy.yaml",
    ]
    .map(String::from)
    .to_vec()
}

/// What 2i2c's CI never deploys for, though another rule would match it here: the paths its
/// workflow filter excludes (the deployer's README, health checks, tests and developer commands,
/// in each layout the deployer has had; the Jinja cluster templates), and the files under
/// `helm-charts/` outside the chart folders its filter lists (the hub image and chartpress's
/// config, which a "file under helm-charts/ in no chart" rule would take for every hub).
fn default_ignore() -> Vec<String> {
    [
        "deployer/README.md",
        "deployer/health_check_tests/**",
        "deployer/dev_commands/**",
        "deployer/tests/**",
        "deployer/src/deployer/health_check_tests/**",
        "deployer/src/deployer/dev/commands/**",
        "src/deployer/health_check_tests/**",
        "src/deployer/dev/commands/**",
        "helm-charts/images/**",
        "helm-charts/chartpress.yaml",
        "config/clusters/templates/**",
    ]
    .map(String::from)
    .to_vec()
}

fn globset(patterns: &[String], field: &str) -> Result<globset::GlobSet, super::ConfigError> {
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        let g = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| {
                super::ConfigError::new(DEPLOY_YAML, format!("bad glob `{p}`: {e}")).field(field)
            })?;
        b.add(g);
    }
    b.build()
        .map_err(|e| super::ConfigError::new(DEPLOY_YAML, e.to_string()).field(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_spells_out_the_plan_defaults() {
        let text = include_str!("../../examples/multi-cluster/deploy.yaml");
        let example: DeployYaml = crate::config::yaml::from_str(DEPLOY_YAML, text).unwrap();
        let defaults = PlanSettings::default();
        assert_eq!(example.plan.all_hubs, defaults.all_hubs);
        assert_eq!(example.plan.ignore, defaults.ignore);
    }

    #[test]
    fn default_globs_match_as_2i2c_ci_filters() {
        let (all_hubs, ignore) = PlanSettings::default().globs().unwrap();
        for p in [
            "deployer/commands/deployer.py",
            "pyproject.toml",
            "deploy.yaml",
        ] {
            assert!(all_hubs.is_match(p) && !ignore.is_match(p), "{p}");
        }
        for p in [
            "deployer/dev_commands/exec/aws.py",
            "src/deployer/dev/commands/generate/hub_asset/cluster_entry.py",
            "deployer/src/deployer/health_check_tests/test_hub.py",
            "helm-charts/images/hub/Dockerfile",
            "helm-charts/chartpress.yaml",
            "config/clusters/templates/gcp/cluster.yaml",
        ] {
            assert!(ignore.is_match(p), "{p}");
        }
        // a path matches only itself: a chart's own chartpress.yaml belongs to the chart
        assert!(!ignore.is_match("helm-charts/basehub/chartpress.yaml"));
        assert!(!all_hubs.is_match("src/deployer/commands/deployer.py"));
    }
}
