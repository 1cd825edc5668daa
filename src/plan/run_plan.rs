//! The run plan: what `deploy run` (and `upgrade-*`, `plan --live`, `plan --format commands`)
//! will do, worked out once, as plain data, before anything runs. Per cluster: how to reach it
//! (credentials, or a Flux releases repository) and its releases in the order they run (support,
//! then staging hubs one at a time, then prod hubs in parallel), each fully resolved. `execute`
//! walks it; `validate` checks its values; tests snapshot it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::jobs::{Job, Kind};
use super::release::{self, Options, ReleaseSpec, Target, ValuesKind};
use crate::config::cluster::{Cluster, Provider};
use crate::config::multi::MultiRepo;
use crate::config::{ConfigError, ConfigErrors, UsageError, paths};

#[derive(Clone, Debug, Serialize)]
pub struct RunPlan {
    /// In cluster name order.
    pub clusters: Vec<ClusterPlan>,
    /// The programs the run starts, sorted (checked on PATH before anything runs).
    pub programs: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClusterPlan {
    pub name: String,
    /// `config/clusters/<name>`.
    pub dir: String,
    pub provider: Provider,
    pub access: Access,
    /// In the order they run: support, staging hubs, prod hubs.
    pub steps: Vec<Step>,
}

/// One release of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// Its position in the run's list of jobs (outcomes are reported in that order).
    pub index: usize,
    pub job: Job,
    pub spec: ReleaseSpec,
}

/// How a cluster is reached. Paths are repo-relative.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Access {
    /// `gcloud container clusters get-credentials`, as the service account in `key`.
    Gcp {
        key: KeyFile,
        project: String,
        cluster: String,
        /// A zone or a region.
        location: String,
    },
    /// `aws eks update-kubeconfig` with the access key in `key`.
    Aws {
        key: KeyFile,
        cluster: String,
        region: String,
    },
    /// `az login` as the service principal in `key`, then `az aks get-credentials`.
    Azure {
        key: KeyFile,
        resource_group: String,
        cluster: String,
    },
    /// A kubeconfig file (copied into a private folder).
    Kubeconfig { file: KeyFile },
    /// Flux applies this cluster's releases: they are written as HelmReleases to `repo`.
    Flux(FluxTarget),
}

/// A credentials file: its repo-relative path and whether it must be decrypted first.
#[derive(Clone, Debug, Serialize)]
pub struct KeyFile {
    pub path: String,
    pub kind: ValuesKind,
}

/// Where a Flux-run cluster's HelmReleases go.
#[derive(Clone, Debug, Serialize)]
pub struct FluxTarget {
    pub repo: String,
    pub branch: String,
    /// The folder in the releases repo (normalized, inside it).
    pub path: String,
    /// The Flux GitRepository serving this repo's charts.
    pub source: String,
    /// The cluster's staging hubs (prod HelmReleases depend on them).
    pub staging_hubs: Vec<String>,
    pub has_support: bool,
}

impl RunPlan {
    /// Every step, in job order.
    pub fn steps(&self) -> Vec<&Step> {
        let mut all: Vec<&Step> = self.clusters.iter().flat_map(|c| &c.steps).collect();
        all.sort_by_key(|s| s.index);
        all
    }

