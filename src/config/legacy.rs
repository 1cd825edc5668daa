//! The legacy (deploy.py) layout: `hub-charts/<chart>/`, `user-images/<chart>/`,
//! `secrets/<chart>.yaml`, settings in `deploy.yaml`.

use std::path::{Component, Path, PathBuf};

use super::deploy_yaml::DeployYaml;
use super::error::ConfigError;
use super::names::check_release_name;

pub use super::deploy_yaml::DEPLOY_YAML;
pub const MIGRATION_GUIDE: &str = "docs/migrating-from-deploy-py.md";
/// The header git-crypt puts at the start of every encrypted file.
const GIT_CRYPT_HEADER: &[u8] = b"\0GITCRYPT\0";

/// One deployable chart of the repo. Paths are repo-relative, `/`-separated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub name: String,
    pub dir: String,
    /// `user-images/<chart>` when that folder exists.
    pub image_dir: Option<String>,
    pub secrets_file: String,
}

#[derive(Clone, Debug)]
pub struct LegacyRepo {
    pub root: PathBuf,
    pub settings: DeployYaml,
    /// In `deploy.yaml` order when listed there, else sorted by name.
    pub charts: Vec<Chart>,
}

/// Which stages a run needs, for the checks that depend on them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stages {
    pub setup: bool,
    pub build: bool,
    pub deploy: bool,
}

impl LegacyRepo {
    /// Read `deploy.yaml` and find the charts.
    pub fn load(root: &Path) -> Result<LegacyRepo, ConfigError> {
        let text = match super::files::read_repo_opt(root, DEPLOY_YAML)? {
            Some(t) => t,
            None => {
                return Err(ConfigError::new(
                    DEPLOY_YAML,
                    format!(
                        "not found in {}: `deploy` reads the settings deploy.py hard-coded from \
                         this file; see {MIGRATION_GUIDE} for how to write it",
                        root.display()
                    ),
                ));
            }
        };
        let settings: DeployYaml = super::yaml::from_str(DEPLOY_YAML, &text)?;
        for (field, value) in [
            ("charts_dir", &settings.charts_dir),
            ("images_dir", &settings.images_dir),
            ("secrets_dir", &settings.secrets_dir),
        ] {
            check_relative(value).map_err(|m| ConfigError::new(DEPLOY_YAML, m).field(field))?;
        }
        settings.check(DEPLOY_YAML)?;
        let names = match &settings.charts {
            Some(list) => list.clone(),
            None => discover(root, &settings.charts_dir),
        };
        let mut charts = Vec::new();
        for name in names {
            let err = |m: String| ConfigError::new(DEPLOY_YAML, m).field("charts");
            check_release_name(&name).map_err(err)?;
            if charts.iter().any(|c: &Chart| c.name == name) {
                return Err(err(format!("chart `{name}` is listed twice")));
            }
            let dir = chart_dir(root, &settings.charts_dir, &name).ok_or_else(|| {
                err(format!(
                    "chart `{name}`: neither {}/{name}/Chart.yaml nor {name}/Chart.yaml exists",
                    settings.charts_dir
                ))
            })?;
            let image_dir = format!("{}/{name}", settings.images_dir);
            let image_dir = root.join(&image_dir).is_dir().then_some(image_dir);
            let secrets_file = format!("{}/{name}.yaml", settings.secrets_dir);
            charts.push(Chart {
                name,
                dir,
                image_dir,
                secrets_file,
            });
        }
        Ok(LegacyRepo {
            root: root.to_path_buf(),
            settings,
            charts,
        })
    }

    pub fn chart(&self, name: &str) -> Option<&Chart> {
        self.charts.iter().find(|c| c.name == name)
    }

    pub fn chart_names(&self) -> Vec<&str> {
        self.charts.iter().map(|c| c.name.as_str()).collect()
    }

