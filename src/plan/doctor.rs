//! `deploy doctor`, as data: what a run needs on this machine and how an answer is judged.
//!
//! What is needed comes from the repo: in the multi-cluster layout, from the run plan of every
//! release (support and every hub of every cluster), so the programs are exactly those a run
//! starts (`RunPlan::programs`, plus git for `--base`) and the credentials files those it reads;
//! in the legacy layout, from what `deploy <chart> --build --push --deploy` starts for each chart
//! and the files its setup reads. Each program comes with the command that asks its version (a
//! local query built in `tools`) and the rule that answer must meet. `execute::doctor` runs the
//! probes and looks at the files; [`judge`] turns each answer into a [`Check`].

use super::legacy::{self as legacy_plan, Request};
use super::release::ValuesKind;
use super::run_plan::{Access, RunPlan};
use crate::config::legacy::LegacyRepo;
use crate::tools;

mod check;

pub use check::{
    Answer, Check, HELM_MIN, ProgramNeed, Rule, Status, Version, first_version, install_hint,
    judge, version_in,
};

/// A credentials file a run reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileNeed {
    /// Repo-relative.
    pub path: String,
    pub needed_for: String,
    /// How to get it (never its content).
    pub install: String,
}

/// Everything a run needs from this machine.
#[derive(Clone, Debug, Default)]
pub struct Needs {
    /// By program name.
    pub programs: Vec<ProgramNeed>,
    /// In cluster (or deploy.yaml) order.
    pub files: Vec<FileNeed>,
}

/// A program's need: its probe and rule.
pub fn program_need(program: &str, needed_for: String) -> ProgramNeed {
    let (probe, rule) = match program {
        "helm" => (tools::helm::version(), Rule::Helm),
        "jsonnet" => (tools::jsonnet::version(), Rule::GoJsonnet),
        "kubectl" => (tools::kubectl::client_version(), Rule::Any),
        "sops" => (tools::sops::version(), Rule::Any),
        "gcloud" => (tools::gcloud::version(), Rule::Any),
        "aws" => (tools::cloud::aws_version(), Rule::Any),
        "az" => (tools::cloud::az_version(), Rule::Any),
        "docker" => (tools::docker::version(), Rule::Any),
        "curl" => (tools::curl::version(), Rule::Any),
        _ => (tools::git::version(), Rule::Any),
    };
    ProgramNeed {
        program: program.to_string(),
        probe,
        rule,
        needed_for,
    }
}

/// `a, b, c`, or `a, b, c and 4 more`.
fn some_names(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    if names.len() <= SHOWN + 1 {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..SHOWN].join(", "),
        names.len() - SHOWN
    )
}

/// `1 release`, `3 releases`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

const HELM_VERSIONS: &str = "helm 3, 3.13 or newer (--labels on each upgrade, --live)";
/// The legacy run has no `--live`.
const HELM_VERSIONS_LEGACY: &str = "helm 3, 3.13 or newer (--labels on each upgrade)";

