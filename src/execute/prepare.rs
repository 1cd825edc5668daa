//! Getting a release's inputs ready, as its [`ReleaseSpec`] says: the chart in place (a
//! `chart_override`'s temp copy), its dependency updates in order (inner charts first), the CRDs
//! a dependency carries, and the values files helm reads (decrypted and rendered copies, 0600,
//! removed with the returned values). The upgrade and the `--live` check both prepare this way.

use std::path::{Path, PathBuf};

use super::once_map::OnceMap;
use super::outcome::{Cause, Failure};
use super::secrets::{self, Decrypted, SecretKind};
use crate::cmd::Arg;
use crate::log::Log;
use crate::plan::release::{ReleaseSpec, ValuesKind};
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::{helm, kubectl};

/// `helm dependency update` once per chart per run, however many releases use the chart.
#[derive(Default)]
pub struct DependencyCache {
    done: OnceMap<String, Result<bool, CmdError>>,
}

impl DependencyCache {
    /// Update `chart`'s dependencies (once); whether it ran (not in a dry run).
    pub fn update(&self, runner: &dyn Runner, chart: &str) -> Result<bool, CmdError> {
        self.done.get_or_init(chart.to_string(), || {
            runner
                .run(&helm::dependency_update(chart))
                .map(|r| matches!(r, Reply::Ran(_)))
        })
    }
}

/// Where a release's charts are: the repo, or an override's temp copy.
pub struct Placed {
    /// The copy's folder and the chart folders copied into it.
    copy: Option<(crate::signals::TempDir, Vec<String>)>,
    root: PathBuf,
    /// A dependency update was only shown (a dry run): nothing was vendored.
    shown_only: bool,
}

impl Placed {
    /// `rel` (a repo-relative chart folder, or a file in one) where it is for this release: in
    /// the copy when its chart was copied (shown as `<chart-override>/…`), else in the repo.
    pub fn path(&self, rel: &str) -> Arg {
        if let Some((dir, copies)) = &self.copy {
            for c in copies {
                let rest = if rel == c {
                    Some("")
                } else {
                    rel.strip_prefix(c.as_str())
                        .and_then(|r| r.strip_prefix('/'))
                };
                if let Some(rest) = rest {
                    let name = c.rsplit('/').next().unwrap_or(c);
                    let tail = if rest.is_empty() {
                        name.to_string()
                    } else {
                        format!("{name}/{rest}")
                    };
                    return Arg::Shown {
                        value: dir.path().join(&tail).display().to_string(),
                        shown: format!("<chart-override>/{tail}"),
                    };
                }
            }
        }
        Arg::Plain(rel.to_string())
    }

    /// The absolute path of [`Placed::path`] (not resolved: a symlink stays a symlink).
    fn absolute(&self, rel: &str) -> PathBuf {
        let p = PathBuf::from(self.path(rel).value());
        let p = if p.is_absolute() {
            p
        } else {
            self.root.join(p)
        };
        std::path::absolute(&p).unwrap_or(p)
    }
}

fn io(step: &'static str) -> impl Fn(std::io::Error) -> Failure {
    move |e| Failure {
        step,
        cause: Cause::Refused(e.to_string()),
    }
}

/// Copy a chart folder (symlinks followed, as 2i2c's deployer's copy does).
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if std::fs::metadata(e.path())?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// In the copy of chart `chart`, a `file://` dependency on a chart that was not copied points at
/// the repo's folder (absolute), as it did from the repo; one on a copied chart stays relative,
/// so daskhub's copy uses basehub's copy. (2i2c's charts depend on remote repositories only:
/// their copies are unchanged.)
fn repoint_local_deps(
    root: &Path,
    copy: &Path,
    chart: &str,
    copies: &[String],
) -> std::io::Result<()> {
    let name = chart.rsplit('/').next().unwrap_or(chart);
    let file = copy.join(name).join("Chart.yaml");
    let text =
        crate::config::files::read_text(&file).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).map_err(std::io::Error::other)?;
    let mut changed = false;
    if let Some(deps) = doc
        .get_mut("dependencies")
        .and_then(serde_yaml::Value::as_sequence_mut)
    {
        for d in deps {
            let Some(rel) = d
                .get("repository")
                .and_then(serde_yaml::Value::as_str)
                .and_then(|r| r.strip_prefix("file://"))
            else {
                continue;
            };
            if Path::new(rel).is_absolute() {
                continue;
            }
            let Ok(target) = crate::config::paths::join(chart, rel) else {
                continue;
            };
            if copies.contains(&target) {
                continue;
            }
            let abs =
                std::path::absolute(root.join(&target)).unwrap_or_else(|_| root.join(&target));
            d["repository"] = serde_yaml::Value::String(format!("file://{}", abs.display()));
            changed = true;
        }
    }
    if changed {
        std::fs::write(
            &file,
            serde_yaml::to_string(&doc).map_err(std::io::Error::other)?,
        )?;
    }
    Ok(())
}

