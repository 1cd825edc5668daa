//! `deploy status`: what each release of the chosen clusters is on its cluster, read with
//! `helm get metadata` after the cluster's credentials. Only reads.

use serde::Serialize;
use serde_json::Value;

use super::context::{Ctx, connect};
use super::pool::parallel;
use super::release::InCluster;
use crate::plan::jobs::Kind;
use crate::plan::run_plan::{Access, ClusterPlan};
use crate::runner::{Reply, Runner};
use crate::tools::helm;

/// One release as its cluster has it.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ReleaseState {
    pub cluster: String,
    pub release: String,
    pub kind: Option<Kind>,
    pub installed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// `basehub 0.1.0`.
    pub chart: String,
    pub app_version: String,
    /// helm's: `deployed`, `failed`, `pending-upgrade`, …
    pub status: String,
    /// When the revision was deployed, as helm says it.
    pub deployed_at: String,
    /// A pending status: an upgrade, install or rollback did not finish.
    pub pending: bool,
    /// In the cluster's cluster.yaml; `false`: a release deploy upgraded (it has the
    /// `deploy-revision` label) whose hub is no longer there (`deploy uninstall` removes it).
    pub in_config: bool,
    /// `--live`: whether the release differs from what this checkout would deploy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A release, and with the last one of a cluster the releases on it that its cluster.yaml no
/// longer has.
pub type WithExtra = (ReleaseState, Vec<ReleaseState>);

/// Each release of one cluster (by job index), then (with the last) those deploy upgraded that
/// the cluster.yaml no longer has; with `--live` (`ctx.opts.live`), each compared with this
/// checkout too, under the same credentials.
pub(super) fn status_cluster(ctx: &Ctx<'_>, cluster: &ClusterPlan) -> Vec<(usize, WithExtra)> {
    let base = |s: &crate::plan::run_plan::Step| ReleaseState {
        cluster: cluster.name.clone(),
        release: s.job.release.clone(),
        kind: Some(s.job.kind),
        in_config: true,
        ..ReleaseState::default()
    };
    let failed = |why: String, live: &str| -> Vec<(usize, WithExtra)> {
        cluster
            .steps
            .iter()
            .map(|s| {
                let state = ReleaseState {
                    error: Some(why.clone()),
                    live: ctx.opts.live.then(|| live.to_string()),
                    ..base(s)
                };
                (s.index, (state, Vec::new()))
            })
            .collect()
    };
    if matches!(cluster.access, Access::Flux(_)) {
        return failed(
            "Flux runs this cluster: ask Flux (`flux get helmreleases -A`)".into(),
            "not checked (Flux applies this cluster's releases)",
        );
    }
    let access = match connect(ctx, cluster) {
        Ok(a) => a,
        Err((_, msg)) => {
            let live = format!("not checked: {msg}");
            return failed(msg, &live);
        }
    };
    let mut states = read_states(ctx, cluster, &access, base);
    let extra = not_in_config(ctx, cluster, &access);
    if ctx.opts.live {
        let steps: Vec<&crate::plan::run_plan::Step> = cluster.steps.iter().collect();
        let checked = super::live_phase::live_phase(ctx, cluster, &access, &steps);
        for ((_, state), c) in states.iter_mut().zip(checked) {
            state.live = Some(match c.decision {
                crate::plan::live::Decision::Drop(_) => "same as this checkout".into(),
                crate::plan::live::Decision::Keep(note) => note,
            });
        }
    }
    // (after the cluster's last release in job order, which is the order of the output)
    let last = states.iter().map(|(i, _)| *i).max();
    let mut extra = Some(extra);
    states
        .into_iter()
        .map(|(i, s)| {
            let more = if Some(i) == last { extra.take() } else { None };
            (i, (s, more.unwrap_or_default()))
        })
        .collect()
}

