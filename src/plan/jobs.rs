//! Jobs as `deploy run` consumes them: from a computed plan, or from the JSON `deploy plan`
//! printed (`--plan FILE`); and `filter-prod`, which drops the prod jobs of failed clusters.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::multi::Plan;
use crate::config::ConfigError;
use crate::config::cluster::Provider;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Support,
    Staging,
    Prod,
}

impl Kind {
    /// As in JSON and tables: `support`, `staging`, `prod`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Support => "support",
            Kind::Staging => "staging",
            Kind::Prod => "prod",
        }
    }
}

/// One release to upgrade, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub kind: Kind,
    pub provider: Provider,
    pub cluster: String,
    /// The hub, or `support`.
    pub release: String,
    pub reason: String,
}

impl Job {
    pub fn label(&self) -> String {
        format!("{}/{}", self.cluster, self.release)
    }
}

/// The jobs of a plan, in plan order.
pub fn jobs(plan: &Plan) -> Vec<Job> {
    let mut out = Vec::new();
    for j in &plan.support {
        out.push(Job {
            kind: Kind::Support,
            provider: j.provider,
            cluster: j.cluster.clone(),
            release: "support".into(),
            reason: j.reasons.to_string(),
        });
    }
    for (kind, list) in [(Kind::Staging, &plan.staging), (Kind::Prod, &plan.prod)] {
        for j in list {
            out.push(Job {
                kind,
                provider: j.provider,
                cluster: j.cluster.clone(),
                release: j.hub.clone(),
                reason: j.reasons.to_string(),
            });
        }
    }
    out
}

/// A job as `deploy plan --format json` writes it (unknown keys are refused: a typo such as
/// `hub` for `hub_name` must not turn into a job for the wrong release).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct JobJson {
    provider: Provider,
    cluster_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hub_name: Option<String>,
    #[serde(default)]
    reason_for_redeploy: String,
    /// `--live`: what the check found (informational).
    #[serde(default, skip_serializing)]
    #[allow(dead_code)]
    live: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanJson {
    #[serde(rename = "support-jobs", default)]
    support: Vec<JobJson>,
    #[serde(rename = "staging-jobs", default)]
    staging: Vec<JobJson>,
    #[serde(rename = "prod-jobs", default)]
    prod: Vec<JobJson>,
    /// `--live`: jobs that are not to run (read so that a `plan --live` plan is accepted).
    #[serde(rename = "dropped-jobs", default)]
    #[allow(dead_code)]
    dropped: Vec<serde_json::Value>,
}

/// Jobs from the JSON of `deploy plan --format json` (or just its prod-jobs list).
pub fn parse_plan_json(file: &str, text: &str) -> Result<Vec<Job>, ConfigError> {
    let bad = |e: serde_json::Error| {
        ConfigError::new(
            file,
            format!("not a plan from `deploy plan --format json`: {e}"),
        )
        .at(e.line(), e.column())
    };
    let plan: PlanJson = if text.trim_start().starts_with('[') {
        PlanJson {
            support: vec![],
            staging: vec![],
            prod: serde_json::from_str(text).map_err(bad)?,
            dropped: vec![],
        }
    } else {
        serde_json::from_str(text).map_err(bad)?
    };
    let mut out = Vec::new();
    for (kind, list) in [
        (Kind::Support, plan.support),
        (Kind::Staging, plan.staging),
        (Kind::Prod, plan.prod),
    ] {
        for j in list {
            let release = match (kind, j.hub_name) {
                (Kind::Support, _) => "support".to_string(),
                (_, Some(h)) => h,
                (_, None) => {
                    return Err(ConfigError::new(
                        file,
                        format!(
                            "a {kind:?} job of cluster {} has no hub_name",
                            j.cluster_name
                        ),
                    ));
                }
            };
            if let Some(first) = out
                .iter()
                .find(|o: &&Job| o.cluster == j.cluster_name && o.release == release)
            {
                return Err(ConfigError::new(
                    file,
                    format!(
                        "release {}/{release} is in the plan twice ({} and {}): each release \
                         is upgraded once",
                        j.cluster_name,
                        first.kind.as_str(),
                        kind.as_str()
                    ),
                ));
            }
            out.push(Job {
                kind,
                provider: j.provider,
                cluster: j.cluster_name,
                release,
                reason: j.reason_for_redeploy,
            });
        }
    }
    Ok(out)
}

/// Every cluster a `--report` file names, and those whose support or staging did not succeed.
pub fn report_clusters(
    file: &str,
    text: &str,
) -> Result<(BTreeSet<String>, BTreeSet<String>), ConfigError> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ConfigError::new(file, format!("not a `deploy … --report` file: {e}")))?;
    let releases = v["releases"].as_array().ok_or_else(|| {
        ConfigError::new(file, "not a `deploy … --report` file: no `releases` list")
    })?;
    let all = releases
        .iter()
        .filter_map(|r| r["cluster_name"].as_str().map(String::from))
        .collect();
    let failed = releases
        .iter()
        .filter(|r| matches!(r["kind"].as_str(), Some("support" | "staging")))
        .filter(|r| !matches!(r["status"].as_str(), Some("succeeded" | "unchanged")))
        .filter_map(|r| r["cluster_name"].as_str().map(String::from))
        .collect();
    Ok((all, failed))
}

/// The prod jobs of clusters not in `failed`, as the JSON list a matrix takes.
pub fn filter_prod(jobs: &[Job], failed: &BTreeSet<String>) -> String {
    let kept: Vec<JobJson> = jobs
        .iter()
        .filter(|j| j.kind == Kind::Prod && !failed.contains(&j.cluster))
        .map(|j| JobJson {
            provider: j.provider,
            cluster_name: j.cluster.clone(),
            hub_name: Some(j.release.clone()),
            reason_for_redeploy: j.reason.clone(),
            live: None,
        })
        .collect();
    serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into())
}
