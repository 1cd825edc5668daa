//! What runs before anything changes: the programs a run needs are on PATH, the config it uses
//! validates, and every encrypted file it will hand to a tool decrypts to a document that parses
//! (a secret that cannot be parsed cannot be masked). Any problem stops the run with exit 2.

use std::path::Path;

use super::secrets::{self, DecryptError, SecretKind};
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::config::{ConfigErrors, MissingPrograms};
use crate::log::Log;
use crate::plan::release::ValuesKind;
use crate::plan::run_plan::{Access, RunPlan};
use crate::runner::{RealRunner, Runner};
use crate::validate::{self, Findings, Undecrypted};

/// Stop (exit 2) when a program is not on PATH; a dry run only warns.
pub fn require_programs(programs: &[String], dry_run: bool, log: &Log) -> anyhow::Result<()> {
    let missing: Vec<String> = programs
        .iter()
        .filter(|p| which::which(p).is_err())
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !dry_run {
        return Err(MissingPrograms(missing).into());
    }
    log.warn(&format!(
        "not on PATH (a real run would stop here): {}",
        missing.join(", ")
    ));
    Ok(())
}

/// Decrypt with sops when it is installed; otherwise the file is skipped with a notice. What
/// sops prints is checked and its secrets masked (see [`secrets::decrypt_checked`]).
pub fn decryptor<'a>(
    runner: &'a dyn Runner,
    log: &'a Log,
    root: &'a Path,
) -> impl Fn(&str) -> Result<String, Undecrypted> + 'a {
    move |file: &str| {
        if which::which("sops").is_err() {
            return Err(Undecrypted::Skipped("sops is not installed".into()));
        }
        match secrets::decrypt_checked(runner, log, root, file, SecretKind::Values) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(Undecrypted::Skipped("not decrypted in a dry run".into())),
            Err(DecryptError::Invalid(e)) => Err(Undecrypted::Invalid(e)),
            Err(DecryptError::Cmd(e)) => Err(Undecrypted::Skipped(format!(
                "sops could not decrypt it: {e}"
            ))),
        }
    }
}

/// The checks `deploy run` makes before it starts: refuse on any problem. A real run also
/// decrypts every encrypted file it will use (values files and cluster credentials) and checks
/// what sops prints, so a secret that cannot be parsed (and so cannot be masked) stops the run
/// before anything starts; the run then reuses the decrypted text.
pub fn before_run(
    repo: &MultiRepo,
    plan: &RunPlan,
    dry_run: bool,
    log: &Log,
) -> anyhow::Result<()> {
    let runner = RealRunner::in_repo(&repo.root, log);
    let checks = validate::checks_of(plan);
    let (mut f, _) = validate::multi(repo, Some(&checks), &decryptor(&runner, log, &repo.root));
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
    for n in &f.notices {
        log.warn(n);
    }
    if f.problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(f.problems).into())
    }
}