/// The releases deploy upgraded on the cluster (they carry its revision label) that are none of
/// the cluster's steps: hubs removed from the cluster.yaml, still installed.
fn not_in_config(
    ctx: &Ctx<'_>,
    cluster: &ClusterPlan,
    access: &super::credentials::ClusterAccess,
) -> Vec<ReleaseState> {
    let quiet = ctx.log.with_verbosity(crate::log::Verbosity::Quiet);
    let guarded = ctx.runner(&quiet, &cluster.name);
    let runner = InCluster {
        inner: &guarded,
        access,
    };
    let listed = runner.run(&helm::list_labelled(super::recovery::REVISION_LABEL));
    let _ = guarded.finish();
    let read = match listed {
        Ok(Reply::Ran(o)) if o.success() => Ok(o),
        Ok(Reply::NotRun) => return Vec::new(),
        Ok(Reply::Ran(o)) => Err(format!(
            "helm list: {}",
            o.stderr.lines().last().unwrap_or("failed")
        )),
        Err(e) => Err(e.to_string()),
    };
    let o = match read {
        Ok(o) => o,
        Err(why) => {
            ctx.log.warn(&format!(
                "{}: releases no longer in cluster.yaml not listed: {why}",
                cluster.name
            ));
            return Vec::new();
        }
    };
    let known: std::collections::BTreeSet<(&str, &str)> = cluster
        .steps
        .iter()
        .map(|s| (s.spec.release.as_str(), s.spec.namespace.as_str()))
        .collect();
    let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&o.stdout) else {
        return Vec::new();
    };
    let mut out: Vec<ReleaseState> = list
        .iter()
        .filter_map(|r| {
            let text = |k: &str| super::live::text_of(r, k);
            let (name, namespace) = (text("name"), text("namespace"));
            if known.contains(&(name.as_str(), namespace.as_str())) {
                return None;
            }
            let status = text("status");
            let chart = text("chart");
            Some(ReleaseState {
                cluster: cluster.name.clone(),
                release: name,
                kind: None,
                // (`--all` lists a release uninstalled with --keep-history too)
                installed: status != "uninstalled",
                revision: text("revision").parse().ok(),
                chart: match chart.rsplit_once('-') {
                    Some((n, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => {
                        format!("{n} {v}")
                    }
                    _ => chart,
                },
                app_version: text("app_version"),
                pending: status.starts_with("pending"),
                status,
                deployed_at: utc_time(&text("updated")),
                in_config: false,
                live: ctx.opts.live.then(|| "not in cluster.yaml".to_string()),
                error: None,
            })
        })
        .collect();
    out.sort_by(|a, b| a.release.cmp(&b.release));
    out
}

/// `helm list`'s `2026-11-30 08:25:11.119477807 +0000 UTC` as `helm get metadata` writes it:
/// `2026-11-30T08:25:11Z` (another zone as it is).
fn utc_time(t: &str) -> String {
    match t.strip_suffix(" +0000 UTC").and_then(|t| t.split_once(' ')) {
        Some((day, time)) => format!("{day}T{}Z", time.split('.').next().unwrap_or(time)),
        None => t.to_string(),
    }
}

fn read_states(
    ctx: &Ctx<'_>,
    cluster: &ClusterPlan,
    access: &super::credentials::ClusterAccess,
    base: impl Fn(&crate::plan::run_plan::Step) -> ReleaseState + Sync,
) -> Vec<(usize, ReleaseState)> {
    parallel(ctx.workers(), &cluster.steps, |step| {
        let label = step.job.label();
        let quiet = ctx.log.with_verbosity(crate::log::Verbosity::Quiet);
        let guarded = ctx.runner(&quiet, &label);
        let runner = InCluster {
            inner: &guarded,
            access,
        };
        let mut state = base(step);
        match runner.run(&helm::get_metadata(
            &step.spec.release,
            &step.spec.namespace,
        )) {
            Ok(Reply::Ran(o)) if o.success() => read_metadata(&o.stdout, &mut state),
            Ok(Reply::Ran(o)) if o.stderr.contains("not found") => {
                state.status = "not installed".into();
            }
            Ok(Reply::Ran(o)) => {
                state.error = Some(o.stderr.lines().last().unwrap_or("failed").to_string());
            }
            Ok(Reply::NotRun) => state.status = "not read (dry run)".into(),
            Err(e) => state.error = Some(e.to_string()),
        }
        let _ = guarded.finish();
        (step.index, state)
    })
}

/// What `helm get metadata -o json` says.
fn read_metadata(json: &str, s: &mut ReleaseState) {
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        s.error = Some("helm get metadata printed no JSON".into());
        return;
    };
    let text = |k: &str| super::live::text_of(&v, k);
    s.installed = true;
    s.revision = v["revision"].as_u64();
    s.chart = format!("{} {}", text("chart"), text("version"));
    s.app_version = text("appVersion");
    s.status = text("status");
    s.deployed_at = text("deployedAt");
    s.pending = s.status.starts_with("pending");
}
