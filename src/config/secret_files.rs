//! Which files hold secrets: those sops encrypted (a top-level `sops` key), and those whose path
//! says so (a `secrets` folder or `secret` in a name). Pure tests on a path or its text.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