/// What a multi-cluster run of `plan` (every release) needs.
pub fn multi(plan: &RunPlan) -> Needs {
    let clusters_by = |tool: &str| -> Vec<&str> {
        plan.clusters
            .iter()
            .filter(|c| match &c.access {
                Access::Gcp { .. } => tool == "gcloud",
                Access::Aws { .. } => tool == "aws",
                Access::Azure { .. } => tool == "az",
                Access::Kubeconfig { .. } | Access::Flux(_) => false,
            })
            .map(|c| c.name.as_str())
            .collect()
    };
    let flux: Vec<&str> = plan
        .clusters
        .iter()
        .filter(|c| matches!(c.access, Access::Flux(_)))
        .map(|c| c.name.as_str())
        .collect();
    let with_helm = plan
        .clusters
        .iter()
        .filter(|c| !matches!(c.access, Access::Flux(_)))
        .map(|c| c.steps.len())
        .sum::<usize>();
    let steps = || plan.clusters.iter().flat_map(|c| &c.steps);
    let mut encrypted: Vec<&str> = plan
        .clusters
        .iter()
        .filter_map(|c| key_of(&c.access))
        .filter(|(_, k)| k.kind == ValuesKind::Encrypted)
        .map(|(_, k)| k.path.as_str())
        .chain(steps().flat_map(|s| {
            s.spec
                .values
                .iter()
                .filter(|v| v.kind == ValuesKind::Encrypted)
                .map(|v| v.path.as_str())
                .chain(s.spec.domain_override.as_deref())
        }))
        .collect();
    encrypted.sort_unstable();
    encrypted.dedup();
    let jsonnet = steps().filter(|s| s.spec.has_jsonnet()).count();

    let mut programs: Vec<&str> = plan.programs.iter().map(String::as_str).collect();
    programs.push("git");
    programs.sort_unstable();
    programs.dedup();
    let needs = programs.into_iter().map(|p| {
        let why = match p {
            "helm" => format!("upgrading {}; {HELM_VERSIONS}", count(with_helm, "release")),
            "kubectl" => format!(
                "leases and rollout waits of {}",
                count(with_helm, "release")
            ),
            "gcloud" | "aws" | "az" => {
                let names = clusters_by(p);
                format!(
                    "the credentials of {}: {}",
                    count(names.len(), "cluster"),
                    some_names(&names)
                )
            }
            "curl" => format!(
                "the HTTPS health checks of {}",
                count(
                    plan.steps()
                        .iter()
                        .filter(|s| s.spec.health.is_some())
                        .count(),
                    "hub"
                )
            ),
            "sops" => format!(
                "decrypting {}",
                count(encrypted.len(), "sops-encrypted file")
            ),
            "jsonnet" => format!(
                "rendering the jsonnet values of {}; the Go implementation",
                count(jsonnet, "release")
            ),
            _ if flux.is_empty() => "the changed files of `plan`/`run --base`".to_string(),
            _ => format!(
                "the changed files of `plan`/`run --base`; pushing the HelmReleases of Flux-run \
                 clusters: {}",
                some_names(&flux)
            ),
        };
        program_need(p, why)
    });
    let files = plan
        .clusters
        .iter()
        .filter_map(|c| key_of(&c.access).map(|(field, k)| (c, field, k)))
        .map(|(c, field, k)| {
            let sops = if k.kind == ValuesKind::Encrypted {
                ", sops-encrypted"
            } else {
                ""
            };
            FileNeed {
                path: k.path.clone(),
                needed_for: format!("the credentials of cluster {} ({field}{sops})", c.name),
                install: format!(
                    "the file `{field}` in {}/cluster.yaml names: check it out, or get it from \
                     the cluster's admins",
                    c.dir
                ),
            }
        })
        .collect();
    Needs {
        programs: needs.collect(),
        files,
    }
}

/// A cluster's credentials file and the cluster.yaml field naming it (none for Flux).
fn key_of(a: &Access) -> Option<(&'static str, &super::run_plan::KeyFile)> {
    match a {
        Access::Gcp { key, .. } => Some(("gcp.key", key)),
        Access::Aws { key, .. } => Some(("aws.key", key)),
        Access::Azure { key, .. } => Some(("azure.key", key)),
        Access::Kubeconfig { file } => Some(("kubeconfig.file", file)),
        Access::Flux(_) => None,
    }
}

/// What `deploy <chart> --build --push --deploy` needs, for every chart of the repo.
pub fn legacy(repo: &LegacyRepo) -> Needs {
    let mut programs: Vec<&str> = repo
        .charts
        .iter()
        .flat_map(|chart| {
            let req = Request {
                chart: chart.name.clone(),
                setup: true,
                build: true,
                push: true,
                deploy: true,
                rebuild: false,
                force: false,
                force_recover: false,
                timeout: None,
                lock_timeout: std::time::Duration::ZERO,
            };
            legacy_plan::programs(repo, &req, chart)
        })
        .collect();
    // setup needs gcloud (and docker, to log in) even in a repo without charts
    programs.push("gcloud");
    if repo.settings.docker.is_some() {
        programs.push("docker");
    }
    programs.sort_unstable();
    programs.dedup();
    let needs = programs.into_iter().map(|p| {
        let why = match p {
            "git" => "the image tag (--build, --deploy of a chart with a user image)".to_string(),
            "gcloud" => "setup (cluster credentials)".to_string(),
            "docker" => "setup (docker login), --build, --push, the image check of --deploy".into(),
            "helm" => format!("--deploy; {HELM_VERSIONS_LEGACY}"),
            _ => "--deploy (leases, rollout status)".to_string(),
        };
        program_need(p, why)
    });
    let s = &repo.settings;
    let files = [
        s.gcloud.as_ref().map(|g| {
            (
                g.key_file.clone(),
                "setup: gcloud auth activate-service-account",
                "gcloud.key_file",
            )
        }),
        s.docker.as_ref().map(|d| {
            (
                d.password_file.clone(),
                "setup: docker login",
                "docker.password_file",
            )
        }),
    ]
    .into_iter()
    .flatten()
    .map(|(path, why, field)| FileNeed {
        path,
        needed_for: format!("{why} (deploy.yaml {field})"),
        install: format!(
            "the file `{field}` in deploy.yaml names: check it out and `git-crypt unlock`, or \
             get it from the cluster's admins"
        ),
    })
    .collect();
    Needs {
        programs: needs.collect(),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_of_names_are_cut() {
        assert_eq!(some_names(&["a", "b"]), "a, b");
        assert_eq!(some_names(&["a", "b", "c", "d"]), "a, b, c, d");
        assert_eq!(some_names(&["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
    }
}