/// Put the release's charts in place and update their dependencies, inner charts first. An
/// override's copy is made afresh for each release, and its dependencies updated in it; repo
/// folders are updated once per run.
pub fn place_chart(
    runner: &dyn Runner,
    root: &Path,
    deps: &DependencyCache,
    spec: &ReleaseSpec,
) -> Result<Placed, Failure> {
    let mut placed = place(root, spec)?;
    update_dependencies(runner, deps, &mut placed, spec)?;
    Ok(placed)
}

/// Put the release's charts in place (a `chart_override`'s copy), dependencies not updated yet.
pub fn place(root: &Path, spec: &ReleaseSpec) -> Result<Placed, Failure> {
    let mut placed = Placed {
        copy: None,
        root: root.to_path_buf(),
        shown_only: false,
    };
    if let Some(o) = &spec.chart_override {
        let step = "copying the chart for chart_override";
        let dir = crate::signals::TempDir::new("deploy-chart-").map_err(io(step))?;
        for c in &o.copies {
            let name = c.rsplit('/').next().unwrap_or(c);
            copy_dir(&root.join(c), &dir.path().join(name)).map_err(io(step))?;
        }
        let replaced = o.replaces.rsplit('/').next().unwrap_or(&o.replaces);
        std::fs::copy(
            root.join(&o.file),
            dir.path().join(replaced).join("Chart.yaml"),
        )
        .map_err(io(step))?;
        for c in &o.copies {
            repoint_local_deps(root, dir.path(), c, &o.copies).map_err(io(step))?;
        }
        placed.copy = Some((dir, o.copies.clone()));
    }
    Ok(placed)
}

/// `helm dependency update` of the release's chart folders, inner first ([`place`]d first).
pub fn update_dependencies(
    runner: &dyn Runner,
    deps: &DependencyCache,
    placed: &mut Placed,
    spec: &ReleaseSpec,
) -> Result<(), Failure> {
    for folder in &spec.dependency_updates {
        let ran = match placed.path(folder) {
            Arg::Plain(p) => deps.update(runner, &p),
            shown => runner
                .run(&helm::dependency_update(shown))
                .map(|r| matches!(r, Reply::Ran(_))),
        }
        .map_err(Failure::at("helm dependency update"))?;
        placed.shown_only |= !ran;
    }
    Ok(())
}

/// Apply the CRDs the spec names, from the dependency chart `helm dependency update` vendored,
/// each file of its `crds/` in name order. In a dry run (nothing vendored), one line says so.
pub fn apply_crds(runner: &dyn Runner, placed: &Placed, spec: &ReleaseSpec) -> Result<(), Failure> {
    let Some(c) = &spec.crds else { return Ok(()) };
    let step = "applying CRDs";
    let tgz = placed
        .absolute(&c.vendored_in)
        .join("charts")
        .join(format!("{}-{}.tgz", c.chart, c.version));
    let desc = |f: &str| format!("{}-{}/crds/{f}", c.chart, c.version);
    if placed.shown_only {
        // a dry run vendors nothing: show the step
        let shown = kubectl::apply_doc("", &desc("*.yaml")).note(format!(
            "each CRD file of the {} chart `helm dependency update` vendored",
            c.chart
        ));
        runner.run(&shown).map_err(Failure::at(step))?;
        return Ok(());
    }
    if !tgz.exists() {
        return Err(Failure {
            step,
            cause: Cause::Refused(format!(
                "{} is not there after `helm dependency update`",
                tgz.display()
            )),
        });
    }
    for (name, manifest) in crds_of(&tgz, &c.chart).map_err(io(step))? {
        runner
            .run(&kubectl::apply_doc(&manifest, &desc(&name)))
            .map_err(Failure::at(step))?;
    }
    Ok(())
}

