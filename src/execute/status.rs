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
    /// `--live`: whether the release differs from what this checkout would deploy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Each release of one cluster (by job index); with `--live` (`ctx.opts.live`), each compared
/// with this checkout too, under the same credentials.
pub(super) fn status_cluster(ctx: &Ctx<'_>, cluster: &ClusterPlan) -> Vec<(usize, ReleaseState)> {
    let base = |s: &crate::plan::run_plan::Step| ReleaseState {
        cluster: cluster.name.clone(),
        release: s.job.release.clone(),
        kind: Some(s.job.kind),
        ..ReleaseState::default()
    };
    let failed = |why: String, live: &str| -> Vec<(usize, ReleaseState)> {
        cluster
            .steps
            .iter()
            .map(|s| {
                (
                    s.index,
                    ReleaseState {
                        error: Some(why.clone()),
                        live: ctx.opts.live.then(|| live.to_string()),
                        ..base(s)
                    },
                )
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
    states
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
