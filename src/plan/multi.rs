//! `deploy plan` for the multi-cluster layout: from changed paths (and labels, and the base
//! version of changed cluster.yaml files) to support, staging and prod jobs, each with reasons.
//!
//! Only the cluster files a rule needs are parsed, and values files never are.

mod files;
mod fleet;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_yaml::Value;

pub use super::changes::{
    Changes, LABEL_DEPLOY_HUBS, LABEL_DEPLOY_SUPPORT, LABEL_SKIP_DEPLOY, LABEL_SKIP_HUBS,
};
use super::jobs::{Job, Kind};
use super::reasons::{Cause, Reasons};
use crate::config::ConfigErrors;
use crate::config::cluster::{CLUSTERS_DIR, Cluster, Provider};
use crate::config::multi::{HELM_CHARTS_DIR, MultiRepo};
use crate::config::paths::is_under;
use crate::config::tree::Presence;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupportJob {
    pub provider: Provider,
    pub cluster: String,
    pub reasons: Reasons,
    /// `--live`: what the check found (`changes: …`, `not installed yet`).
    pub live: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubJob {
    pub provider: Provider,
    pub cluster: String,
    pub hub: String,
    pub reasons: Reasons,
    /// `--live`: what the check found (`changes: …`, `not installed yet`).
    pub live: Option<String>,
}

/// `--live`: a planned job that was dropped, since its upgrade would change nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedJob {
    pub kind: Kind,
    pub provider: Provider,
    pub cluster: String,
    /// The hub, or `support`.
    pub release: String,
    /// Why it was planned.
    pub reasons: Reasons,
    /// Why it was dropped.
    pub why: String,
}

/// The plan: lists sorted by cluster, then hub.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub support: Vec<SupportJob>,
    pub staging: Vec<HubJob>,
    pub prod: Vec<HubJob>,
    pub notices: Vec<String>,
    /// Whether the jobs were checked against their clusters (`--live`).
    pub live: bool,
    /// `--live`: the jobs dropped, in plan order.
    pub dropped: Vec<DroppedJob>,
    /// Hubs removed from a cluster.yaml that changed (cluster, hub): `run --prune` uninstalls
    /// them.
    pub removed: Vec<(String, String)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.support.is_empty() && self.staging.is_empty() && self.prod.is_empty()
    }

    /// The jobs of the plan, in plan order: support, staging, prod.
    pub fn jobs(&self) -> Vec<Job> {
        let plan = self;
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
}

/// Accumulates jobs while rules fire.
#[derive(Default)]
struct Acc {
    support: BTreeMap<String, Reasons>,
    /// Hub jobs by cluster, then hub: the order of the plan's lists.
    hubs: BTreeMap<String, BTreeMap<String, Reasons>>,
    notices: Vec<String>,
    removed: Vec<(String, String)>,
}

impl Acc {
    fn notice(&mut self, n: String) {
        self.notices.push(n);
    }

    fn support(&mut self, c: &Cluster, cause: Cause, what: &str) {
        if c.has_support() {
            self.support
                .entry(c.name.clone())
                .or_default()
                .add(cause, what);
        }
    }

    fn hubs_of(&mut self, c: &Cluster) -> &mut BTreeMap<String, Reasons> {
        self.hubs.entry(c.name.clone()).or_default()
    }

    fn hub(&mut self, c: &Cluster, hub: &str, cause: Cause, what: &str) {
        self.hubs_of(c)
            .entry(hub.to_string())
            .or_default()
            .add(cause, what);
    }

    fn all_hubs(&mut self, c: &Cluster, cause: &Cause, what: &str) {
        let hubs = self.hubs_of(c);
        for h in &c.file.hubs {
            hubs.entry(h.name.clone())
                .or_default()
                .add(cause.clone(), what);
        }
    }
}