/// The files of `<chart>/crds/` in a packaged chart, by name.
fn crds_of(tgz: &Path, chart: &str) -> std::io::Result<Vec<(String, String)>> {
    let file = std::fs::File::open(tgz)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let prefix = format!("{chart}/crds/");
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(name) = path.strip_prefix(&prefix) else {
            continue;
        };
        if name.is_empty() || name.contains('/') || !entry.header().entry_type().is_file() {
            continue;
        }
        let text = crate::config::input::text(&mut entry)?;
        out.push((name.to_string(), text));
    }
    out.sort();
    Ok(out)
}

/// The values files helm reads, in order: plain files as they are, encrypted ones decrypted,
/// jsonnet ones rendered (with the release's variables, the domain from `domain_override` when
/// there is one). The copies live as long as the returned [`Decrypted`].
pub fn values(
    runner: &dyn Runner,
    log: &Log,
    placed: &Placed,
    spec: &ReleaseSpec,
) -> Result<(Vec<Arg>, Decrypted), Failure> {
    let root = &placed.root;
    let mut files = Decrypted::default();
    let mut vars = spec.jsonnet_vars.clone();
    if let Some(d) = &spec.domain_override {
        let domain = override_domain(runner, log, root, d)?;
        for (k, v) in &mut vars {
            if k == "VARS_2I2C_HUB_DOMAIN" {
                v.clone_from(&domain);
            }
        }
    }
    let mut out = Vec::with_capacity(spec.values.len());
    for v in &spec.values {
        out.push(match v.kind {
            ValuesKind::Plain | ValuesKind::Encrypted => Arg::Plain(
                secrets::plain_path(runner, log, root, &v.path, SecretKind::Values, &mut files)
                    .map_err(Failure::at("decrypting values"))?,
            ),
            ValuesKind::Jsonnet => {
                let step = "rendering jsonnet";
                let render = crate::jsonnet::Render::new(&placed.absolute(&v.path), vars.clone())
                    .map_err(io(step))?;
                // a private file for the output: a render of secret values is secret
                let out = files.keep("", ".json").map_err(io(step))?;
                let cmd = shown_in_repo(crate::tools::jsonnet::render(&render, &out), placed);
                runner.run(&cmd).map_err(Failure::at(step))?;
                Arg::Shown {
                    value: out,
                    shown: format!("<rendered {}>", v.path),
                }
            }
        });
    }
    Ok((out, files))
}

/// `cmd` with its arguments under the repo's (absolute) folder shown repo-relative, and those in
/// an override's copy as `<chart-override>/…`: printed plans and dry runs read the same wherever
/// the repo is checked out.
fn shown_in_repo(mut cmd: crate::cmd::Cmd, placed: &Placed) -> crate::cmd::Cmd {
    let base = std::path::absolute(&placed.root).unwrap_or_else(|_| placed.root.clone());
    let mut prefixes = vec![(format!("{}/", base.display()), String::new())];
    if let Some((dir, _)) = &placed.copy {
        prefixes.push((
            format!("{}/", dir.path().display()),
            "<chart-override>/".to_string(),
        ));
    }
    for a in &mut cmd.args {
        if let Arg::Plain(s) = a
            && let Some(shown) = prefixes
                .iter()
                .find_map(|(p, to)| s.strip_prefix(p.as_str()).map(|rest| format!("{to}{rest}")))
        {
            *a = Arg::Shown {
                value: s.clone(),
                shown,
            };
        }
    }
    cmd
}

/// The `domain` of a `domain_override_file` (decrypted when encrypted); in a dry run, a
/// placeholder.
fn override_domain(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    file: &str,
) -> Result<String, Failure> {
    let step = "reading domain_override_file";
    let mut kept = Decrypted::default();
    let path = secrets::plain_path(runner, log, root, file, SecretKind::Values, &mut kept)
        .map_err(Failure::at(step))?;
    if path.starts_with("<decrypted ") {
        return Ok(format!("<domain from {file}>"));
    }
    let full = if Path::new(&path).is_absolute() {
        PathBuf::from(&path)
    } else {
        root.join(&path)
    };
    let text = crate::config::files::read_text(&full).map_err(|e| Failure {
        step,
        cause: Cause::Refused(format!("{file} {e}")),
    })?;
    let doc: serde_json::Value =
        crate::config::yaml::from_str(file, &text).map_err(|e| Failure {
            step,
            cause: Cause::Refused(e.to_string()),
        })?;
    doc.get("domain")
        .and_then(|d| d.as_str())
        .map(String::from)
        .ok_or_else(|| Failure {
            step,
            cause: Cause::Refused(format!("{file} has no `domain` (a string)")),
        })
}
