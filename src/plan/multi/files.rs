//! The rules for single changed files: a cluster folder's files, a root-relative
//! `chart_override`, and the notice for a path that exists nowhere.

use std::sync::Arc;

use super::{Acc, CLUSTERS_DIR};
use crate::config::cluster::Cluster;
use crate::config::multi::MultiRepo;
use crate::plan::changes::Changes;
use crate::plan::reasons::Cause;

/// The notice for a changed path that exists nowhere: not where the config is read from (the
/// work tree, or the `--head` revision), and not at the base (git did not report it deleted).
pub(super) fn nowhere(repo: &MultiRepo, changes: &Changes, p: &str) -> String {
    let tree = repo.tree();
    let cluster = p
        .strip_prefix(CLUSTERS_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.split_once('/'))
        .map(|(c, _)| c);
    if let Some(c) = cluster
        && !tree.is_dir(&format!("{CLUSTERS_DIR}/{c}"))
    {
        return format!(
            "{p}: there is no cluster `{c}` ({CLUSTERS_DIR}/{c}/cluster.yaml does not exist)"
        );
    }
    match changes.base {
        Some(_) => format!(
            "{p}: neither in {} nor at the base, so nothing is planned for it",
            tree.describe()
        ),
        None => format!(
            "{p}: not in {}, so nothing is planned for it (a typo? to plan a deletion, use \
             --base: git knows what was deleted)",
            tree.describe()
        ),
    }
}

/// A changed file of `cluster`'s folder: the support release and the hubs that list it. A file
/// that was deleted (`gone`) plans nothing: when a release still lists it, its deploy would fail
/// (and `deploy validate` says so), which a notice tells; when none does, the cluster.yaml change
/// that dropped it is what counts.
pub(super) fn cluster_file_rule(cluster: &Cluster, p: &str, gone: bool, acc: &mut Acc) {
    let mut users = Vec::new();
    if cluster.support_files.iter().any(|f| f == p) {
        users.push("support".to_string());
        if !gone {
            acc.support(cluster, Cause::SupportFile, p);
        }
    }
    for (i, hub) in cluster.file.hubs.iter().enumerate() {
        // values files, then chart_override, then domain_override_file
        let extra = &cluster.hub_extra_files[i];
        let cause = if cluster.hub_lists_value(i, p) {
            Cause::HubFile
        } else if hub.chart_override.is_some() && extra.first().is_some_and(|f| f == p) {
            Cause::ChartOverride
        } else if extra.iter().any(|f| f == p) {
            Cause::DomainOverride
        } else {
            continue;
        };
        users.push(format!("hub {}", hub.name));
        if !gone {
            acc.hub(cluster, &hub.name, cause, p);
        }
    }
    if gone && !users.is_empty() {
        acc.notice(format!(
            "{p}: deleted, but {} still lists it ({}): a deploy of {} fails until the file is \
             restored or taken out of the list; the deletion alone plans nothing",
            Cluster::yaml_path(&cluster.name),
            users.join(", "),
            if users.len() == 1 { "it" } else { "them" }
        ));
    }
}

/// A file outside `config/clusters/` and `helm-charts/` that a hub names as its `chart_override`
/// (2i2c's root-relative form, `dir/file.yaml`): that hub.
pub(super) fn chart_override_rule(clusters: &[Arc<Cluster>], p: &str, acc: &mut Acc) {
    for cluster in clusters {
        for (i, hub) in cluster.file.hubs.iter().enumerate() {
            if hub.chart_override.is_some() && cluster.hub_files(i).any(|f| f == p) {
                acc.hub(cluster, &hub.name, Cause::ChartOverride, p);
            }
        }
    }
}