/// Compute the plan. Config errors in a cluster file the plan needs are fatal (exit 2). Every
/// file is read from `repo`'s tree: the work tree, or the `--head` revision.
pub fn plan(repo: &MultiRepo, changes: &Changes) -> Result<Plan, ConfigErrors> {
    let mut acc = Acc {
        notices: changes.notices.clone(),
        ..Acc::default()
    };
    if changes.has_label(LABEL_SKIP_DEPLOY) {
        acc.notice(format!(
            "label {LABEL_SKIP_DEPLOY}: nothing will be deployed"
        ));
        return Ok(finish(acc, &[]));
    }
    let tree = repo.tree();
    let (all_hubs_globs, ignore_globs) = repo
        .settings
        .plan
        .globs()
        .map_err(|e| ConfigErrors(vec![e]))?;

    // Sort the paths by rule; decide which clusters must be parsed.
    let mut all_hub_paths = Vec::new();
    // a cluster folder's changed files, and whether each is gone (no file there)
    let mut cluster_paths: BTreeMap<&str, Vec<(&str, bool)>> = BTreeMap::new();
    let mut cluster_yamls: Vec<&str> = Vec::new();
    let mut chart_paths = Vec::new();
    let mut other_yamls = Vec::new();
    let considered: Vec<&str> = changes
        .paths
        .iter()
        .map(String::as_str)
        .filter(|p| !ignore_globs.is_match(p))
        .collect();
    for (p, presence) in considered.iter().copied().zip(tree.presences(&considered)) {
        // A deleted file is a change (it exists at the base); a path that exists nowhere is not.
        if presence == Presence::Absent && !changes.deleted.contains(p) {
            acc.notice(files::nowhere(repo, changes, p));
            continue;
        }
        if all_hubs_globs.is_match(p) {
            all_hub_paths.push(p);
        } else if let Some(rest) = p
            .strip_prefix(CLUSTERS_DIR)
            .and_then(|r| r.strip_prefix('/'))
        {
            match rest.split_once('/') {
                Some((c, "cluster.yaml")) => cluster_yamls.push(c),
                Some((c, _)) => cluster_paths
                    .entry(c)
                    .or_default()
                    .push((p, presence != Presence::File)),
                None => {}
            }
        } else if is_under(p, HELM_CHARTS_DIR) {
            chart_paths.push(p);
        } else if p.ends_with(".yaml") || p.ends_with(".yml") {
            // perhaps a hub's root-relative chart_override (2i2c's `a/b.yaml` form)
            other_yamls.push(p);
        }
    }
    let deploy_support = changes.has_label(LABEL_DEPLOY_SUPPORT);
    let deploy_hubs = changes.has_label(LABEL_DEPLOY_HUBS);
    let need_all = deploy_support
        || deploy_hubs
        || !all_hub_paths.is_empty()
        || !chart_paths.is_empty()
        || !other_yamls.is_empty();
    let wanted: Vec<String> = if need_all {
        repo.cluster_names.clone()
    } else {
        let mut w: BTreeSet<&str> = cluster_paths.keys().copied().collect();
        w.extend(cluster_yamls.iter().copied());
        w.into_iter()
            .filter(|c| repo.has_cluster(c))
            .map(String::from)
            .collect()
    };
    // the chart graph is read first (the rules below need it), and its error reported only
    // after the clusters' own, as ever
    let graph = (!chart_paths.is_empty()).then(|| repo.charts());
    let skip_hubs = changes.has_label(LABEL_SKIP_HUBS);
    let fleet = fleet::FleetRules::new(
        &chart_paths,
        graph.as_ref().and_then(|g| g.as_ref().ok()),
        all_hub_paths,
        deploy_support,
        deploy_hubs && !skip_hubs,
    );
    if changes.base.is_some() {
        // compared with the base below: kept as read, not let go once parsed
        let changed: Vec<&str> = cluster_yamls
            .iter()
            .copied()
            .filter(|c| repo.has_cluster(c))
            .collect();
        repo.keep_cluster_texts(&changed);
    }
    let loaded = repo.load_clusters_with(&wanted, |c| fleet.apply(c))?;
    if let Some(Err(e)) = graph {
        return Err(ConfigErrors(vec![e]));
    }
    let mut clusters = Vec::with_capacity(loaded.len());
    for (c, jobs) in loaded {
        // each holds its own cluster's jobs only
        acc.support.extend(jobs.support);
        acc.hubs.extend(jobs.hubs);
        clusters.push(c);
    }
    let by_name: BTreeMap<&str, &Cluster> =
        clusters.iter().map(|c| (c.name.as_str(), &**c)).collect();

    // A cluster's own files: support and hub values files (and hub override files).
    for (c, paths) in &cluster_paths {
        let Some(cluster) = by_name.get(c) else {
            // A folder without its own cluster.yaml (2i2c's templates/) is not a cluster; the
            // files of a removed cluster are covered by the notice about its removal; a file of
            // a folder that is gone and never was a cluster is worth a word.
            if !tree.is_dir(&format!("{CLUSTERS_DIR}/{c}")) && !cluster_yamls.contains(c) {
                for (p, _) in paths {
                    acc.notice(format!(
                        "{p}: there is no cluster `{c}` ({CLUSTERS_DIR}/{c}/cluster.yaml does not exist)"
                    ));
                }
            }
            continue;
        };
        for &(p, gone) in paths {
            files::cluster_file_rule(cluster, p, gone, &mut acc);
        }
    }

    for p in &other_yamls {
        files::chart_override_rule(&clusters, p, &mut acc);
    }

    for c in &cluster_yamls {
        cluster_yaml_rule(repo, changes, c, by_name.get(c).copied(), &mut acc);
    }

    if skip_hubs {
        let skipped: usize = acc.hubs.values().map(BTreeMap::len).sum();
        if skipped > 0 {
            acc.notices.push(format!(
                "label {LABEL_SKIP_HUBS}: {skipped} hub upgrade(s) not planned"
            ));
        }
        acc.hubs.clear();
    }
    Ok(finish(acc, &clusters))
}

