//! `deploy plan` in the legacy layout: which charts to (build and) deploy for a set of changes.
//! Staging charts come first, so a CI loop can stop at a failing staginghub.

use super::multi::{Changes, LABEL_DEPLOY_HUBS, LABEL_SKIP_DEPLOY, LABEL_SKIP_HUBS};
use super::reasons::{Cause, Reasons};
use crate::config::ConfigError;
use crate::config::charts::ChartGraph;
use crate::config::legacy::LegacyRepo;
use crate::config::paths::is_under;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyJob {
    pub chart: String,
    /// The user image changed: build and push it before deploying.
    pub build: bool,
    pub reasons: Reasons,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LegacyChangePlan {
    pub jobs: Vec<LegacyJob>,
    pub notices: Vec<String>,
}

pub fn plan(repo: &LegacyRepo, changes: &Changes) -> Result<LegacyChangePlan, ConfigError> {
    let mut notices = changes.notices.clone();
    let mut jobs: Vec<LegacyJob> = repo
        .charts
        .iter()
        .map(|c| LegacyJob {
            chart: c.name.clone(),
            build: false,
            reasons: Reasons::default(),
        })
        .collect();
    if changes
        .labels
        .iter()
        .any(|l| l == LABEL_SKIP_DEPLOY || l == LABEL_SKIP_HUBS)
    {
        notices.push("a skip label is set: nothing will be deployed".into());
        return Ok(LegacyChangePlan {
            jobs: Vec::new(),
            notices,
        });
    }
    let (all_globs, ignore_globs) = repo.settings.plan.globs()?;
    let graph = ChartGraph::load(&repo.root, repo.charts.iter().map(|c| c.dir.clone()))?;
    let images_prefix = format!("{}/", repo.settings.images_dir);
    let secrets_prefix = format!("{}/", repo.settings.secrets_dir);

    for p in &changes.paths {
        if ignore_globs.is_match(p) {
            continue;
        }
        if all_globs.is_match(p) {
            for j in &mut jobs {
                j.reasons.add(Cause::LegacyFile("settings".into()), p);
            }
            continue;
        }
        let mut matched = false;
        for (chart, job) in repo.charts.iter().zip(jobs.iter_mut()) {
            if chart.image_dir.as_deref().is_some_and(|d| is_under(p, d)) {
                job.build = true;
                job.reasons.add(Cause::LegacyFile("user image".into()), p);
                matched = true;
            } else if is_under(p, &chart.dir) {
                job.reasons.add(Cause::LegacyFile("chart".into()), p);
                matched = true;
            } else if *p == chart.secrets_file {
                job.reasons.add(Cause::LegacyFile("secrets".into()), p);
                matched = true;
            } else if let Some(dep) = graph.chart_of(p)
                && dep != chart.dir
                && graph.users_of(dep).contains(&chart.dir)
            {
                let changed = dep.rsplit('/').next().unwrap_or(dep).to_string();
                let via = Some(chart.name.clone());
                job.reasons.add(Cause::Chart { changed, via }, p);
                matched = true;
            }
        }
        if !matched
            && (p.starts_with(&images_prefix)
                || p.starts_with(&secrets_prefix)
                || p.starts_with(&format!("{}/", repo.settings.charts_dir)))
        {
            notices.push(format!(
                "{p}: belongs to no chart of deploy.yaml ({})",
                repo.chart_names().join(", ")
            ));
        }
    }
    if changes.labels.iter().any(|l| l == LABEL_DEPLOY_HUBS) {
        for j in &mut jobs {
            j.reasons.add(Cause::Label(LABEL_DEPLOY_HUBS.into()), "");
        }
    }
    jobs.retain(|j| !j.reasons.is_empty());
    // Staging first (stable order otherwise): a failing staginghub stops the rest.
    jobs.sort_by_key(|j| !j.chart.contains("staging"));
    Ok(LegacyChangePlan { jobs, notices })
}
