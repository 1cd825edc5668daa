//! `deploy validate`: every config file the tool reads, checked before anything runs, with all
//! problems reported at once as `path:line:column: field: message`.
//!
//! - deploy.yaml and every cluster.yaml against the JSON Schemas in `schemas/` (YAML);
//! - each release's merged values against its chart's `values.schema.yaml`, when it has one;
//! - cross-file rules (files exist and stay inside their cluster folder, names, charts, domains).
//!
//! Nothing here starts a process: decrypting sops files is a callback the caller provides.

pub mod locate;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value as Json;

use crate::config::ConfigError;
use crate::config::cluster::{CLUSTERS_DIR, Cluster};
use crate::config::legacy::{DEPLOY_YAML, LegacyRepo};
use crate::config::multi::{HELM_CHARTS_DIR, MultiRepo};
use crate::config::names::check_release_name;
use crate::config::paths;
use crate::execute::secrets::is_sops_encrypted;
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
        let Some(text) = read(root, &path) else {
            continue;
        };
        let before = f.problems.len();
        schema::check(&schema::CLUSTER, &path, &text, &mut f.problems);
        match Cluster::parse(name, &text) {
            Ok(c) => clusters.push((c, text)),
            // The schema said it already; otherwise it is a rule the schema cannot express
            // (the name must equal the folder), or the loader and the schema disagree.
            Err(e) if f.problems.len() == before => f.problems.push(e),
            Err(_) => {}
        }
    }
    let mut domains: BTreeMap<String, String> = BTreeMap::new();
    for (c, text) in &clusters {
        cross_file(repo, c, text, &mut domains, &mut f);
    }
    let all;
    let releases = match releases {
        Some(r) => r,
        None => {
            all = every_release(clusters.iter().map(|(c, _)| c));
            &all
        }
    };
    for r in releases {
        values(root, r, decrypt, &mut f);
    }
    (f, clusters.into_iter().map(|(c, _)| c).collect())
}

/// Support and every hub of each cluster.
pub fn every_release<'a>(clusters: impl Iterator<Item = &'a Cluster>) -> Vec<ValuesCheck> {
    let mut out = Vec::new();
    for c in clusters {
        if c.has_support() {
            out.push(ValuesCheck {
                dir: Some(c.dir.clone()),
                cluster: c.name.clone(),
                release: "support".into(),
                chart: format!("{HELM_CHARTS_DIR}/support"),
                values: c.support_files.clone(),
            });
        }
        for (h, v) in c.file.hubs.iter().zip(&c.hub_values) {
            out.push(ValuesCheck {
                dir: Some(c.dir.clone()),
                cluster: c.name.clone(),
                release: h.name.clone(),
                chart: format!("{HELM_CHARTS_DIR}/{}", h.helm_chart),
                values: v.clone(),
            });
        }
    }
    out
}

