//! One side of `deploy diff`: a revision checked out into a private folder (or the work tree),
//! its config, and what its releases' renders share: `helm dependency update` once per chart
//! folder, each chart folder's digest once, and its encrypted files decrypted once (or replaced by
//! placeholders when there is no key).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::once_map::OnceMap;
use super::prepare::DependencyCache;
use super::secrets::{self, DecryptError, SecretKind};
use crate::config::multi::MultiRepo;
use crate::config::secret_files::{is_secret_name, is_sops_encrypted};
use crate::log::Log;
use crate::plan::diff_mask::Secrets;
use crate::plan::release::ReleaseSpec;
use crate::runner::{RealRunner, Reply, Runner};
use crate::tools::git;

/// A revision's files on disk, and its config.
pub struct Side {
    /// How messages name it: `base abc123def456`, `head (work tree)`.
    pub name: String,
    pub root: PathBuf,
    _dir: Option<crate::signals::TempDir>,
    /// Its config; why not, when it cannot be read (every release then fails on this side).
    pub repo: Result<MultiRepo, String>,
    pub deps: DependencyCache,
    digests: OnceMap<String, Result<[u8; 32], String>>,
    /// Encrypted files that could not be decrypted here, with why: placeholders stand for them.
    pub undecrypted: BTreeMap<String, String>,
}

impl Side {
    /// Check out `rev` (a commit hash) into a private temp folder without touching the work tree,
    /// the index or HEAD.
    pub fn checkout(repo_root: &Path, log: &Log, rev: &str, name: String) -> anyhow::Result<Side> {
        let dir = crate::signals::TempDir::new("deploy-diff-")?;
        let runner = RealRunner::in_repo(repo_root, log);
        let index = dir.path().join("index").display().to_string();
        let tree = dir.path().join("tree");
        for cmd in [
            git::read_tree_into(rev, &index),
            git::checkout_index_into(&index, &format!("{}/", tree.display())),
        ] {
            if let Reply::Ran(o) = runner.run(&cmd)?
                && !o.success()
            {
                anyhow::bail!("{}: {}", cmd.line(), o.stderr.trim());
            }
        }
        Ok(Side::at(tree, Some(dir), name))
    }

    /// The work tree as it is.
    pub fn work_tree(root: &Path) -> Side {
        Side::at(root.to_path_buf(), None, "the work tree".into())
    }

    fn at(root: PathBuf, dir: Option<crate::signals::TempDir>, name: String) -> Side {
        let repo = if MultiRepo::detect(&root) {
            MultiRepo::load(&root).map_err(|e| e.to_string())
        } else {
            Err("no config/clusters/*/cluster.yaml at this revision".into())
        };
        Side {
            name,
            root,
            _dir: dir,
            repo,
            deps: DependencyCache::default(),
            digests: OnceMap::default(),
            undecrypted: BTreeMap::new(),
        }
    }

    /// A digest of what a release's chart is made of here: the files of its chart folder and of
    /// the local charts it depends on (vendored `charts/*.tgz` left out where
    /// `helm dependency update` makes them), and a `chart_override`'s Chart.yaml. Equal digests on
    /// both sides: the chart renders the same.
    pub fn chart_digest(&self, spec: &ReleaseSpec) -> Result<[u8; 32], String> {
        let read = |p: &str| -> Option<Arc<str>> {
            crate::config::files::read_text(&self.root.join(p))
                .ok()
                .map(Arc::from)
        };
        let of = |folder: &str| match &spec.chart_override {
            Some(o) if o.replaces == folder => o.file.clone(),
            _ => format!("{folder}/Chart.yaml"),
        };
        let mut h = Sha256::new();
        for m in crate::plan::chart::closure(&read, &spec.chart, &of) {
            let d = self.digests.get_or_init(m.folder.clone(), || {
                folder_digest(&self.root.join(&m.folder), m.has_deps)
                    .map_err(|e| format!("{}: {e}", m.folder))
            })?;
            h.update(m.folder.as_bytes());
            h.update(d);
        }
        if let Some(o) = &spec.chart_override {
            let text = read(&o.file).ok_or_else(|| format!("{}: cannot be read", o.file))?;
            h.update(o.file.as_bytes());
            h.update(text.as_bytes());
        }
        Ok(h.finalize().into())
    }

