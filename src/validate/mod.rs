//! `deploy validate`: every config file the tool reads, checked before anything runs, with all
//! problems reported at once as `path:line:column: field: message`.
//!
//! - deploy.yaml and every cluster.yaml against the JSON Schemas in `schemas/` (YAML);
//! - each release's merged values against its chart's `values.schema.yaml`, when it has one;
//! - cross-file rules (files exist and stay inside their cluster folder, names, charts, domains).
//!
//! Nothing here starts a process: decrypting sops files and rendering jsonnet are callbacks the
//! caller provides.

mod cross_file;
mod findings;
pub mod locate;
mod real_paths;
pub mod schema;
mod values;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::config::ConfigError;
use crate::config::cluster::Cluster;
use crate::config::deploy_yaml::DEPLOY_YAML;
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;

pub use findings::{
    Decrypt, Findings, Notice, Readers, Render, Undecrypted, ValuesCheck, log_notices,
};

fn read(root: &Path, rel: &str) -> Option<String> {
    crate::config::files::read_text(&root.join(rel)).ok()
}

/// deploy.yaml against its schema (when the file exists); `loader` is the typed loader's error,
/// reported when the schema finds nothing (a rule the schema cannot express).
pub fn check_deploy_yaml(root: &Path, loader: Option<ConfigError>, f: &mut Findings) {
    let before = f.problems.len();
    if let Some(text) = read(root, DEPLOY_YAML) {
        schema::check(&schema::DEPLOY, DEPLOY_YAML, &text, &mut f.problems);
    }
    match loader {
        // the loader says it better where both point at the same line (a bare-number timeout)
        Some(l) if l.line.is_some() && f.problems[before..].iter().any(|p| p.line == l.line) => {
            let line = l.line;
            let mut kept: Vec<ConfigError> = f
                .problems
                .drain(before..)
                .filter(|p| p.line != line)
                .collect();
            kept.push(l);
            f.problems.extend(kept);
        }
        Some(l) if f.problems.len() == before => f.problems.push(l),
        _ => {}
    }
}

/// The multi-cluster layout: every cluster file, the cross-file rules, and the values of
/// `releases` (every hub and support release when `None`).
pub fn multi(
    repo: &MultiRepo,
    releases: Option<&[ValuesCheck]>,
    readers: Readers<'_>,
) -> (Findings, Vec<Cluster>) {
    let mut f = Findings::default();
    let root = &repo.root;
    check_deploy_yaml(root, repo.settings_error.clone(), &mut f);
    f.problems.extend(repo.folder_problems.iter().cloned());
    // each cluster file against the schema and through the loader, a few at a time
    let threads = crate::parallel::cores();
    let checked = crate::parallel::map(threads, &repo.cluster_names, |name| {
        let path = Cluster::yaml_path(name);
        let mut problems = Vec::new();
        let Ok(text) = repo.cluster_text(name) else {
            return (problems, None);
        };
        // a well-formed file is parsed once for both; anything else is said as the loader says it
        let once = crate::config::yaml::plain_value(&text).and_then(|v| {
            let doc: serde_json::Value = serde_yaml::from_value(v.clone()).ok()?;
            let file = serde_yaml::from_value(v).ok()?;
            Some((doc, Cluster::from_file(name, file).ok()?))
        });
        if let Some((doc, cluster)) = once {
            schema::check_doc(&schema::CLUSTER, &path, &text, &doc, &mut problems);
            return (problems, Some((cluster, text)));
        }
        schema::check(&schema::CLUSTER, &path, &text, &mut problems);
        match repo.load_cluster(name) {
            Ok(c) => (problems, Some((Arc::unwrap_or_clone(c), text))),
            // The schema said it already; otherwise it is a rule the schema cannot express
            // (the name must equal the folder), or the loader and the schema disagree.
            Err(e) if problems.is_empty() => (vec![e], None),
            Err(_) => (problems, None),
        }
    });
    let mut clusters = Vec::new();
    for (problems, cluster) in checked {
        f.problems.extend(problems);
        clusters.extend(cluster);
    }
    let known = |rel: &str| repo.read_already(rel);
    let mut charts = values::Charts::new(root, &known);
    let mut domains: BTreeMap<String, String> = BTreeMap::new();
    for (c, text) in &clusters {
        cross_file::check(
            repo,
            c,
            text,
            &mut domains,
            &mut charts.paths,
            &mut f.problems,
        );
    }
    let all;
    let releases = match releases {
        Some(r) => r,
        None => {
            all = every_release(repo, clusters.iter().map(|(c, _)| c));
            &all
        }
    };
    // the encrypted files the checks will ask for, decrypted at once (several sops in parallel)
    let mut encrypted: Vec<String> = releases
        .iter()
        .flat_map(|r| values::to_decrypt(root, r, &mut charts))
        .collect();
    encrypted.sort_unstable();
    encrypted.dedup();
    (readers.prefetch)(&encrypted);
    // (every release's charts were read above: the threads share them)
    let shared = charts.charts_read();
    drop(charts);
    // the releases in contiguous parts, one per core, each with its own caches; the parts'
    // findings joined in order are the findings of checking them one after another
    let part = releases.len().div_ceil(threads).max(1);
    let parts: Vec<&[ValuesCheck]> = releases.chunks(part).collect();
    for found in crate::parallel::map(threads, &parts, |part| {
        let mut charts = values::Charts::from_shared(root, &shared, &known);
        let mut found = Findings::default();
        for r in *part {
            values::check(root, r, readers, &mut charts, &mut found);
        }
        found
    }) {
        f.problems.extend(found.problems);
        f.notices.extend(found.notices);
    }
    (f, clusters.into_iter().map(|(c, _)| c).collect())
}

