//! One Helm release, resolved: its chart folder (or a `chart_override` copy of it), the
//! dependency updates it needs (inner charts first), its values files in order with their kind
//! (plain, sops-encrypted, jsonnet), jsonnet's external variables, the CRDs to apply first, what
//! else runs before it (support: cert-manager, the tigera operator), the set values, namespace,
//! timeout and what to wait for. [`resolve`] is the only place where any of this is decided; the
//! run, `upgrade-*`, `validate`, `--live`, GitOps output and the legacy `deploy <chart>
//! --deploy` all take the [`ReleaseSpec`] it returns. See `docs/run.md` for how each part runs.

use serde::Serialize;

use super::chart::{self, Member, Read};
use crate::config::ConfigError;
use crate::config::cluster::{Cluster, Hub, Provider};
use crate::config::deploy_yaml::{DEFAULT_SUPPORT_VALUES, SupportSettings};
use crate::config::health::{HealthSettings, Via};
use crate::config::legacy::Chart;
use crate::config::multi::HELM_CHARTS_DIR;
use crate::config::secret_files::is_sops_encrypted;
pub use crate::plan::release_parts::{
    ChartOverride, Crds, Extra, HealthSpec, ValuesFile, ValuesKind, Wait,
};

/// One release to upgrade. Paths are repo-relative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReleaseSpec {
    pub release: String,
    pub namespace: String,
    /// The chart folder helm is given (with `chart_override`: that folder in the override's
    /// copy).
    pub chart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_override: Option<ChartOverride>,
    /// `helm dependency update` of these folders, in this order (local dependencies first).
    pub dependency_updates: Vec<String>,
    /// In the order helm layers them.
    pub values: Vec<ValuesFile>,
    /// jsonnet's external variables, for the jsonnet values files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jsonnet_vars: Vec<(String, String)>,
    /// `domain_override_file`: decrypted first; its `domain` is the hub's domain for jsonnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_override: Option<String>,
    /// CRDs applied before the upgrade (helm installs a chart's CRDs only on a first install).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crds: Option<Crds>,
    /// What runs before the upgrade, in order (support: cert-manager, the tigera operator).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<Extra>,
    /// `--set-string key=value`, after the values files.
    pub set_string: Vec<(String, String)>,
    pub timeout: String,
    pub force: bool,
    /// Recover a pending revision even when someone may still be working on it
    /// (`--force-recover`).
    pub force_recover: bool,
    /// The workloads whose rollout is awaited after the upgrade.
    pub wait: Wait,
    /// A hub's health check after its rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSpec>,
}

/// How releases are run: the same for every release of a run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub timeout: String,
    pub force: bool,
    pub force_recover: bool,
    /// `--no-health-check`: no hub gets a health check.
    pub skip_health_check: bool,
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

/// What the resolver reads: repo files (work tree) and the repo's support settings.
pub struct Sources<'a> {
    pub read: Read<'a>,
    pub support: &'a SupportSettings,
    pub health: &'a crate::config::health::HealthSettings,
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

/// The chart every 2i2c `chart_override` replaces the Chart.yaml of.
const OVERRIDDEN: &str = "helm-charts/basehub";

/// Everything helm will be given for `target`.
pub fn resolve(
    target: Target<'_>,
    options: &Options,
    src: &Sources<'_>,
) -> Result<ReleaseSpec, ConfigError> {
    let mut spec = ReleaseSpec {
        release: String::new(),
        namespace: String::new(),
        chart: String::new(),
        chart_override: None,
        dependency_updates: Vec::new(),
        values: Vec::new(),
        jsonnet_vars: Vec::new(),
        domain_override: None,
        crds: None,
        before: Vec::new(),
        set_string: Vec::new(),
        timeout: options.timeout.clone(),
        force: options.force,
        force_recover: options.force_recover,
        wait: Wait::DeploymentsAndDaemonSets,
        health: None,
    };
    match target {
        Target::Support { cluster } => support(cluster, src, &mut spec)?,
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
            hub_release(cluster, i, src, &mut spec)?;
            if !options.skip_health_check {
                spec.health = health(cluster, &cluster.file.hubs[i], src.health);
            }
        }
        Target::Legacy { chart, image_tag } => {
            // deploy.py's deploy: the chart's secrets file, the image tag, deployments awaited
            spec.release = chart.name.clone();
            spec.chart = chart.dir.clone();
            spec.dependency_updates = vec![chart.dir.clone()];
            spec.values = vec![values_file(src, &chart.secrets_file)];
            spec.set_string = image_tag
                .map(|(k, v)| vec![(k.to_string(), v.to_string())])
                .unwrap_or_default();
            spec.wait = Wait::Deployments;
        }
    }
    spec.namespace = spec.release.clone();
    Ok(spec)
}

