//! The plan as JSON, read and written here only: `deploy plan --format json|github` writes it
//! (the matrix a workflow takes), `deploy run --plan` and `filter-prod` read it back, and
//! `filter-prod` writes the prod jobs it keeps. The job keys are 2i2c's (`cluster_name`,
//! `hub_name`, `reason_for_redeploy`), so their matrix steps work unchanged.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::jobs::{Job, Kind};
use super::legacy_changes::LegacyChangePlan;
use super::multi::{DroppedJob, HubJob, Plan, SupportJob};
use super::reasons::Reasons;
use crate::config::ConfigError;
use crate::config::cluster::Provider;

/// Each job's reasons as a JSON string, written under both reason keys. Jobs next to each other
/// often have equal reasons (a base chart change gives thousands of hubs one of a few): those
/// seen among the last few are rendered once.
struct ReasonTexts {
    texts: Vec<Box<RawValue>>,
    of_job: Vec<usize>,
}

impl ReasonTexts {
    const RECENT: usize = 8;

    fn new<'a>(reasons: impl Iterator<Item = &'a Reasons>) -> Self {
        let mut texts = Vec::new();
        // the last few distinct reasons and their texts, newest last
        let mut recent: Vec<(&Reasons, usize)> = Vec::with_capacity(Self::RECENT);
        let of_job = reasons
            .map(|r| {
                if let Some(&(_, t)) = recent.iter().rev().find(|(seen, _)| *seen == r) {
                    return t;
                }
                // A string always serializes; the default (`null`) is never used.
                texts.push(serde_json::value::to_raw_value(&r.to_string()).unwrap_or_default());
                if recent.len() == Self::RECENT {
                    recent.remove(0);
                }
                recent.push((r, texts.len() - 1));
                texts.len() - 1
            })
            .collect();
        ReasonTexts { texts, of_job }
    }

    fn of(&self, job: usize) -> &RawValue {
        &self.texts[self.of_job[job]]
    }

    /// Bytes the reasons take in the output, to size it once.
    fn len(&self) -> usize {
        self.of_job.iter().map(|&t| self.texts[t].get().len()).sum()
    }
}

/// A job's JSON object, written straight into the output: the keys are this file's own, so only
/// the values are escaped (by serde_json). serde's derived writer escaped every key of every job
/// too: most of the time a plan of thousands of jobs took to write.
struct Object<'b> {
    buf: &'b mut Vec<u8>,
    empty: bool,
}

impl<'b> Object<'b> {
    fn new(buf: &'b mut Vec<u8>) -> Self {
        buf.push(b'{');
        Object { buf, empty: true }
    }

    fn value<T: Serialize + ?Sized>(mut self, key: &str, value: &T) -> Self {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
        // A string, a raw JSON text or a plain enum written into memory cannot fail.
        if let Err(e) = serde_json::to_writer(&mut *self.buf, value) {
            self.buf
                .extend_from_slice(format!("\"serialization failed: {e}\"").as_bytes());
        }
        self
    }

    /// The key only when there is a value (`skip_serializing_if = "Option::is_none"`).
    fn value_if<T: Serialize + ?Sized>(self, key: &str, value: Option<&T>) -> Self {
        match value {
            Some(v) => self.value(key, v),
            None => self,
        }
    }

    fn end(self) {
        self.buf.push(b'}');
    }
}

/// `jobs` as a JSON list, appended to `buf`: `object` writes each job with its reasons' text.
fn write_list<J>(
    buf: &mut Vec<u8>,
    jobs: &[J],
    reasons: impl Fn(&J) -> &Reasons,
    object: impl Fn(&mut Vec<u8>, &J, &RawValue),
) {
    let texts = ReasonTexts::new(jobs.iter().map(reasons));
    // Room for the keys and names of each job (about 120 bytes for 2i2c's names) and its
    // reason twice, so that the buffer is not grown by copying (a copy touches the new memory,
    // and then the copy again). Room reserved and not written is never touched.
    buf.reserve(jobs.len() * 256 + 2 * texts.len());
    buf.push(b'[');
    for (i, j) in jobs.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        object(buf, j, texts.of(i));
    }
    buf.push(b']');
}

/// A support or hub job's object (a support job has no hub name).
fn job_object(
    buf: &mut Vec<u8>,
    provider: Provider,
    cluster: &str,
    hub: Option<&str>,
    reason: &RawValue,
    live: Option<&str>,
) {
    Object::new(buf)
        .value("provider", provider.as_str())
        .value("cluster_name", cluster)
        .value_if("hub_name", hub)
        .value("reason_for_redeploy", reason)
        // the same reason under 2i2c's newer name (their workflows read either)
        .value("choice_reason", reason)
        // `--live` only: what the check found
        .value_if("live", live)
        .end();
}

fn support_list(buf: &mut Vec<u8>, list: &[SupportJob]) {
    write_list(
        buf,
        list,
        |j| &j.reasons,
        |buf, j, reason| {
            job_object(buf, j.provider, &j.cluster, None, reason, j.live.as_deref());
        },
    );
}

fn hub_list(buf: &mut Vec<u8>, list: &[HubJob]) {
    write_list(
        buf,
        list,
        |j| &j.reasons,
        |buf, j, reason| {
            job_object(
                buf,
                j.provider,
                &j.cluster,
                Some(&j.hub),
                reason,
                j.live.as_deref(),
            );
        },
    );
}

fn dropped_list(buf: &mut Vec<u8>, list: &[DroppedJob]) {
    write_list(
        buf,
        list,
        |j| &j.reasons,
        |buf, j, reason| {
            let hub = (j.kind != Kind::Support).then_some(j.release.as_str());
            Object::new(buf)
                .value("kind", &j.kind)
                .value("provider", j.provider.as_str())
                .value("cluster_name", &j.cluster)
                .value_if("hub_name", hub)
                .value("reason_for_redeploy", reason)
                .value("choice_reason", reason)
                // why it is not upgraded
                .value("dropped_because", &j.why)
                .end();
        },
    );
}

/// What `fill` writes, as a string (JSON is UTF-8: the fallback never loses anything).
fn string(fill: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut buf = Vec::new();
    fill(&mut buf);
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

pub fn support_json(p: &Plan) -> String {
    string(|b| support_list(b, &p.support))
}

pub fn staging_json(p: &Plan) -> String {
    string(|b| hub_list(b, &p.staging))
}

pub fn prod_json(p: &Plan) -> String {
    string(|b| hub_list(b, &p.prod))
}

/// `--live`: the jobs dropped as unchanged.
pub fn dropped_json(p: &Plan) -> String {
    string(|b| dropped_list(b, &p.dropped))
}

/// `{"support-jobs":[…],"staging-jobs":[…],"prod-jobs":[…]}` on one line, keys in this order;
/// after a live check also `"dropped-jobs":[…]`.
pub fn json(p: &Plan) -> String {
    string(|b| {
        b.extend_from_slice(b"{\"support-jobs\":");
        support_list(b, &p.support);
        b.extend_from_slice(b",\"staging-jobs\":");
        hub_list(b, &p.staging);
        b.extend_from_slice(b",\"prod-jobs\":");
        hub_list(b, &p.prod);
        if p.live {
            b.extend_from_slice(b",\"dropped-jobs\":");
            dropped_list(b, &p.dropped);
        }
        b.push(b'}');
    })
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
    // Serializing plain structs of strings cannot fail.
    serde_json::to_string(&jobs).unwrap_or_else(|e| format!("\"serialization failed: {e}\""))
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

#[cfg(test)]
mod tests;
