//! sops-encrypted files: decrypted into private temp files (0600, removed when dropped, which
//! happens on success, failure and interruption alike), their values masked in logs.

use std::io::Write;
use std::path::Path;

use serde_yaml::Value;

use crate::cmd::Cmd;
use crate::report::log::Log;
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::sops;

/// Whether a YAML or JSON file was encrypted by sops (it then has a top-level `sops` key).
pub fn is_sops_encrypted(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("sops:"))
        || (text.trim_start().starts_with('{')
            && serde_json::from_str::<serde_json::Value>(text)
                .is_ok_and(|v| v.get("sops").is_some()))
}

/// Whether a file's path says it holds secrets: a `secrets` folder or `secret` in its name.
pub fn is_secret_name(path: &str) -> bool {
    path.split('/').any(|part| part.contains("secret"))
}

/// Decrypted files, alive as long as this value (and removed on a fast exit: see
/// [`crate::signals`]).
#[derive(Default)]
pub struct Decrypted {
    files: Vec<crate::signals::TempFile>,
}

impl Decrypted {
    /// Write `content` to a new private temp file and return its path.
    pub fn keep(&mut self, content: &str, suffix: &str) -> std::io::Result<String> {
        // tempfile creates the file with mode 0600.
        let mut f = crate::signals::TempFile::new("deploy-secret-", suffix)?;
        f.as_file_mut().write_all(content.as_bytes())?;
        f.as_file_mut().flush()?;
        let path = f.path().display().to_string();
        self.files.push(f);
        Ok(path)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Mask every string value of a decrypted document (long enough to be a secret) in logs.
pub fn mask_values(log: &Log, text: &str) {
    fn walk(log: &Log, v: &Value) {
        match v {
            Value::String(s) if s.len() >= 6 => log.mask(s),
            Value::Sequence(seq) => seq.iter().for_each(|x| walk(log, x)),
            Value::Mapping(m) => m.values().for_each(|x| walk(log, x)),
            Value::Tagged(t) => walk(log, &t.value),
            _ => {}
        }
    }
    // (a document too deep to walk fails validation before any run)
    if crate::config::yaml::check_depth("", text).is_err() {
        return;
    }
    if let Ok(v) = serde_yaml::from_str::<Value>(text) {
        // A kubeconfig's secrets are its users' credentials; masking all of it would also hide
        // words like `Config` wherever they appear in logs (`ConfigMap/hub` became `***Map/hub`).
        match (v.get("kind").and_then(Value::as_str), v.get("users")) {
            (Some("Config"), Some(users)) => walk(log, users),
            _ => walk(log, &v),
        }
    }
}

/// The file to hand to a tool for `file` (repo-relative): the file itself, or a decrypted copy.
/// In a dry run, a placeholder naming the file.
pub fn plain_path(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    file: &str,
    out: &mut Decrypted,
) -> Result<String, CmdError> {
    let text = crate::config::input::read_text(root.join(file)).unwrap_or_default();
    if !is_sops_encrypted(&text) {
        // A plain file that holds secrets (`secrets/<chart>.yaml`, `*.secret.values.yaml`):
        // its values are masked too, since a tool may print what it was given.
        if is_secret_name(file) {
            mask_values(log, &text);
        }
        return Ok(file.to_string());
    }
    let cmd: Cmd = sops::decrypt(file);
    match runner.run(&cmd)? {
        Reply::NotRun => Ok(format!("<decrypted {file}>")),
        Reply::Ran(o) => {
            mask_values(log, &o.stdout);
            let suffix = Path::new(file)
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            out.keep(&o.stdout, &suffix).map_err(|e| CmdError::Spawn {
                cmd: cmd.line(),
                reason: format!("cannot write the decrypted file: {e}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_names() {
        assert!(is_secret_name("secrets/ea-hub.yaml"));
        assert!(is_secret_name(
            "config/clusters/a/enc-prod.secret.values.yaml"
        ));
        assert!(!is_secret_name("config/clusters/a/prod.values.yaml"));
    }

    #[test]
    fn detects_sops_files() {
        assert!(is_sops_encrypted(
            "a: ENC[AES256_GCM,data:x]\nsops:\n  version: 3.8.1\n"
        ));
        assert!(is_sops_encrypted(
            "{\"a\": \"ENC[x]\", \"sops\": {\"version\": \"3\"}}"
        ));
        assert!(!is_sops_encrypted("a: 1\nnot_sops: 2\n"));
    }

    #[test]
    fn a_kubeconfig_masks_its_users_credentials_only() {
        let log = Log::with_sink(
            crate::report::log::Verbosity::Normal,
            crate::report::log::Ci::Plain,
            Box::new(crate::report::log::SharedBuf::default()),
        );
        mask_values(
            &log,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gamma\n  cluster: {server: https://gamma.example}\nusers:\n- name: deployer\n  user: {token: FAKE-token-123456}\n",
        );
        assert_eq!(
            log.scrub("ConfigMap/hub on https://gamma.example with FAKE-token-123456"),
            "ConfigMap/hub on https://gamma.example with ***"
        );
        // any other secret file: every value
        mask_values(&log, "key: FAKE-other-value\nkind: Config\n");
        assert_eq!(log.scrub("FAKE-other-value ConfigMap"), "*** ***Map");
    }

    #[test]
    fn decrypted_files_are_private_and_removed() {
        let mut d = Decrypted::default();
        let p = d.keep("secret: FAKE-s3cr3t\n", ".yaml").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(p.ends_with(".yaml"));
        drop(d);
        assert!(!Path::new(&p).exists());
    }
}