fn cross_file(
    repo: &MultiRepo,
    c: &Cluster,
    text: &str,
    domains: &mut BTreeMap<String, String>,
    f: &mut Findings,
) {
    let path = Cluster::yaml_path(&c.name);
    let loc = Locations::of(text);
    let err = |pointer: &str, msg: String| {
        let mut e = ConfigError::new(path.clone(), msg).field(locate::dotted(pointer));
        if let Some((l, col)) = loc.find(pointer) {
            e = e.at(l, col);
        }
        e
    };
    let root_canon = repo
        .root
        .canonicalize()
        .unwrap_or_else(|_| repo.root.clone());
    let dir_canon = root_canon.join(&c.dir);
    // every file the cluster names: inside its folder, present, no symlink out of the repo
    let mut files: Vec<(String, &str)> = Vec::new();
    if let Some(s) = &c.file.support {
        for (i, v) in s.helm_chart_values_files.iter().enumerate() {
            files.push((format!("/support/helm_chart_values_files/{i}"), v));
        }
    }
    for (i, h) in c.file.hubs.iter().enumerate() {
        for (j, v) in h.helm_chart_values_files.iter().enumerate() {
            files.push((format!("/hubs/{i}/helm_chart_values_files/{j}"), v));
        }
        if let Some(o) = &h.chart_override {
            files.push((format!("/hubs/{i}/chart_override"), o));
        }
        if let Some(o) = &h.domain_override_file {
            files.push((format!("/hubs/{i}/domain_override_file"), o));
        }
    }
    let f_ = &c.file;
    let creds = [
        f_.gcp.as_ref().map(|g| ("/gcp/key", g.key.as_str())),
        f_.aws.as_ref().map(|a| ("/aws/key", a.key.as_str())),
        f_.azure.as_ref().map(|a| ("/azure/key", a.key.as_str())),
        f_.kubeconfig
            .as_ref()
            .map(|k| ("/kubeconfig/file", k.file.as_str())),
    ];
    for (p, v) in creds.into_iter().flatten() {
        files.push((p.to_string(), v));
    }
    for (pointer, file) in files {
        if Path::new(file).is_absolute() {
            f.problems.push(err(
                &pointer,
                format!("`{file}` is absolute; paths are relative to {}", c.dir),
            ));
            continue;
        }
        let Ok(norm) = paths::join(&c.dir, file) else {
            f.problems
                .push(err(&pointer, format!("`{file}` leaves the repository")));
            continue;
        };
        if !paths::is_under(&norm, &c.dir) {
            f.problems.push(err(
                &pointer,
                format!("`{file}` is outside the cluster folder {}", c.dir),
            ));
            continue;
        }
        match repo.root.join(&norm).canonicalize() {
            Err(_) => f
                .problems
                .push(err(&pointer, format!("{norm} does not exist"))),
            Ok(real) if !real.starts_with(&root_canon) => {
                f.problems.push(err(
                    &pointer,
                    format!("{norm} is a symlink out of the repository"),
                ));
            }
            Ok(real) if !real.starts_with(&dir_canon) => {
                f.problems.push(err(
                    &pointer,
                    format!("{norm} resolves outside the cluster folder {}", c.dir),
                ));
            }
            Ok(_) => {}
        }
    }
    let mut names = BTreeSet::new();
    for (i, h) in c.file.hubs.iter().enumerate() {
        let p = format!("/hubs/{i}/name");
        if let Err(m) = check_release_name(&h.name) {
            f.problems.push(err(&p, m));
        }
        if h.name == "support" && c.has_support() {
            f.problems.push(err(
                &p,
                "`support` is the support chart's release on this cluster".into(),
            ));
        }
        if !names.insert(h.name.as_str()) {
            f.problems.push(err(
                &p,
                format!("hub `{}` is defined twice in this cluster", h.name),
            ));
        }
        let chart = format!("{HELM_CHARTS_DIR}/{}/Chart.yaml", h.helm_chart);
        if !repo.root.join(&chart).is_file() {
            f.problems.push(err(
                &format!("/hubs/{i}/helm_chart"),
                format!(
                    "chart `{}` not found ({chart} does not exist)",
                    h.helm_chart
                ),
            ));
        }
        if let Some(d) = &h.domain {
            let here = format!("{}/{}", c.name, h.name);
            if let Some(other) = domains.insert(d.clone(), here) {
                f.problems.push(err(
                    &format!("/hubs/{i}/domain"),
                    format!("domain {d} is also used by {other}"),
                ));
            }
        }
    }
    if c.has_support()
        && !repo
            .root
            .join(HELM_CHARTS_DIR)
            .join("support/Chart.yaml")
            .is_file()
    {
        f.problems.push(err(
            "/support",
            format!("there is no {HELM_CHARTS_DIR}/support chart"),
        ));
    }
    let _ = CLUSTERS_DIR;
}

/// The release's values files parse, and, merged as helm does (chart defaults, then each file in
/// order), match the chart's `values.schema.yaml` when it has one.
fn values(root: &Path, r: &ValuesCheck, decrypt: Decrypt<'_>, f: &mut Findings) {
    let schema_file = format!("{}/values.schema.yaml", r.chart);
    let schema_text = read(root, &schema_file);
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
        let secret = is_sops_encrypted(&text) || crate::execute::secrets::is_secret_name(file);
        if is_sops_encrypted(&text) {
            if schema_text.is_none() {
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
    let (Some(schema_text), true) = (schema_text, complete) else {
        return;
    };
    let compiled = match schema::compile_yaml(&schema_file, &schema_text) {
        Ok(s) => s,
        Err(e) => {
            f.problems.push(e);
            return;
        }
    };
    let mut merged = read(root, &format!("{}/values.yaml", r.chart))
        .and_then(|t| crate::config::yaml::from_str::<Json>("values.yaml", &t).ok())
        .filter(Json::is_object)
        .unwrap_or_else(|| Json::Object(Default::default()));
    let over = crate::gitops::merge_values(docs.iter().map(|(_, _, v, _)| v.clone()));
    merged = crate::gitops::merge_values([merged, over]);
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
            locate::dotted(&pointer)
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