/// A hub's health check: deploy.yaml's settings, what its entry changes; none when turned off,
/// or for `https` without a domain to ask.
fn health(cluster: &Cluster, hub: &Hub, s: &HealthSettings) -> Option<HealthSpec> {
    let own = hub.health_check.as_deref().cloned().unwrap_or_default();
    if !own.enabled.unwrap_or(s.enabled) {
        return None;
    }
    let via = own.via.unwrap_or(s.via);
    let path = own.path.unwrap_or_else(|| s.path.clone());
    let url = hub
        .domain
        .as_ref()
        .map(|d| format!("https://{d}{path}"))
        .unwrap_or_default();
    if via == Via::Https && url.is_empty() {
        return None;
    }
    Some(HealthSpec {
        cluster: cluster.name.clone(),
        hub: hub.name.clone(),
        url,
        via,
        path,
        connect_to: s.connect_to.clone(),
        ca_file: s.ca_file.clone(),
        service: s.service.clone(),
        timeout_secs: s.timeout.duration().as_secs().max(1),
        interval_secs: s.interval.duration().as_secs().max(1),
        command: own.command.or_else(|| s.command.clone()),
    })
}

/// A listed values file: jsonnet by its name, else encrypted or plain by its content.
fn values_file(src: &Sources<'_>, path: &str) -> ValuesFile {
    let kind = if crate::jsonnet::is_jsonnet(path) {
        ValuesKind::Jsonnet
    } else if (src.read)(path).is_some_and(|t| is_sops_encrypted(&t)) {
        ValuesKind::Encrypted
    } else {
        ValuesKind::Plain
    };
    ValuesFile {
        path: path.to_string(),
        kind,
    }
}

/// The chart's own `values.jsonnet`, first, when it has one (2i2c's charts do).
fn chart_jsonnet(src: &Sources<'_>, chart: &str) -> Option<ValuesFile> {
    let path = format!("{chart}/values.jsonnet");
    (src.read)(&path).map(|_| ValuesFile {
        path,
        kind: ValuesKind::Jsonnet,
    })
}

fn support(
    cluster: &Cluster,
    src: &Sources<'_>,
    spec: &mut ReleaseSpec,
) -> Result<(), ConfigError> {
    if !cluster.has_support() {
        return Err(ConfigError::new(
            Cluster::yaml_path(&cluster.name),
            "there is no `support:` block: the cluster has no support release",
        ));
    }
    let chart = support_chart();
    spec.release = "support".into();
    let plain = |f: &str| format!("{f}/Chart.yaml");
    spec.dependency_updates = updates(&chart::closure(src.read, &chart, &plain));
    // the chart's own values files first (2i2c's two encrypted ones when not configured: those
    // that exist), then its values.jsonnet, then the cluster's
    let chart_files: Vec<String> = match &src.support.values_files {
        Some(list) => list.clone(),
        None => DEFAULT_SUPPORT_VALUES
            .iter()
            .filter(|f| (src.read)(f).is_some())
            .map(|f| f.to_string())
            .collect(),
    };
    spec.values = chart_files.iter().map(|f| values_file(src, f)).collect();
    spec.values.extend(chart_jsonnet(src, &chart));
    spec.values
        .extend(cluster.support_files.iter().map(|f| values_file(src, f)));
    if has_jsonnet(&spec.values) {
        spec.jsonnet_vars = crate::jsonnet::ext_vars(cluster, None);
    }
    if let Some(v) = &src.support.cert_manager_version {
        spec.before.push(Extra::CertManager { version: v.clone() });
    }
    if let (Provider::Aws, Some(v)) = (cluster.provider(), &src.support.tigera_operator_version) {
        spec.before
            .push(Extra::TigeraOperator { version: v.clone() });
    }
    spec.chart = chart;
    Ok(())
}

/// The charts `helm dependency update` runs in, inner first: each local chart with
/// dependencies, and the release's own chart always (as 2i2c's deployer updates basehub, daskhub
/// and support whatever they list).
fn updates(members: &[Member]) -> Vec<String> {
    let last = members.len().saturating_sub(1);
    members
        .iter()
        .enumerate()
        .filter(|(i, m)| m.has_deps || *i == last)
        .map(|(_, m)| m.folder.clone())
        .collect()
}

fn has_jsonnet(values: &[ValuesFile]) -> bool {
    values.iter().any(|v| v.kind == ValuesKind::Jsonnet)
}

