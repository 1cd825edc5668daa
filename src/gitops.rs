//! GitOps output: fill the repo's `.flux.ci` HelmRelease template and check the result against
//! Flux's HelmRelease CRD (v2) and the rules a deploy relies on, before anything is written or
//! pushed. Pure: reading the template is the caller's business.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::Value as Json;

use crate::config::ConfigError;

pub const TEMPLATE: &str = ".flux.ci";
pub const API_VERSION: &str = "helm.toolkit.fluxcd.io/v2";

/// The CRD's `v2` OpenAPI schema, compiled once.
static CRD: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let crd: Json = serde_yaml::from_str(include_str!(
        "../schemas/flux/helm.toolkit.fluxcd.io_helmreleases.yaml"
    ))
    .map_err(|e| e.to_string())?;
    let versions = crd["spec"]["versions"]
        .as_array()
        .ok_or("the CRD has no versions")?;
    let v2 = versions
        .iter()
        .find(|v| v["name"] == "v2")
        .ok_or("the CRD has no v2")?;
    jsonschema::validator_for(&v2["schema"]["openAPIV3Schema"]).map_err(|e| e.to_string())
});

/// A rendered HelmRelease.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub name: String,
    /// `<env>/<name>.yaml`
    pub path: String,
    pub text: String,
}

/// `${NAME}` placeholders of a template, in order of first use.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !out.iter().any(|n| n == name)
        {
            out.push(name.to_string());
        }
        rest = &rest[end + 1..];
    }
    out
}

fn env_name_ok(env: &str) -> bool {
    !env.is_empty()
        && env.len() <= 63
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !env.starts_with('-')
        && !env.ends_with('-')
}

/// Fill `template` with `values` (`ENV`, `IMAGE_TAG` and `--set` names), parse and validate it.
/// Every problem is returned, not only the first.
pub fn render(
    template: &str,
    env: &str,
    values: &BTreeMap<String, String>,
) -> Result<Rendered, Vec<ConfigError>> {
    let err = |m: String| ConfigError::new(TEMPLATE, m);
    if !env_name_ok(env) {
        return Err(vec![err(format!(
            "--env `{env}` must be a lowercase name (letters, digits, '-'): it names a folder"
        ))]);
    }
    let mut values = values.clone();
    values.insert("ENV".into(), env.into());
    let names = placeholders(template);
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !values.contains_key(*n))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(vec![err(format!(
            "placeholders without a value: {} (give them with --set NAME=VALUE; ENV comes from --env, IMAGE_TAG from --image-tag)",
            missing.join(", ")
        ))]);
    }
    let unused: BTreeSet<&str> = values
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "ENV" && !names.iter().any(|n| n == k))
        .collect();
    let mut problems = Vec::new();
    for k in &unused {
        problems.push(err(format!(
            "--set {k}: the template has no ${{{k}}} placeholder"
        )));
    }
    for (k, v) in &values {
        if v.chars().any(char::is_control) {
            problems.push(err(format!(
                "the value of {k} contains a control character (a newline?)"
            )));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut text = template.to_string();
    for n in &names {
        text = text.replace(&format!("${{{n}}}"), &values[n]);
    }
    let doc: Json = crate::config::yaml::from_str(TEMPLATE, &text).map_err(|mut c| {
        c.message = format!("the rendered HelmRelease is not valid YAML: {}", c.message);
        vec![c]
    })?;
    check(&doc).map_err(|ps| ps.into_iter().map(err).collect::<Vec<_>>())?;
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(Rendered {
        path: format!("{env}/{name}.yaml"),
        name,
        text,
    })
}

/// The CRD schema and the rules Flux (CEL) and deploys rely on. Messages name the field.
pub fn check(doc: &Json) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match &*CRD {
        Ok(v) => {
            for e in v.iter_errors(doc) {
                let at = e.instance_path().to_string();
                let field = if at.is_empty() {
                    "(top level)".into()
                } else {
                    crate::config::yaml::dotted(&at)
                };
                problems.push(format!("{field}: {e} (HelmRelease CRD v2)"));
            }
        }
        Err(e) => problems.push(format!(
            "the vendored HelmRelease CRD does not compile: {e}"
        )),
    }
    if doc["apiVersion"] != API_VERSION {
        problems.push(format!(
            "apiVersion: must be {API_VERSION}, not {}",
            doc["apiVersion"]
        ));
    }
    if doc["kind"] != "HelmRelease" {
        problems.push(format!("kind: must be HelmRelease, not {}", doc["kind"]));
    }
    match doc["metadata"]["name"].as_str() {
        None | Some("") => problems.push("metadata.name: required (it names the file)".into()),
        Some(n) if !is_object_name(n) => problems.push(format!(
            "metadata.name: {n:?} is not a Kubernetes object name (lowercase letters, digits, \
             '-' and '.', starting and ending with a letter or digit); it also names the file"
        )),
        Some(_) => {}
    }
    let spec = &doc["spec"];
    match (spec.get("chart").is_some(), spec.get("chartRef").is_some()) {
        (true, true) => {
            problems.push("spec: either chart or chartRef must be set, not both".into())
        }
        (false, false) => problems.push("spec: either chart or chartRef must be set".into()),
        (true, false) => {
            let c = &spec["chart"]["spec"];
            for f in ["chart", "version", "sourceRef"] {
                if c.get(f).is_none_or(Json::is_null) {
                    problems.push(format!("spec.chart.spec.{f}: required"));
                }
            }
        }
        (false, true) => {}
    }
    if spec.get("interval").is_none_or(Json::is_null) {
        problems.push("spec.interval: required (how often Flux reconciles)".into());
    }
    if spec.get("values").is_none_or(|v| !v.is_object()) {
        problems.push("spec.values: required (a mapping of the release's values)".into());
    }
    problems.sort();
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A DNS-1123 subdomain, as Kubernetes object names are: never a path (`../../x`).
fn is_object_name(n: &str) -> bool {
    n.len() <= 253
        && n.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

/// A HelmRelease for a release of a Flux-run cluster: the chart from this repo's GitRepository
/// `source`, the merged values, and `dependsOn` so Flux keeps deploy's order (support, then
/// staging, then prod).
pub fn helm_release(
    release: &str,
    chart_dir: &str,
    source: &str,
    values: Json,
    depends_on: &[String],
) -> Json {
    let mut hr = serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": "HelmRelease",
        "metadata": {"name": release, "namespace": "flux-system", "labels": {"app.kubernetes.io/managed-by": "deploy"}},
        "spec": {
            "interval": "10m",
            "releaseName": release,
            "targetNamespace": release,
            "install": {"createNamespace": true},
            "upgrade": {"cleanupOnFail": true},
            "chart": {"spec": {
                "chart": format!("./{chart_dir}"),
                "version": "*",
                "sourceRef": {"kind": "GitRepository", "name": source, "namespace": "flux-system"},
            }},
            "values": values,
        }
    });
    if !depends_on.is_empty() {
        hr["spec"]["dependsOn"] = depends_on
            .iter()
            .map(|d| serde_json::json!({"name": d, "namespace": "flux-system"}))
            .collect();
    }
    hr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_once_in_order() {
        assert_eq!(
            placeholders("a ${ENV} ${IMAGE_TAG} ${ENV} $NOT ${bad-name} ${X1}"),
            ["ENV", "IMAGE_TAG", "X1"]
        );
    }
}