    /// How many jobs the plan was built from.
    pub fn len(&self) -> usize {
        self.clusters.iter().map(|c| c.steps.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Build the run plan of `jobs`. Unknown clusters are a usage error; a job that does not fit its
/// cluster.yaml (a hub that is not there, support without a `support:` block) a config error;
/// every problem is reported at once.
pub fn build(repo: &MultiRepo, jobs: &[Job], options: &Options) -> anyhow::Result<RunPlan> {
    let mut names: Vec<&str> = jobs.iter().map(|j| j.cluster.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let unknown: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !repo.has_cluster(n))
        .collect();
    if !unknown.is_empty() {
        return Err(UsageError(format!(
            "the plan names clusters that are not in config/clusters/: {}",
            unknown.join(", ")
        ))
        .into());
    }
    let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let clusters: BTreeMap<String, Arc<Cluster>> = repo
        .load_clusters(&owned)?
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    let read = |path: &str| repo.text(path);
    let src = release::Sources {
        read: &read,
        support: &repo.settings.support,
        health: &repo.settings.health_check,
    };
    let kind_of = |path: &str| repo.text(path).map(|t| release::kind_of_text(&t));
    let mut problems = Vec::new();
    let mut plans = Vec::new();
    for (name, cluster) in &clusters {
        let mut steps = Vec::new();
        for (index, job) in jobs.iter().enumerate().filter(|(_, j)| &j.cluster == name) {
            let target = match job.kind {
                Kind::Support => Target::Support { cluster },
                Kind::Staging | Kind::Prod => Target::Hub {
                    cluster,
                    hub: &job.release,
                },
            };
            match release::resolve(target, options, &src) {
                Ok(spec) => steps.push(Step {
                    index,
                    job: job.clone(),
                    spec,
                }),
                Err(_) if job.kind == Kind::Support => problems.push(ConfigError::new(
                    Cluster::yaml_path(name),
                    "the plan upgrades support, but there is no `support:` block",
                )),
                Err(_) => problems.push(ConfigError::new(
                    Cluster::yaml_path(name),
                    format!(
                        "the plan names hub `{}`, which is not in this file",
                        job.release
                    ),
                )),
            }
        }
        // support, then staging, then prod; within a kind, the jobs' order
        steps.sort_by_key(|s| (s.job.kind, s.index));
        plans.push(ClusterPlan {
            name: name.clone(),
            dir: cluster.dir.clone(),
            provider: cluster.provider(),
            access: access(cluster, &kind_of),
            steps,
        });
    }
    if !problems.is_empty() {
        return Err(ConfigErrors(problems).into());
    }
    let programs = programs(&plans);
    Ok(RunPlan {
        clusters: plans,
        programs,
    })
}

/// The run plan of no release of cluster `name`: how to reach it, and the programs that takes
/// (`deploy credentials`, `deploy uninstall`). An unknown cluster is a usage error.
pub fn cluster_only(repo: &MultiRepo, name: &str) -> anyhow::Result<RunPlan> {
    if !repo.has_cluster(name) {
        return Err(UsageError(format!(
            "no cluster `{name}` in config/clusters/ (there: {})",
            repo.cluster_names.join(", ")
        ))
        .into());
    }
    let cluster = repo.load_cluster(name)?;
    let kind_of = |path: &str| repo.text(path).map(|t| release::kind_of_text(&t));
    let plans = vec![ClusterPlan {
        name: cluster.name.clone(),
        dir: cluster.dir.clone(),
        provider: cluster.provider(),
        access: access(&cluster, &kind_of),
        steps: Vec::new(),
    }];
    let programs = programs(&plans);
    Ok(RunPlan {
        clusters: plans,
        programs,
    })
}

fn access(c: &Cluster, kind_of: &dyn Fn(&str) -> Option<ValuesKind>) -> Access {
    let f = &c.file;
    let key = |k: &str| {
        let path = paths::join(&c.dir, k).unwrap_or_else(|_| k.to_string());
        KeyFile {
            kind: kind_of(&path).unwrap_or(ValuesKind::Plain),
            path,
        }
    };
    if let Some(g) = &f.gitops {
        return Access::Flux(FluxTarget {
            repo: g.repo.clone(),
            branch: g.branch.clone().unwrap_or_else(|| "main".into()),
            path: paths::normalize(&g.path).unwrap_or_else(|_| g.path.clone()),
            source: g.source.clone().unwrap_or_else(|| "hub-ops".into()),
            staging_hubs: f
                .hubs
                .iter()
                .filter(|h| h.is_staging())
                .map(|h| h.name.clone())
                .collect(),
            has_support: c.has_support(),
        });
    }
    // the loader checked that the provider's block is there
    match (c.provider(), &f.gcp, &f.aws, &f.azure, &f.kubeconfig) {
        (Provider::Gcp, Some(g), ..) => Access::Gcp {
            key: key(&g.key),
            project: g.project.clone(),
            cluster: g.cluster.clone(),
            location: g.zone.clone(),
        },
        (Provider::Aws, _, Some(a), ..) => Access::Aws {
            key: key(&a.key),
            cluster: a.cluster_name.clone(),
            region: a.region.clone(),
        },
        (Provider::Azure, _, _, Some(z), _) => Access::Azure {
            key: key(&z.key),
            resource_group: z.resource_group.clone(),
            cluster: z.cluster.clone(),
        },
        (.., Some(k)) => Access::Kubeconfig { file: key(&k.file) },
        _ => Access::Kubeconfig {
            file: key("kubeconfig"),
        },
    }
}

/// helm and kubectl (unless every cluster is Flux-run), each provider's CLI (git for Flux), sops
/// when a file is encrypted.
fn programs(clusters: &[ClusterPlan]) -> Vec<String> {
    let mut p: Vec<&str> = Vec::new();
    let mut encrypted = false;
    for c in clusters {
        let (tool, key) = match &c.access {
            Access::Gcp { key, .. } => ("gcloud", Some(key)),
            Access::Aws { key, .. } => ("aws", Some(key)),
            Access::Azure { key, .. } => ("az", Some(key)),
            Access::Kubeconfig { file } => ("kubectl", Some(file)),
            Access::Flux(_) => ("git", None),
        };
        p.push(tool);
        if !matches!(c.access, Access::Flux(_)) {
            p.extend(["helm", "kubectl"]);
        }
        encrypted |= key.is_some_and(|k| k.kind == ValuesKind::Encrypted);
        encrypted |= c.steps.iter().any(|s| s.spec.has_encrypted());
        if c.steps.iter().any(|s| !s.spec.before.is_empty()) {
            p.push("helm");
        }
        if c.steps.iter().any(|s| s.spec.has_jsonnet()) {
            p.push(crate::jsonnet::PROGRAM);
        }
        let https = |s: &Step| {
            s.spec
                .health
                .as_ref()
                .is_some_and(|h| h.via == crate::config::health::Via::Https)
        };
        if !matches!(c.access, Access::Flux(_)) && c.steps.iter().any(https) {
            p.push("curl");
        }
    }
    if encrypted {
        p.push("sops");
    }
    p.sort_unstable();
    p.dedup();
    p.into_iter().map(String::from).collect()
}
