//! `deploy validate`: every config file the tool reads, checked before anything runs, with all
//! problems reported at once as `path:line:column: field: message`.
//!
//! - deploy.yaml and every cluster.yaml against the JSON Schemas in `schemas/` (YAML);
//! - each release's merged values against its chart's `values.schema.yaml`, when it has one;
//! - cross-file rules (files exist and stay inside their cluster folder, names, charts, domains).
//!
//! Nothing here starts a process: decrypting sops files is a callback the caller provides.

mod cross_file;
pub mod locate;
pub mod schema;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value as Json;

use crate::config::ConfigError;
use crate::config::cluster::Cluster;
use crate::config::deploy_yaml::DEPLOY_YAML;
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::config::paths;
use crate::config::secret_files::is_sops_encrypted;
use locate::Locations;

/// What validation found: problems (exit 2) and notices (things not checked, and why).
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<ConfigError>,
    pub notices: Vec<String>,
}

/// Why an encrypted file's content was not checked.
#[derive(Debug)]
pub enum Undecrypted {
    /// It could not be decrypted here (no sops, no key, a dry run): a notice.
    Skipped(String),
    /// sops printed something that is not a valid document: a problem.
    Invalid(ConfigError),
}

/// Decrypts a sops file (repo-relative path), or says why it did not.
pub type Decrypt<'a> = &'a dyn Fn(&str) -> Result<String, Undecrypted>;

/// A release whose values to check: cluster, release name, chart folder, values files in order.
#[derive(Clone, Debug)]
pub struct ValuesCheck {
    /// The cluster folder the values files must stay in (none in the legacy layout).
    pub dir: Option<String>,
    pub cluster: String,
    pub release: String,
    pub chart: String,
    pub values: Vec<String>,
}

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
    decrypt: Decrypt<'_>,
) -> (Findings, Vec<Cluster>) {
    let mut f = Findings::default();
    let root = &repo.root;
    check_deploy_yaml(root, repo.settings_error.clone(), &mut f);
    f.problems.extend(repo.folder_problems.iter().cloned());
    let mut clusters = Vec::new();
    for name in &repo.cluster_names {
        let path = Cluster::yaml_path(name);
        let Ok(text) = repo.cluster_text(name) else {
            continue;
        };
        let before = f.problems.len();
        schema::check(&schema::CLUSTER, &path, &text, &mut f.problems);
        match repo.load_cluster(name) {
            Ok(c) => clusters.push((c, text)),
            // The schema said it already; otherwise it is a rule the schema cannot express
            // (the name must equal the folder), or the loader and the schema disagree.
            Err(e) if f.problems.len() == before => f.problems.push(e),
            Err(_) => {}
        }
    }
    let mut domains: BTreeMap<String, String> = BTreeMap::new();
    for (c, text) in &clusters {
        cross_file::check(repo, c, text, &mut domains, &mut f.problems);
    }
    let all;
    let releases = match releases {
        Some(r) => r,
        None => {
            all = every_release(repo, clusters.iter().map(|(c, _)| c));
            &all
        }
    };
    let mut charts = Charts::new();
    for r in releases {
        values(root, r, decrypt, &mut charts, &mut f);
    }
    (f, clusters.into_iter().map(|(c, _)| c).collect())
}

/// Support and every hub of each cluster, resolved as a run resolves them.
pub fn every_release<'a>(
    repo: &MultiRepo,
    clusters: impl Iterator<Item = &'a Cluster>,
) -> Vec<ValuesCheck> {
    use crate::plan::release::{self, Options, Target};
    let kind_of = |path: &str| repo.text(path).map(|t| release::kind_of_text(&t));
    let mut out = Vec::new();
    for c in clusters {
        let mut targets = Vec::new();
        if c.has_support() {
            targets.push(Target::Support { cluster: c });
        }
        targets.extend(c.file.hubs.iter().map(|h| Target::Hub {
            cluster: c,
            hub: &h.name,
        }));
        for t in targets {
            if let Ok(spec) = release::resolve(t, &Options::default(), &kind_of) {
                out.push(ValuesCheck::of(c, &spec));
            }
        }
    }
    out
}

