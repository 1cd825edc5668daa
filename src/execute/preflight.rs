//! What runs before anything changes: the programs a run needs are on PATH, the config it uses
//! validates, and every encrypted file it will hand to a tool decrypts to a document that parses
//! (a secret that cannot be parsed cannot be masked). Any problem stops the run with exit 2.

use std::collections::HashMap;
use std::path::Path;

use super::secrets::{self, DecryptError, SecretKind};
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::config::{ConfigError, ConfigErrors, MissingPrograms, UsageError};
use crate::log::Log;
use crate::plan::release::{ReleaseSpec, ValuesKind};
use crate::plan::run_plan::{Access, RunPlan};
use crate::runner::{CmdError, RealRunner, Reply, Runner};
use crate::validate::{self, Findings, Readers, Undecrypted};

/// Stop (exit 2) when a program is not on PATH; a dry run only warns, except for jsonnet (a dry
/// run renders for real: the commands it prints use the renders). When jsonnet is needed, it
/// must be the Go implementation (`jsonnet --version`), as 2i2c's deployer checks.
pub fn require_programs(programs: &[String], dry_run: bool, log: &Log) -> anyhow::Result<()> {
    let missing: Vec<String> = programs
        .iter()
        .filter(|p| which::which(p).is_err())
        .cloned()
        .collect();
    let jsonnet = crate::jsonnet::PROGRAM;
    if !missing.is_empty() {
        if !dry_run || missing.iter().any(|p| p == jsonnet) {
            return Err(MissingPrograms(missing).into());
        }
        log.warn(&format!(
            "not on PATH (a real run would stop here): {}",
            missing.join(", ")
        ));
    }
    require_jsonnet(programs, log)
}

/// When `programs` has jsonnet: it is on PATH and `jsonnet --version` names the Go
/// implementation, or the run stops (exit 2). Renders run even in dry runs and printed plans.
pub fn require_jsonnet(programs: &[String], log: &Log) -> anyhow::Result<()> {
    let jsonnet = crate::jsonnet::PROGRAM;
    if !programs.iter().any(|p| p == jsonnet) {
        return Ok(());
    }
    if which::which(jsonnet).is_err() {
        return Err(MissingPrograms(vec![jsonnet.to_string()]).into());
    }
    let runner = RealRunner::new(log.clone());
    let printed = match runner.run(&crate::tools::jsonnet::version()) {
        Ok(Reply::Ran(o)) => format!("{}{}", o.stdout, o.stderr),
        Ok(Reply::NotRun) => return Ok(()),
        Err(e) => return Err(UsageError(format!("jsonnet: {e}")).into()),
    };
    crate::jsonnet::check_version(&printed).map_err(|m| UsageError(m).into())
}

/// Decrypts with sops when it is installed; otherwise a file is skipped with a notice. What sops
/// prints is checked and its secrets masked (see [`secrets::decrypt_checked`]). Every answer is
/// kept: [`Decryptor::prefetch`] decrypts a list on up to `jobs` threads at once (one sops
/// each), and [`Decryptor::decrypt`] then answers from what was kept, in whatever order
/// validation asks, so its findings come out as they would one file at a time.
pub struct Decryptor<'a> {
    runner: &'a dyn Runner,
    log: &'a Log,
    root: &'a Path,
    jobs: usize,
    /// Whether sops is on PATH (looked up once).
    sops: std::sync::OnceLock<bool>,
    kept: std::sync::Mutex<HashMap<String, Result<String, Undecrypted>>>,
}