/// cluster.yaml changed: with a base version, redeploy only what the difference touches.
fn cluster_yaml_rule(
    repo: &MultiRepo,
    changes: &Changes,
    c: &str,
    cluster: Option<&Cluster>,
    acc: &mut Acc,
) {
    let path = Cluster::yaml_path(c);
    let Some(cluster) = cluster else {
        acc.notice(format!(
            "{path}: cluster `{c}` was removed; nothing is deployed for it"
        ));
        return;
    };
    let parse = |text: &str| crate::config::yaml::from_str::<Value>(&path, text).ok();
    let pair = match changes.base.as_ref().map(|b| b.get(c).cloned().flatten()) {
        None => Err("no base to diff against"),
        Some(None) => Err("new cluster"),
        Some(Some(Err(_))) => Err("the base version cannot be read"),
        Some(Some(Ok(old))) => {
            // the new version is the one the cluster was loaded from (the same tree, read once)
            let new = repo.cluster_text(c).ok();
            match (parse(&old), new.as_deref().and_then(parse)) {
                (Some(o), Some(n)) => Ok((o, n)),
                _ => Err("the base version does not parse"),
            }
        }
    };
    let (old, new) = match pair {
        Err(why) => {
            acc.support(cluster, Cause::ClusterYaml(why.into()), &path);
            acc.all_hubs(cluster, &Cause::ClusterYaml(why.into()), &path);
            return;
        }
        Ok(pair) => pair,
    };
    let d = super::cluster_diff::diff(&old, &new);
    if !d.cluster_keys.is_empty() {
        let what = format!("{} changed", d.cluster_keys.join(", "));
        acc.support(cluster, Cause::ClusterYaml(what.clone()), &path);
        acc.all_hubs(cluster, &Cause::ClusterYaml(what), &path);
    }
    for name in &d.added {
        let why = Cause::ClusterYaml(format!("hub {name} added"));
        acc.hub(cluster, name, why, &path);
    }
    for name in &d.changed {
        let why = Cause::ClusterYaml(format!("hub {name} entry changed"));
        acc.hub(cluster, name, why, &path);
    }
    for name in &d.removed {
        acc.removed.push((cluster.name.clone(), name.clone()));
        acc.notice(format!(
            "{path}: hub {name} was removed; it is not deployed (if it still runs: \
             `deploy uninstall {} {name}`, or `deploy run --prune`)",
            cluster.name
        ));
    }
}

/// Each notice once, in the order first given.
fn unique(notices: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    notices
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// Split hub jobs into staging and prod, add staging canaries, sort.
fn finish(acc: Acc, clusters: &[Arc<Cluster>]) -> Plan {
    let by_name: BTreeMap<&str, &Cluster> =
        clusters.iter().map(|c| (c.name.as_str(), &**c)).collect();
    let provider = |c: &str| by_name.get(c).map_or(Provider::Gcp, |c| c.provider());
    let jobs: usize = acc.hubs.values().map(BTreeMap::len).sum();
    let (mut staging, mut prod) = (Vec::new(), Vec::with_capacity(jobs));
    // clusters, and each cluster's hubs, come in order: so do the lists built from them
    for (cluster, hubs) in acc.hubs {
        let provider = provider(&cluster);
        let job = |hub, reasons| HubJob {
            provider,
            cluster: cluster.clone(),
            hub,
            reasons,
            live: None,
        };
        let is_staging = |h: &str| crate::config::cluster::is_staging_name(h);
        let own_staging = hubs.keys().any(|h| is_staging(h));
        let prod_hubs: Vec<&str> = hubs
            .keys()
            .filter(|h| !is_staging(h))
            .map(String::as_str)
            .collect();
        // A cluster with prod jobs but no staging job gets all its staging hubs, as canaries.
        if let Some(c) = by_name.get(cluster.as_str())
            && !own_staging
            && !prod_hubs.is_empty()
        {
            let mut canaries: BTreeMap<String, Reasons> = BTreeMap::new();
            for hub in c.file.hubs.iter().filter(|h| h.is_staging()) {
                let r = canaries.entry(hub.name.clone()).or_default();
                for p in &prod_hubs {
                    r.add(Cause::Canary, *p);
                }
            }
            staging.extend(canaries.into_iter().map(|(h, r)| job(h, r)));
        }
        for (hub, reasons) in hubs {
            if is_staging(&hub) {
                staging.push(job(hub, reasons));
            } else {
                prod.push(job(hub, reasons));
            }
        }
    }
    Plan {
        support: acc
            .support
            .into_iter()
            .map(|(cluster, reasons)| SupportJob {
                provider: provider(&cluster),
                cluster,
                reasons,
                live: None,
            })
            .collect(),
        staging,
        prod,
        notices: unique(acc.notices),
        live: false,
        dropped: Vec::new(),
        removed: {
            let mut r = acc.removed;
            r.sort();
            r.dedup();
            r
        },
    }
}
