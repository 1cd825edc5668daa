//! The JSON Schemas shipped in `schemas/` (written as YAML), compiled once, and checking a YAML
//! document against one with errors located in the document.

use std::sync::LazyLock;

use serde_json::Value as Json;

use super::locate::Locations;
use crate::config::ConfigError;

pub struct Schema {
    file: &'static str,
    validator: Result<jsonschema::Validator, String>,
}

fn load(file: &'static str, text: &str) -> Schema {
    let validator = serde_yaml::from_str::<Json>(text)
        .map_err(|e| e.to_string())
        .and_then(|v| jsonschema::validator_for(&v).map_err(|e| e.to_string()));
    Schema { file, validator }
}

pub static CLUSTER: LazyLock<Schema> = LazyLock::new(|| {
    load(
        "schemas/cluster.schema.yaml",
        include_str!("../../schemas/cluster.schema.yaml"),
    )
});
pub static DEPLOY: LazyLock<Schema> = LazyLock::new(|| {
    load(
        "schemas/deploy.schema.yaml",
        include_str!("../../schemas/deploy.schema.yaml"),
    )
});

/// A chart's `values.schema.yaml`.
pub fn compile_yaml(file: &str, text: &str) -> Result<jsonschema::Validator, ConfigError> {
    let v: Json = crate::config::yaml::from_str(file, text)?;
    jsonschema::validator_for(&v)
        .map_err(|e| ConfigError::new(file, format!("not a valid JSON Schema: {e}")))
}

/// A schema error's message without the value it is about (`"s3cr3t" is not of type
/// "integer"` → `the value is not of type "integer"`), for files that hold secrets.
pub fn without_instance(e: &jsonschema::ValidationError<'_>) -> String {
    let msg = e.to_string();
    let instance = e.instance().to_string();
    let out = msg.replace(&instance, "the value");
    // anything else quoted could still come from the document
    if out.contains(&instance) || instance.len() < 3 {
        return crate::config::yaml::redact_quoted(&out);
    }
    out
}

/// Check `text` (the content of `file`) against `schema`, adding located problems.
pub fn check(schema: &Schema, file: &str, text: &str, out: &mut Vec<ConfigError>) {
    match crate::config::yaml::to_json(file, text) {
        Ok(doc) => check_doc(schema, file, text, &doc, out),
        Err(e) => out.push(e),
    }
}

/// [`check`] of `doc`, already read from `text`.
pub fn check_doc(schema: &Schema, file: &str, text: &str, doc: &Json, out: &mut Vec<ConfigError>) {
    let validator = match &schema.validator {
        Ok(v) => v,
        Err(e) => {
            out.push(ConfigError::new(
                schema.file,
                format!("the shipped schema does not compile: {e}"),
            ));
            return;
        }
    };
    let mut errors: Vec<(String, String)> = validator
        .iter_errors(doc)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect();
    if errors.is_empty() {
        return; // nothing to locate: no second parse
    }
    errors.sort();
    errors.dedup();
    let loc = Locations::of(text);
    for (mut pointer, message) in errors {
        // "Additional properties are not allowed ('regoin' was unexpected)": point at the key
        if let Some(key) = message
            .split("('")
            .nth(1)
            .and_then(|r| r.split("' was unexpected").next())
            && !key.contains('\'')
        {
            let candidate = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
            if loc.deepest(&candidate).is_some_and(|(p, _)| p == candidate) {
                pointer = candidate;
            }
        }
        let field = if pointer.is_empty() {
            "(top level)".to_string()
        } else {
            crate::config::yaml::dotted(&pointer)
        };
        let mut err = ConfigError::new(file, message).field(field);
        if let Some((l, c)) = loc.find(&pointer) {
            err = err.at(l, c);
        }
        out.push(err);
    }
}