impl<'a> Decryptor<'a> {
    pub fn new(runner: &'a dyn Runner, log: &'a Log, root: &'a Path, jobs: usize) -> Self {
        Decryptor {
            runner,
            log,
            root,
            jobs,
            sops: std::sync::OnceLock::new(),
            kept: Default::default(),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, Result<String, Undecrypted>>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn decrypt_now(&self, file: &str) -> Result<String, Undecrypted> {
        if !*self.sops.get_or_init(|| which::which("sops").is_ok()) {
            return Err(Undecrypted::Skipped("sops is not installed".into()));
        }
        match secrets::decrypt_checked(self.runner, self.log, self.root, file, SecretKind::Values) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(Undecrypted::Skipped("not decrypted in a dry run".into())),
            Err(DecryptError::Invalid(e)) => Err(Undecrypted::Invalid(e)),
            Err(DecryptError::Cmd(e)) => Err(Undecrypted::Skipped(format!(
                "sops could not decrypt it: {e}"
            ))),
        }
    }

    /// `file` decrypted (or why not), from what [`Self::prefetch`] kept or by running sops now.
    pub fn decrypt(&self, file: &str) -> Result<String, Undecrypted> {
        if let Some(r) = self.kept().get(file) {
            return r.clone();
        }
        let r = self.decrypt_now(file);
        self.kept().insert(file.to_string(), r.clone());
        r
    }

    /// Decrypt `files` now, up to `jobs` sops processes at once, and keep the answers.
    pub fn prefetch(&self, files: &[String]) {
        let todo: Vec<&String> = {
            let kept = self.kept();
            files.iter().filter(|f| !kept.contains_key(*f)).collect()
        };
        let answers = super::pool::parallel(self.jobs, &todo, |f| self.decrypt_now(f));
        let mut kept = self.kept();
        for (f, r) in todo.into_iter().zip(answers) {
            kept.insert(f.clone(), r);
        }
    }
}

/// Render a jsonnet values file with jsonnet when it is installed (otherwise it is skipped with a
/// notice) as the run renders it, into a private temp file that is read and removed. A render
/// that fails is a problem in that file: jsonnet's message names the line.
pub fn renderer<'a>(
    runner: &'a dyn Runner,
    root: &'a Path,
) -> impl Fn(&ReleaseSpec, &str) -> Result<String, Undecrypted> + 'a {
    // whether jsonnet is here, and the Go one: asked once, on the first render
    let usable = std::sync::OnceLock::new();
    move |spec: &ReleaseSpec, file: &str| {
        let why_not = usable.get_or_init(|| {
            if which::which(crate::jsonnet::PROGRAM).is_err() {
                return Some("jsonnet is not installed".to_string());
            }
            match runner.run(&crate::tools::jsonnet::version()) {
                Ok(Reply::Ran(o)) => {
                    crate::jsonnet::check_version(&format!("{}{}", o.stdout, o.stderr)).err()
                }
                Ok(Reply::NotRun) => None,
                Err(e) => Some(e.to_string()),
            }
        });
        if let Some(why) = why_not {
            return Err(Undecrypted::Skipped(why.clone()));
        }
        let invalid = |why: String| Undecrypted::Invalid(ConfigError::new(file, why));
        let io = |e: std::io::Error| invalid(format!("could not render it: {e}"));
        let out = crate::signals::TempFile::new("deploy-render-", ".json").map_err(io)?;
        let render =
            crate::jsonnet::Render::new(&root.join(file), spec.jsonnet_vars.clone()).map_err(io)?;
        let cmd = crate::tools::jsonnet::render(&render, &out.path().display().to_string());
        match runner.run(&cmd) {
            Ok(Reply::Ran(_)) => crate::config::files::read_text(out.path())
                .map_err(|e| invalid(format!("jsonnet's output {e}"))),
            Ok(Reply::NotRun) => Err(Undecrypted::Skipped("not rendered in a dry run".into())),
            Err(CmdError::Failed { tail, .. }) => Err(invalid(format!(
                "jsonnet could not render it: {}",
                tail.trim()
            ))),
            Err(e) => Err(Undecrypted::Skipped(e.to_string())),
        }
    }
}

/// Validation's readers for a run: sops (up to `jobs` at once) and jsonnet through `runner`.
pub fn check_values<'a>(
    repo: &MultiRepo,
    checks: Option<&[validate::ValuesCheck]>,
    runner: &'a dyn Runner,
    log: &'a Log,
    jobs: usize,
) -> (Findings, Vec<crate::config::cluster::Cluster>) {
    let decryptor = Decryptor::new(runner, log, &repo.root, jobs);
    let decrypt = |file: &str| decryptor.decrypt(file);
    let prefetch = |files: &[String]| decryptor.prefetch(files);
    let render = renderer(runner, &repo.root);
    let readers = Readers {
        decrypt: &decrypt,
        prefetch: &prefetch,
        render: &render,
    };
    validate::multi(repo, checks, readers)
}

/// The checks `deploy run` makes before it starts: refuse on any problem. A real run also
/// decrypts every encrypted file it will use (values files and cluster credentials) and checks
/// what sops prints, so a secret that cannot be parsed (and so cannot be masked) stops the run
/// before anything starts; the run then reuses the decrypted text.
pub fn before_run(
    repo: &MultiRepo,
    plan: &RunPlan,
    dry_run: bool,
    jobs: usize,
    log: &Log,
) -> anyhow::Result<()> {
    let runner = RealRunner::in_repo(&repo.root, log);
    let checks = validate::checks_of(plan);
    let (mut f, _) = check_values(repo, Some(&checks), &runner, log, jobs);
    if !dry_run && f.problems.is_empty() {
        let mut files: Vec<(&str, SecretKind)> = Vec::new();
        for c in &plan.clusters {
            let key = match &c.access {
                Access::Gcp { key, .. } | Access::Aws { key, .. } | Access::Azure { key, .. } => {
                    Some(key)
                }
                Access::Kubeconfig { file } => Some(file),
                Access::Flux(_) => None,
            };
            files.extend(
                key.filter(|k| k.kind == ValuesKind::Encrypted)
                    .map(|k| (k.path.as_str(), SecretKind::Credentials)),
            );
            for s in &c.steps {
                files.extend(
                    s.spec
                        .values
                        .iter()
                        .filter(|v| v.kind == ValuesKind::Encrypted)
                        .map(|v| (v.path.as_str(), SecretKind::Values)),
                );
            }
        }
        files.sort_unstable();
        files.dedup();
        for (file, kind) in files {
            match secrets::decrypt_checked(&runner, log, &repo.root, file, kind) {
                Ok(_) => {}
                Err(DecryptError::Invalid(e)) => f.problems.push(e),
                // sops itself failing (no key) is a step of the run: it fails there, exit 1
                Err(DecryptError::Cmd(_)) => {}
            }
        }
    }
    finish_checks(f, log)
}

/// The checks `deploy <chart>` makes before it starts.
/// (The chart's own files are checked by `LegacyRepo::check`, with the run's stages.)
pub fn before_legacy(repo: &LegacyRepo, log: &Log) -> anyhow::Result<()> {
    let mut f = Findings::default();
    validate::check_deploy_yaml(&repo.root, None, &mut f);
    finish_checks(f, log)
}

fn finish_checks(f: Findings, log: &Log) -> anyhow::Result<()> {
    validate::log_notices(&f.notices, log);
    if f.problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(f.problems).into())
    }
}