    /// The name and version of the chart the release runs here (`basehub 0.1.0`; `?` for what
    /// cannot be read).
    pub fn chart_name(&self, spec: &ReleaseSpec) -> String {
        let file = match &spec.chart_override {
            Some(o) => o.file.clone(),
            None => format!("{}/Chart.yaml", spec.chart),
        };
        let id = super::live::chart_id(&self.root.join(file)).unwrap_or_default();
        let known = |s: String| if s.is_empty() { "?".to_string() } else { s };
        format!("{} {}", known(id.name), known(id.version))
    }

    /// Decrypt the encrypted files `specs` read (values files, domain overrides), once each, in
    /// parallel (at most `jobs` at once); what cannot be decrypted (no key, no sops) gets a
    /// placeholder ([`crate::config::secret_files::placeholder`]). Every value of these files,
    /// and of plain secret files, goes into `secrets`.
    pub fn prepare_secrets(
        &mut self,
        specs: &[&ReleaseSpec],
        log: &Log,
        jobs: usize,
        secrets: &mut Secrets,
    ) {
        let mut files: Vec<String> = specs
            .iter()
            .flat_map(|s| {
                s.values
                    .iter()
                    .map(|v| v.path.clone())
                    .chain(s.domain_override.clone())
            })
            .collect();
        files.sort();
        files.dedup();
        let have_sops = which::which("sops").is_ok();
        let root = self.root.clone();
        let results = super::pool::parallel(jobs, &files, |file| {
            let text = crate::config::files::read_text(&root.join(file)).ok()?;
            if !is_sops_encrypted(&text) {
                if is_secret_name(file) {
                    return Some((text, None));
                }
                return None;
            }
            let why = if have_sops {
                let runner =
                    RealRunner::in_repo(&root, &log.with_verbosity(crate::log::Verbosity::Quiet));
                match secrets::decrypt_checked(&runner, log, &root, file, SecretKind::Values) {
                    Ok(Some(t)) => return Some((t, None)),
                    Ok(None) => "not decrypted".to_string(),
                    Err(DecryptError::Invalid(e)) => e.to_string(),
                    Err(DecryptError::Cmd(e)) => {
                        let e = e.to_string();
                        // the first line of sops's output says it (`Failed to get the data key
                        // required to decrypt the SOPS file.`); the key groups' details follow
                        let mut lines = e
                            .lines()
                            .skip(1)
                            .map(|l| l.trim_start_matches(['|', ' ', '\t']).trim());
                        let why = lines.find(|l| !l.is_empty());
                        format!("sops: {}", why.unwrap_or("failed"))
                    }
                }
            } else {
                "sops is not installed".to_string()
            };
            match crate::config::secret_files::placeholder(file, &text) {
                Ok(v) => {
                    let doc = serde_yaml::to_string(&v).unwrap_or_default();
                    secrets::provide(&root, file, doc.clone());
                    Some((doc, Some(why)))
                }
                Err(e) => Some((String::new(), Some(format!("{why}; {e}")))),
            }
        });
        for (file, r) in files.iter().zip(results) {
            let Some((text, why)) = r else { continue };
            if let Ok(v) = crate::config::yaml::to_json(file, &text) {
                secrets.add_doc(&v);
            }
            if let Some(why) = why {
                self.undecrypted.insert(file.clone(), why);
            }
        }
    }
}

/// The files of a chart folder, by relative path and content. With `has_deps`, `charts/*.tgz`
/// and `tmpcharts/` are left out: `helm dependency update` rewrites them from Chart.yaml.
fn folder_digest(dir: &Path, has_deps: bool) -> std::io::Result<[u8; 32]> {
    let vendored = |rel: &str| {
        (rel.starts_with("charts/") && rel.ends_with(".tgz")) || rel.starts_with("tmpcharts/")
    };
    super::live::files_digest(dir, &|rel| has_deps && vendored(rel))
}
