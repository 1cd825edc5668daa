//! Shell completion of names from the repo: clusters, hubs and legacy charts, found from the
//! current folder as a run finds its repo. A repo that cannot be read completes nothing.

use clap_complete::engine::CompletionCandidate;

use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;

fn repo_root() -> Option<std::path::PathBuf> {
    crate::config::root::find_root(std::path::Path::new("."))
}

fn multi() -> Option<MultiRepo> {
    let root = repo_root()?;
    MultiRepo::detect(&root)
        .then(|| MultiRepo::load(&root).ok())
        .flatten()
}

/// The cluster folders of config/clusters/.
pub fn clusters() -> Vec<CompletionCandidate> {
    multi()
        .map(|r| {
            r.cluster_names
                .iter()
                .map(CompletionCandidate::new)
                .collect()
        })
        .unwrap_or_default()
}

/// Every hub of every cluster, each with its cluster as help (the shell has not told us which
/// cluster the line names).
pub fn hubs() -> Vec<CompletionCandidate> {
    let Some(repo) = multi() else {
        return Vec::new();
    };
    let Ok(clusters) = repo.load_clusters(&repo.cluster_names) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = clusters
        .iter()
        .flat_map(|c| c.file.hubs.iter().map(|h| (h.name.clone(), c.name.clone())))
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out.into_iter()
        .map(|(hub, cluster)| CompletionCandidate::new(hub).help(Some(cluster.into())))
        .collect()
}

/// The legacy layout's charts.
pub fn charts() -> Vec<CompletionCandidate> {
    repo_root()
        .and_then(|root| LegacyRepo::load(&root).ok())
        .map(|r| {
            r.chart_names()
                .into_iter()
                .map(CompletionCandidate::new)
                .collect()
        })
        .unwrap_or_default()
}