/// The values checks of a run plan's releases.
pub fn checks_of(plan: &crate::plan::run_plan::RunPlan) -> Vec<ValuesCheck> {
    plan.clusters
        .iter()
        .flat_map(|c| {
            c.steps.iter().map(|s| ValuesCheck {
                dir: Some(c.dir.clone()),
                cluster: c.name.clone(),
                release: s.spec.release.clone(),
                chart: s.spec.chart.clone(),
                values: s.spec.value_paths(),
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
            release: spec.release.clone(),
            chart: spec.chart.clone(),
            values: spec.value_paths(),
        }
    }
}

/// The release's values files parse, and, merged as helm does (chart defaults, then each file in
/// order), match the chart's `values.schema.yaml` when it has one.
/// A chart's `values.schema.yaml`, compiled, and its `values.yaml`: read once per chart, however
/// many releases use it.
struct ChartSchema {
    file: String,
    /// `None` when the chart has no schema.
    validator: Option<Result<jsonschema::Validator, ConfigError>>,
    defaults: Json,
}

type Charts = HashMap<String, std::rc::Rc<ChartSchema>>;

fn chart_schema(root: &Path, charts: &mut Charts, chart: &str) -> std::rc::Rc<ChartSchema> {
    if let Some(c) = charts.get(chart) {
        return std::rc::Rc::clone(c);
    }
    let file = format!("{chart}/values.schema.yaml");
    let validator = read(root, &file).map(|t| schema::compile_yaml(&file, &t));
    let defaults = read(root, &format!("{chart}/values.yaml"))
        .and_then(|t| crate::config::yaml::from_str::<Json>("values.yaml", &t).ok())
        .filter(Json::is_object)
        .unwrap_or_else(|| Json::Object(Default::default()));
    let c = std::rc::Rc::new(ChartSchema {
        file,
        validator,
        defaults,
    });
    charts.insert(chart.to_string(), std::rc::Rc::clone(&c));
    c
}

fn values(
    root: &Path,
    r: &ValuesCheck,
    decrypt: Decrypt<'_>,
    charts: &mut Charts,
    f: &mut Findings,
) {
    let chart = chart_schema(root, charts, &r.chart);
    let schema_file = chart.file.clone();
    let has_schema = chart.validator.is_some();
    // (file, text, parsed, whether it holds secrets)
    let mut docs: Vec<(String, String, Json, bool)> = Vec::new();
    let mut complete = true;
    for file in &r.values {
        // a file outside its cluster folder (or a symlink out of it) is a cross-file problem
        // already: its content is not ours to judge
        if let Some(dir) = &r.dir {
            let inside = root
                .join(dir)
                .canonicalize()
                .ok()
                .zip(root.join(file).canonicalize().ok());
            if !paths::is_under(file, dir) || !inside.is_some_and(|(d, f)| f.starts_with(d)) {
                complete = false;
                continue;
            }
        }
        let mut text = match crate::config::files::read_text(&root.join(file)) {
            Ok(t) => t,
            Err(crate::config::files::ReadError::Missing) => continue, // a cross-file problem
            Err(e) => {
                f.problems
                    .push(ConfigError::new(file.clone(), e.to_string()));
                complete = false;
                continue;
            }
        };
        let secret = is_sops_encrypted(&text) || crate::config::secret_files::is_secret_name(file);
        if is_sops_encrypted(&text) {
            if !has_schema {
                continue; // nothing to check the content against
            }
            match decrypt(file) {
                Ok(plain) => text = plain,
                Err(Undecrypted::Invalid(e)) => {
                    f.problems.push(e);
                    complete = false;
                    continue;
                }
                Err(Undecrypted::Skipped(why)) => {
                    f.notices.push(format!(
                        "{}/{}: {file} not checked against {schema_file}: {why}",
                        r.cluster, r.release
                    ));
                    complete = false;
                    continue;
                }
            }
        }
        match crate::config::yaml::check_values_doc(file, &text, secret) {
            Ok(v) => docs.push((file.clone(), text, v, secret)),
            Err(e) => {
                f.problems.push(e);
                complete = false;
            }
        }
    }
    // Without every file the merged values are not what helm gets: the notice says so.
    let (Some(validator), true) = (&chart.validator, complete) else {
        return;
    };
    let compiled = match validator {
        Ok(s) => s,
        Err(e) => {
            f.problems.push(e.clone());
            return;
        }
    };
    let mut merged = chart.defaults.clone();
    let over = crate::config::values::merge_values(docs.iter().map(|(_, _, v, _)| v.clone()));
    merged = crate::config::values::merge_values([merged, over]);
    for e in compiled.iter_errors(&merged) {
        let pointer = e.instance_path().to_string();
        // blame the last file that sets the value (or a parent of it)
        let blamed = docs.iter().rev().find_map(|(file, text, _, secret)| {
            let (p, at) = Locations::of(text).deepest(&pointer)?;
            (!p.is_empty()).then(|| (file.clone(), Some(at), *secret))
        });
        let (file, at, secret) = blamed.unwrap_or_else(|| {
            (
                r.values
                    .first()
                    .cloned()
                    .unwrap_or_else(|| Cluster::yaml_path(&r.cluster)),
                None,
                docs.iter().any(|d| d.3),
            )
        });
        // a message about a secret file never quotes its value: it names the field instead
        let message = if secret {
            schema::without_instance(&e)
        } else {
            e.to_string()
        };
        let field = if pointer.is_empty() {
            "(top level)".to_string()
        } else {
            crate::config::yaml::dotted(&pointer)
        };
        let mut err = ConfigError::new(
            file,
            format!(
                "{message} (release {}/{}, {schema_file})",
                r.cluster, r.release
            ),
        )
        .field(field);
        if let Some((l, c)) = at {
            err = err.at(l, c);
        }
        f.problems.push(err);
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
