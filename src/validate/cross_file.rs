//! The rules across files that no schema can express: every file a cluster names exists and stays
//! inside its cluster folder, hub names are valid and unique, charts exist, domains are unique.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::locate::Lazy;
use super::real_paths::RealPaths;
use crate::config::ConfigError;
use crate::config::cluster::{CLUSTERS_DIR, Cluster};
use crate::config::multi::{HELM_CHARTS_DIR, MultiRepo};
use crate::config::names::check_release_name;
use crate::config::paths;

pub(super) fn check(
    repo: &MultiRepo,
    c: &Cluster,
    text: &str,
    domains: &mut BTreeMap<String, String>,
    paths: &mut RealPaths,
    problems: &mut Vec<ConfigError>,
) {
    let path = Cluster::yaml_path(&c.name);
    let loc = Lazy::new(text);
    let err = |pointer: &str, msg: String| {
        let mut e = ConfigError::new(path.clone(), msg).field(crate::config::yaml::dotted(pointer));
        if let Some((l, col)) = loc.get().find(pointer) {
            e = e.at(l, col);
        }
        e
    };
    let root_canon = paths.real_root.clone().unwrap_or_else(|| repo.root.clone());
    let dir_canon = root_canon.join(&c.dir);
    // every file the cluster names: inside its folder, present, no symlink out of the repo
    // (pointer, file, repo-relative with a `/`: a `chart_override` may name a file anywhere in
    // the repo, as 2i2c's deployer reads it)
    let mut files: Vec<(String, &str)> = Vec::new();
    let mut anywhere: Vec<String> = Vec::new();
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
            let p = format!("/hubs/{i}/chart_override");
            if o.contains('/') {
                anywhere.push(p.clone());
            }
            files.push((p, o));
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
            problems.push(err(
                &pointer,
                format!("`{file}` is absolute; paths are relative to {}", c.dir),
            ));
            continue;
        }
        let repo_relative = anywhere.contains(&pointer);
        let joined = if repo_relative {
            paths::normalize(file)
        } else {
            paths::join(&c.dir, file)
        };
        let Ok(norm) = joined else {
            problems.push(err(&pointer, format!("`{file}` leaves the repository")));
            continue;
        };
        if !repo_relative && !paths::is_under(&norm, &c.dir) {
            problems.push(err(
                &pointer,
                format!("`{file}` is outside the cluster folder {}", c.dir),
            ));
            continue;
        }
        match paths.file(&norm) {
            None => problems.push(err(&pointer, format!("{norm} does not exist"))),
            Some(real) if !real.starts_with(&root_canon) => {
                problems.push(err(
                    &pointer,
                    format!("{norm} is a symlink out of the repository"),
                ));
            }
            Some(real) if !repo_relative && !real.starts_with(&dir_canon) => {
                problems.push(err(
                    &pointer,
                    format!("{norm} resolves outside the cluster folder {}", c.dir),
                ));
            }
            Some(_) => {}
        }
    }
    let mut names = BTreeSet::new();
    // (asked once per chart, not per hub: 5,000 hubs share three charts)
    let mut charts_found: std::collections::HashMap<String, bool> = Default::default();
    for (i, h) in c.file.hubs.iter().enumerate() {
        let p = format!("/hubs/{i}/name");
        if let Err(m) = check_release_name(&h.name) {
            problems.push(err(&p, m));
        }
        if h.name == "support" && c.has_support() {
            problems.push(err(
                &p,
                "`support` is the support chart's release on this cluster".into(),
            ));
        }
        if !names.insert(h.name.as_str()) {
            problems.push(err(
                &p,
                format!("hub `{}` is defined twice in this cluster", h.name),
            ));
        }
        let chart = format!(
            "{}/Chart.yaml",
            crate::plan::release::hub_chart(&h.helm_chart)
        );
        let found = *charts_found
            .entry(chart.clone())
            .or_insert_with(|| repo.root.join(&chart).is_file());
        if !found {
            problems.push(err(
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
                problems.push(err(
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
        problems.push(err(
            "/support",
            format!("there is no {HELM_CHARTS_DIR}/support chart"),
        ));
    }
    let _ = CLUSTERS_DIR;
}
