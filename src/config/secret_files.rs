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

/// What stands for an encrypted file that cannot be decrypted here (`deploy diff` in a fork's
/// pull request, with no keys): the document with its `sops` metadata dropped and each encrypted
/// value replaced by a stable placeholder, so the release still renders. A string becomes
/// `sops-encrypted-<digest of its ciphertext>`: the same as long as the value is not re-encrypted,
/// different when it is. Numbers and booleans (`type:int`, `type:float`, `type:bool`) become `1`,
/// `1.0` and `true`. Plain values (sops's unencrypted suffixes) stay.
pub fn placeholder(file: &str, text: &str) -> Result<serde_json::Value, super::ConfigError> {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    fn walk(v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) if s.starts_with("ENC[") && s.ends_with(']') => {
                let kind = s
                    .rsplit(',')
                    .next()
                    .and_then(|t| t.strip_prefix("type:"))
                    .map(|t| t.trim_end_matches(']').to_string());
                *v = match kind.as_deref() {
                    Some("int") => Value::from(1),
                    Some("float") => Value::from(1.0),
                    Some("bool") => Value::Bool(true),
                    _ => {
                        let d = Sha256::digest(s.as_bytes());
                        let mut hex = String::from("sops-encrypted-");
                        for b in &d[..6] {
                            let _ = write!(hex, "{b:02x}");
                        }
                        Value::String(hex)
                    }
                };
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(m) => m.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = super::yaml::to_json(file, text)?;
    if let Some(m) = v.as_object_mut() {
        m.remove("sops");
    }
    walk(&mut v);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_keeps_the_shape_and_tells_ciphertexts_apart() {
        let a = "x:\n  token: ENC[AES256_GCM,data:abc=,iv:i,tag:t,type:str]\n  port: ENC[AES256_GCM,data:1=,type:int]\n  on: ENC[AES256_GCM,data:2=,type:bool]\n  plain_unencrypted: keep\nsops:\n  version: 3.8.1\n";
        let v = placeholder("f.yaml", a).unwrap();
        let token = v["x"]["token"].as_str().unwrap().to_string();
        assert!(
            token.starts_with("sops-encrypted-") && token.len() == 27,
            "{token}"
        );
        assert_eq!(v["x"]["port"], 1);
        assert_eq!(v["x"]["on"], true);
        assert_eq!(v["x"]["plain_unencrypted"], "keep");
        assert!(v.get("sops").is_none());
        let again = placeholder("f.yaml", a).unwrap();
        assert_eq!(again["x"]["token"], token.as_str());
        let b = a.replace("data:abc=", "data:abd=");
        assert_ne!(
            placeholder("f.yaml", &b).unwrap()["x"]["token"],
            token.as_str()
        );
    }

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
