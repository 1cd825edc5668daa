//! One Helm release, resolved: its chart folder, values files in order (each with its kind), set
//! values, namespace and timeout. [`resolve`] is the only place where a release's chart and
//! values are decided; the run, `upgrade-*`, `validate`, `--live`, GitOps output and the legacy
//! `deploy <chart> --deploy` all take the [`ReleaseSpec`] it returns.

use serde::Serialize;

use crate::cmd::Cmd;
use crate::config::ConfigError;
use crate::config::cluster::Cluster;
use crate::config::legacy::Chart;
use crate::config::multi::HELM_CHARTS_DIR;
use crate::config::secret_files::is_sops_encrypted;
use crate::tools::helm;

/// What a values file is, which decides how it reaches helm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValuesKind {
    /// Passed as it is.
    Plain,
    /// sops-encrypted: decrypted into a private temp file first.
    Encrypted,
}

/// One values file of a release. The path is repo-relative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValuesFile {
    pub path: String,
    pub kind: ValuesKind,
}

/// One release to upgrade. Paths are repo-relative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReleaseSpec {
    pub release: String,
    pub namespace: String,
    /// The chart folder.
    pub chart: String,
    /// In the order helm layers them.
    pub values: Vec<ValuesFile>,
    /// `--set-string key=value`, after the values files.
    pub set_string: Vec<(String, String)>,
    pub timeout: String,
    pub force: bool,
    /// Recover a pending revision even when someone may still be working on it
    /// (`--force-recover`).
    pub force_recover: bool,
}

/// How releases are run: the same for every release of a run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub timeout: String,
    pub force: bool,
    pub force_recover: bool,
}

/// Which release to resolve.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// A hub of a cluster.yaml, by name.
    Hub { cluster: &'a Cluster, hub: &'a str },
    /// A cluster's support chart.
    Support { cluster: &'a Cluster },
    /// A chart of the legacy layout, with the image tag value to set (`--set-string`), if any.
    Legacy {
        chart: &'a Chart,
        image_tag: Option<(&'a str, &'a str)>,
    },
}

/// The chart folder of a hub whose `helm_chart` is `name` (the resolver's rule; the planner and
/// validation ask it too, so no other place spells it).
pub fn hub_chart(name: &str) -> String {
    format!("{HELM_CHARTS_DIR}/{name}")
}

/// The support chart's folder.
pub fn support_chart() -> String {
    format!("{HELM_CHARTS_DIR}/support")
}

/// Everything helm will be given for `target`. `kind_of` tells a values file's kind from its
/// repo-relative path (it reads the file; `None` when it cannot, and helm will say why).
pub fn resolve(
    target: Target<'_>,
    options: &Options,
    kind_of: &dyn Fn(&str) -> Option<ValuesKind>,
) -> Result<ReleaseSpec, ConfigError> {
    let (release, chart, paths, set_string) = match target {
        Target::Support { cluster } => {
            if !cluster.has_support() {
                return Err(ConfigError::new(
                    Cluster::yaml_path(&cluster.name),
                    "there is no `support:` block: the cluster has no support release",
                ));
            }
            (
                "support".to_string(),
                support_chart(),
                cluster.support_files.clone(),
                Vec::new(),
            )
        }
        Target::Hub { cluster, hub } => {
            let i = cluster
                .file
                .hubs
                .iter()
                .position(|h| h.name == hub)
                .ok_or_else(|| {
                    ConfigError::new(
                        Cluster::yaml_path(&cluster.name),
                        format!("there is no hub `{hub}` in this file"),
                    )
                })?;
            (
                hub.to_string(),
                hub_chart(&cluster.file.hubs[i].helm_chart),
                cluster.hub_values[i].clone(),
                Vec::new(),
            )
        }
        Target::Legacy { chart, image_tag } => (
            chart.name.clone(),
            chart.dir.clone(),
            vec![chart.secrets_file.clone()],
            image_tag
                .map(|(k, v)| vec![(k.to_string(), v.to_string())])
                .unwrap_or_default(),
        ),
    };
    let values = paths
        .into_iter()
        .map(|path| ValuesFile {
            kind: kind_of(&path).unwrap_or(ValuesKind::Plain),
            path,
        })
        .collect();
    Ok(ReleaseSpec {
        namespace: release.clone(),
        release,
        chart,
        values,
        set_string,
        timeout: options.timeout.clone(),
        force: options.force,
        force_recover: options.force_recover,
    })
}

/// A file's kind from its text.
pub fn kind_of_text(text: &str) -> ValuesKind {
    if is_sops_encrypted(text) {
        ValuesKind::Encrypted
    } else {
        ValuesKind::Plain
    }
}

impl ReleaseSpec {
    /// The values files' paths, in order.
    pub fn value_paths(&self) -> Vec<String> {
        self.values.iter().map(|v| v.path.clone()).collect()
    }

    /// Whether any values file must be decrypted.
    pub fn has_encrypted(&self) -> bool {
        self.values.iter().any(|v| v.kind == ValuesKind::Encrypted)
    }

    /// helm's arguments for this release, with `values` (the files helm reads: a decrypted copy
    /// for an encrypted file) in place of the values files.
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

    /// `helm template` with the values files as given (their paths, not decrypted copies).
    pub fn template_cmd(&self) -> Cmd {
        helm::template(&self.upgrade_args(self.value_paths()))
    }
}