/// Support and every hub of each cluster, resolved as a run resolves them.
pub fn every_release<'a>(
    repo: &MultiRepo,
    clusters: impl Iterator<Item = &'a Cluster>,
) -> Vec<ValuesCheck> {
    use crate::plan::release::{self, Options, Sources, Target};
    // one cluster after another on every core (resolving reads each values file, to tell the
    // encrypted ones: thousands of small reads), in the clusters' order
    let clusters: Vec<&Cluster> = clusters.collect();
    let threads = crate::parallel::cores();
    crate::parallel::map(threads, &clusters, |c| {
        let read = |path: &str| repo.text(path);
        let src = Sources {
            read: &read,
            support: &repo.settings.support,
            health: &repo.settings.health_check,
        };
        let mut targets = Vec::new();
        if c.has_support() {
            targets.push(Target::Support { cluster: c });
        }
        targets.extend(c.file.hubs.iter().map(|h| Target::Hub {
            cluster: c,
            hub: &h.name,
        }));
        targets
            .into_iter()
            .filter_map(|t| release::resolve(t, &Options::default(), &src).ok())
            .map(|spec| ValuesCheck::of(c, &spec))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The values checks of a run plan's releases.
pub fn checks_of(plan: &crate::plan::run_plan::RunPlan) -> Vec<ValuesCheck> {
    plan.clusters
        .iter()
        .flat_map(|c| {
            c.steps.iter().map(|s| ValuesCheck {
                dir: Some(c.dir.clone()),
                cluster: c.name.clone(),
                spec: s.spec.clone(),
            })
        })
        .collect()
}

impl ValuesCheck {
    /// The check of a release of `cluster`.
    pub fn of(cluster: &Cluster, spec: &crate::plan::release::ReleaseSpec) -> ValuesCheck {
        ValuesCheck {
            dir: Some(cluster.dir.clone()),
            cluster: cluster.name.clone(),
            spec: spec.clone(),
        }
    }
}

/// The legacy layout: deploy.yaml, each chart's secrets file, Dockerfiles.
pub fn legacy(repo: &LegacyRepo) -> Findings {
    let mut f = Findings::default();
    check_deploy_yaml(&repo.root, None, &mut f);
    let s = &repo.settings;
    let secret_settings = [
        s.gcloud
            .as_ref()
            .map(|g| ("gcloud.key_file", g.key_file.as_str())),
        s.docker
            .as_ref()
            .map(|d| ("docker.password_file", d.password_file.as_str())),
    ];
    for (field, file) in secret_settings.into_iter().flatten() {
        if let Err(m) = crate::config::files::check_inside(&repo.root, file) {
            f.problems.push(
                ConfigError::new(DEPLOY_YAML, format!("{file} {m}")).field(field.to_string()),
            );
        }
    }
    for c in &repo.charts {
        if !repo.root.join(&c.secrets_file).exists() {
            f.problems.push(ConfigError::new(
                c.secrets_file.clone(),
                format!(
                    "missing: chart {} is deployed with `-f {}`",
                    c.name, c.secrets_file
                ),
            ));
        } else if let Err(e) =
            crate::config::legacy::check_secrets_file(&repo.root, &c.secrets_file)
        {
            f.problems.push(e);
        }
        if let Some(dir) = &c.image_dir
            && !repo.root.join(dir).join("Dockerfile").is_file()
        {
            f.problems.push(ConfigError::new(
                dir.clone(),
                format!(
                    "has no Dockerfile (chart {} has a user image folder)",
                    c.name
                ),
            ));
        }
    }
    f
}
