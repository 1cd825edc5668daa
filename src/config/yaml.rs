//! Typed YAML loading with errors that name the file, line, column and field.

use serde::de::DeserializeOwned;

use super::error::ConfigError;

/// Parse `text` (the content of `file`, repo-relative) into `T`.
pub fn from_str<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    serde_yaml::from_str(text).map_err(|e| to_config_error(file, &e))
}

pub fn to_config_error(file: &str, e: &serde_yaml::Error) -> ConfigError {
    let mut msg = e.to_string();
    // serde_yaml renders "<path>: <message> at line L column C"; we put the location first.
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let (field, message) = split_field(&msg);
    let mut err = ConfigError::new(file, message);
    if let Some(field) = field {
        err = err.field(field);
    }
    if let Some(loc) = e.location() {
        err = err.at(loc.line(), loc.column());
    }
    err
}

/// "gcloud.zone: invalid type: …" → (Some("gcloud.zone"), "invalid type: …").
fn split_field(msg: &str) -> (Option<String>, String) {
    if let Some((head, rest)) = msg.split_once(": ") {
        let looks_like_path = !head.is_empty()
            && !head.contains(' ')
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-[]".contains(c));
        if looks_like_path {
            return (Some(head.to_string()), rest.to_string());
        }
    }
    (None, msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        zone: String,
    }

    #[test]
    fn unknown_field_has_location_and_field() {
        let e = from_str::<Outer>("x.yaml", "inner:\n  zone: a\n  zonee: b\n").unwrap_err();
        assert_eq!(e.file, "x.yaml");
        assert_eq!(e.field.as_deref(), Some("inner"));
        assert_eq!((e.line, e.column), (Some(3), Some(3)));
        assert!(
            e.message.starts_with("unknown field `zonee`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn syntax_error_has_location() {
        let e = from_str::<Outer>("x.yaml", "inner: [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }
}