    /// Everything a run of `stages` on `chart` needs from the repo, checked before anything runs.
    /// Returns every problem found, not just the first.
    pub fn check(&self, chart: &Chart, stages: Stages) -> Vec<ConfigError> {
        let s = &self.settings;
        let mut errs = Vec::new();
        if stages.setup {
            match &s.gcloud {
                None => errs.push(
                    ConfigError::new(DEPLOY_YAML, "required for setup (or pass --no-setup)")
                        .field("gcloud"),
                ),
                Some(g) => self.check_secret_file(&g.key_file, "gcloud.key_file", &mut errs),
            }
            if let Some(d) = &s.docker {
                self.check_secret_file(&d.password_file, "docker.password_file", &mut errs);
            }
        }
        if let Some(image_dir) = &chart.image_dir {
            if (stages.build || stages.deploy) && s.image.is_none() {
                errs.push(
                    ConfigError::new(
                        DEPLOY_YAML,
                        format!("required because {image_dir} exists (image name and tag value)"),
                    )
                    .field("image"),
                );
            }
            if stages.build && !self.root.join(image_dir).join("Dockerfile").is_file() {
                errs.push(ConfigError::new(
                    image_dir.clone(),
                    "has no Dockerfile to build",
                ));
            }
        }
        if stages.deploy {
            let f = &chart.secrets_file;
            if !self.root.join(f).exists() {
                errs.push(ConfigError::new(
                    f.clone(),
                    format!("missing: the deploy step passes it to helm as `-f {f}`"),
                ));
            } else if let Err(e) = check_secrets_file(&self.root, f) {
                errs.push(e);
            }
        }
        errs
    }

    fn check_secret_file(&self, file: &str, field: &str, errs: &mut Vec<ConfigError>) {
        if let Err(m) = check_relative(file) {
            errs.push(ConfigError::new(DEPLOY_YAML, m).field(field));
            return;
        }
        if let Err(m) = super::files::check_inside(&self.root, file) {
            errs.push(ConfigError::new(DEPLOY_YAML, format!("{file} {m}")).field(field));
            return;
        }
        match super::files::read_bytes(&self.root.join(file)) {
            Err(e) => errs.push(
                ConfigError::new(DEPLOY_YAML, format!("cannot read {file}: {e}")).field(field),
            ),
            Ok(b) if b.starts_with(GIT_CRYPT_HEADER) => errs.push(git_crypt_error(file)),
            Ok(_) => {}
        }
    }

    /// Read a secret file (password), without surrounding whitespace (deploy.py's `.strip()`):
    /// a trailing newline or space an editor left would make `docker login` fail.
    pub fn read_secret(&self, file: &str) -> Result<String, ConfigError> {
        let text = crate::config::input::read_text(self.root.join(file))
            .map_err(|e| ConfigError::new(file, format!("cannot read: {e}")))?;
        Ok(text.trim().to_string())
    }
}

/// A chart's secrets file, before it is handed to helm: inside the repo, unlocked, text, a YAML
/// mapping without repeated keys. Its values are masked from the logs, which needs it parsed:
/// a file that does not parse would print in clear wherever a tool echoes it. Messages name the
/// file and the problem, never a value.
pub fn check_secrets_file(root: &Path, f: &str) -> Result<(), ConfigError> {
    super::files::check_inside(root, f).map_err(|m| ConfigError::new(f, m))?;
    let bytes =
        super::files::read_bytes(&root.join(f)).map_err(|e| ConfigError::new(f, e.to_string()))?;
    if bytes.starts_with(GIT_CRYPT_HEADER) {
        return Err(git_crypt_error(f));
    }
    let text = super::files::text_of(bytes).map_err(|e| ConfigError::new(f, e.to_string()))?;
    super::yaml::check_values_doc(f, &text, true).map(|_| ())
}

/// Whether the file at `path` is still git-crypt encrypted (reads its first bytes only).
pub fn is_git_crypt_locked(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; GIT_CRYPT_HEADER.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == GIT_CRYPT_HEADER)
}

fn git_crypt_error(file: &str) -> ConfigError {
    ConfigError::new(
        file,
        "is still git-crypt encrypted; run `git-crypt unlock` first",
    )
}

/// `<charts_dir>/<name>/Chart.yaml`, else a top-level `<name>/Chart.yaml` (deploy.py's monitoring).
fn chart_dir(root: &Path, charts_dir: &str, name: &str) -> Option<String> {
    [format!("{charts_dir}/{name}"), name.to_string()]
        .into_iter()
        .find(|d| root.join(d).join("Chart.yaml").is_file())
}

/// Every `<charts_dir>/<c>/` with a Chart.yaml, plus top-level `<c>/` folders with one.
fn discover(root: &Path, charts_dir: &str) -> Vec<String> {
    let mut names = Vec::new();
    for dir in [root.join(charts_dir), root.to_path_buf()] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || !e.path().join("Chart.yaml").is_file() {
                continue;
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names.sort();
    names
}

/// Settings name files inside the repo: no absolute paths, no `..`.
pub fn check_relative(p: &str) -> Result<(), String> {
    let path = Path::new(p);
    if p.is_empty() {
        return Err("must not be empty".into());
    }
    if path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "`{p}` must be a path inside the repo (relative, without `..`)"
        ));
    }
    Ok(())
}
