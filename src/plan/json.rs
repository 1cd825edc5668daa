//! The plan as JSON, read and written here only: `deploy plan --format json|github` writes it
//! (the matrix a workflow takes), `deploy run --plan` and `filter-prod` read it back, and
//! `filter-prod` writes the prod jobs it keeps. The job keys are 2i2c's (`cluster_name`,
//! `hub_name`, `reason_for_redeploy`), so their matrix steps work unchanged.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::jobs::{Job, Kind};
use super::legacy_changes::LegacyChangePlan;
use super::multi::{DroppedJob, HubJob, Plan, SupportJob};
use crate::config::ConfigError;
use crate::config::cluster::Provider;

#[derive(Serialize)]
struct SupportOut<'a> {
    provider: &'a str,
    cluster_name: &'a str,
    reason_for_redeploy: String,
    /// The same reason under 2i2c's newer name (their workflows read either).
    choice_reason: String,
    /// `--live` only: what the check found.
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<&'a str>,
}

#[derive(Serialize)]
struct HubOut<'a> {
    provider: &'a str,
    cluster_name: &'a str,
    hub_name: &'a str,
    reason_for_redeploy: String,
    choice_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<&'a str>,
}

#[derive(Serialize)]
struct DroppedOut<'a> {
    kind: crate::plan::jobs::Kind,
    provider: &'a str,
    cluster_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hub_name: Option<&'a str>,
    reason_for_redeploy: String,
    choice_reason: String,
    /// Why it is not upgraded.
    dropped_because: &'a str,
}

fn support_out(j: &SupportJob) -> SupportOut<'_> {
    SupportOut {
        provider: j.provider.as_str(),
        cluster_name: &j.cluster,
        reason_for_redeploy: j.reasons.to_string(),
        choice_reason: j.reasons.to_string(),
        live: j.live.as_deref(),
    }
}

fn hub_out(j: &HubJob) -> HubOut<'_> {
    HubOut {
        provider: j.provider.as_str(),
        cluster_name: &j.cluster,
        hub_name: &j.hub,
        reason_for_redeploy: j.reasons.to_string(),
        choice_reason: j.reasons.to_string(),
        live: j.live.as_deref(),
    }
}

fn dropped_out(j: &DroppedJob) -> DroppedOut<'_> {
    DroppedOut {
        kind: j.kind,
        provider: j.provider.as_str(),
        cluster_name: &j.cluster,
        hub_name: (j.kind != Kind::Support).then_some(j.release.as_str()),
        reason_for_redeploy: j.reasons.to_string(),
        choice_reason: j.reasons.to_string(),
        dropped_because: &j.why,
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    // Serializing plain structs of strings cannot fail.
    serde_json::to_string(v).unwrap_or_else(|e| format!("\"serialization failed: {e}\""))
}

pub fn support_json(p: &Plan) -> String {
    to_json(&p.support.iter().map(support_out).collect::<Vec<_>>())
}

pub fn staging_json(p: &Plan) -> String {
    to_json(&p.staging.iter().map(hub_out).collect::<Vec<_>>())
}

pub fn prod_json(p: &Plan) -> String {
    to_json(&p.prod.iter().map(hub_out).collect::<Vec<_>>())
}

/// `--live`: the jobs dropped as unchanged.
pub fn dropped_json(p: &Plan) -> String {
    to_json(&p.dropped.iter().map(dropped_out).collect::<Vec<_>>())
}

/// `{"support-jobs":[…],"staging-jobs":[…],"prod-jobs":[…]}` on one line, keys in this order;
/// after a live check also `"dropped-jobs":[…]`.
pub fn json(p: &Plan) -> String {
    let dropped = if p.live {
        format!(",\"dropped-jobs\":{}", dropped_json(p))
    } else {
        String::new()
    };
    format!(
        "{{\"support-jobs\":{},\"staging-jobs\":{},\"prod-jobs\":{}{dropped}}}",
        support_json(p),
        staging_json(p),
        prod_json(p)
    )
}

#[derive(Serialize)]
struct LegacyOut<'a> {
    chart: &'a str,
    build: bool,
    reason_for_redeploy: String,
    choice_reason: String,
}

/// The legacy jobs as a JSON list, staging first.
pub fn legacy_jobs_json(p: &LegacyChangePlan) -> String {
    let jobs: Vec<LegacyOut<'_>> = p
        .jobs
        .iter()
        .map(|j| LegacyOut {
            chart: &j.chart,
            build: j.build,
            reason_for_redeploy: j.reasons.to_string(),
            choice_reason: j.reasons.to_string(),
        })
        .collect();
    to_json(&jobs)
}

/// Legacy layout: `{"legacy-jobs":[{"chart","build","reason_for_redeploy","choice_reason"}]}`.
pub fn legacy_json(p: &LegacyChangePlan) -> String {
    format!("{{\"legacy-jobs\":{}}}", legacy_jobs_json(p))
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
    /// 2i2c's newer name for the reason: read when `reason_for_redeploy` is absent, written
    /// next to it.
    #[serde(default)]
    choice_reason: String,
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
                reason: if j.reason_for_redeploy.is_empty() {
                    j.choice_reason
                } else {
                    j.reason_for_redeploy
                },
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
            choice_reason: j.reason.clone(),
            live: None,
        })
        .collect();
    serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into())
}
