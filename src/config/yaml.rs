//! Typed YAML loading with errors that name the file, line, column and field, and a bound on
//! how deeply a document may nest.

use serde::de::DeserializeOwned;

use super::error::ConfigError;

/// How deeply collections may nest in a YAML file deploy reads. Real values files nest about 10
/// levels and chart schemas about 30; a file nesting thousands is an accident or an attack, and
/// YAML parsers take time quadratic in depth (a 200 KB file of `[` took almost a minute).
pub const MAX_DEPTH: usize = 100;

/// Parse `text` (the content of `file`, repo-relative) into `T`.
pub fn from_str<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    check_depth(file, text)?;
    serde_yaml::from_str(text).map_err(|e| to_config_error(file, &e))
}

/// Refuse a document whose collections nest deeper than [`MAX_DEPTH`], before any parser builds
/// it: one pass over the text, in milliseconds whatever its size (see [`super::depth`]).
pub fn check_depth(file: &str, text: &str) -> Result<(), ConfigError> {
    match super::depth::too_deep(text, MAX_DEPTH) {
        None => Ok(()),
        Some((line, column)) => Err(ConfigError::new(
            file,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        )
        .at(line, column)),
    }
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
    fn deep_nesting_is_refused_at_once() {
        let text = format!("a: {}", "[".repeat(200_000));
        let t = std::time::Instant::now();
        let e = from_str::<serde_yaml::Value>("x.yaml", &text).unwrap_err();
        assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
        assert_eq!(
            e.to_string(),
            "x.yaml:1:103: nesting deeper than 100 levels"
        );
        // block style too
        let text: String = (0..150).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let e = check_depth("y.yaml", &text).unwrap_err();
        assert_eq!((e.line, e.column), (Some(101), Some(101)), "{e}");
        // as deep as allowed is fine
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(from_str::<serde_yaml::Value>("z.yaml", &ok).is_ok());
    }

    #[test]
    fn syntax_error_has_location() {
        let e = from_str::<Outer>("x.yaml", "inner: [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }
}