fn hub_release(
    cluster: &Cluster,
    i: usize,
    src: &Sources<'_>,
    spec: &mut ReleaseSpec,
) -> Result<(), ConfigError> {
    let hub: &Hub = &cluster.file.hubs[i];
    let err = |field: &str, m: String| {
        ConfigError::new(Cluster::yaml_path(&cluster.name), m).field(format!("hubs[{i}].{field}"))
    };
    spec.release = hub.name.clone();
    let chart = hub_chart(&hub.helm_chart);
    let override_file = match &hub.chart_override {
        Some(o) => Some(
            crate::config::cluster::chart_override_path(&cluster.dir, o)
                .map_err(|m| err("chart_override", m))?,
        ),
        None => None,
    };
    // the Chart.yaml to read for a folder: an override replaces basehub's
    let chart_yaml_of = |folder: &str| match &override_file {
        Some(f) if folder == OVERRIDDEN => f.clone(),
        _ => format!("{folder}/Chart.yaml"),
    };
    let members = chart::closure(src.read, &chart, &chart_yaml_of);
    spec.dependency_updates = updates(&members);
    if let Some(file) = override_file.clone() {
        // copied: basehub, and the charts that hold it (daskhub), as 2i2c's deployer copies them
        let copies = match members.iter().find(|m| m.folder == OVERRIDDEN) {
            Some(b) => members
                .iter()
                .filter(|m| m.holds(b))
                .map(|m| m.folder.clone())
                .collect(),
            None => vec![OVERRIDDEN.to_string()],
        };
        spec.chart_override = Some(ChartOverride {
            file,
            replaces: OVERRIDDEN.to_string(),
            copies,
        });
    }
    spec.values.extend(chart_jsonnet(src, &chart));
    spec.values
        .extend(cluster.hub_values(i).map(|f| values_file(src, &f)));
    if has_jsonnet(&spec.values) {
        spec.jsonnet_vars =
            crate::jsonnet::ext_vars(cluster, Some((&hub.name, hub.domain.as_deref())));
    }
    if let Some(d) = &hub.domain_override_file {
        spec.domain_override = Some(
            crate::config::paths::join(&cluster.dir, d)
                .map_err(|m| err("domain_override_file", m))?,
        );
    }
    spec.crds = dask_gateway_crds(src, &members, &chart_yaml_of, &spec.values);
    spec.chart = chart;
    Ok(())
}

/// dask-gateway's CRDs, when a chart of the release depends on dask-gateway and the hub's
/// values enable it: `dask-gateway.enabled: true` at the top level of a plain values file whose
/// name has no `secret` (the first that sets it), or under the key of the chart that depends on
/// it (daskhub's `basehub:`; 2i2c's deployer looks at the top level only and so never applies
/// them for daskhub hubs).
fn dask_gateway_crds(
    src: &Sources<'_>,
    members: &[Member],
    chart_yaml_of: &dyn Fn(&str) -> String,
    values: &[ValuesFile],
) -> Option<Crds> {
    let (holder, version) =
        chart::find_dependency(src.read, members, "dask-gateway", chart_yaml_of)?;
    let enabled = values
        .iter()
        .filter(|v| v.kind == ValuesKind::Plain)
        .filter(|v| {
            let base = v.path.rsplit('/').next().unwrap_or(&v.path);
            !base.contains("secret")
        })
        .filter_map(|v| {
            let text = (src.read)(&v.path)?;
            crate::config::yaml::from_str::<serde_json::Value>(&v.path, &text).ok()
        })
        .find_map(|doc| {
            let top = doc
                .pointer("/dask-gateway/enabled")
                .and_then(|b| b.as_bool());
            let nested = {
                let mut p = String::new();
                for k in &holder.key {
                    p.push('/');
                    p.push_str(k);
                }
                p.push_str("/dask-gateway/enabled");
                doc.pointer(&p).and_then(|b| b.as_bool())
            };
            top.or(nested).filter(|on| *on)
        })
        .is_some();
    enabled.then(|| Crds {
        chart: "dask-gateway".into(),
        version,
        vendored_in: holder.folder,
    })
}

/// A file's kind from its text (encrypted or plain).
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
            || self.domain_override.is_some()
    }

    /// Whether any values file is jsonnet.
    pub fn has_jsonnet(&self) -> bool {
        has_jsonnet(&self.values)
    }

    /// `helm template` of the chart folder and values files as planned (their paths: no
    /// override copy, decryption or render).
    pub fn template_cmd(&self) -> crate::cmd::Cmd {
        let values = self
            .value_paths()
            .into_iter()
            .map(crate::cmd::Arg::Plain)
            .collect();
        crate::tools::helm::template(&self.upgrade_args(self.chart.clone().into(), values))
    }

    /// helm's arguments for this release, with `chart` (the folder helm reads: an override's
    /// copy) and `values` (the files helm reads: decrypted and rendered copies) in place of the
    /// planned ones.
    pub fn upgrade_args(
        &self,
        chart: crate::cmd::Arg,
        values: Vec<crate::cmd::Arg>,
    ) -> crate::tools::helm::Upgrade<'_> {
        crate::tools::helm::Upgrade {
            release: &self.release,
            chart,
            namespace: &self.namespace,
            timeout: &self.timeout,
            values,
            set_string: self.set_string.clone(),
            force: self.force,
            labels: Vec::new(),
        }
    }
}
