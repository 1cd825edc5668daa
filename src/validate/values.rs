//! A release's values, checked as helm will see them: every values file in the release's order
//! (plain files parsed, encrypted ones decrypted when sops can, jsonnet ones rendered with the
//! release's variables), merged over the chart's `values.yaml`, against the chart's
//! `values.schema.yaml`; and each local subchart's part (daskhub's `basehub:`) against that
//! subchart's schema, as helm validates a subchart's values. An error names the file that set
//! the value, at its line and column (for a jsonnet file: the file).

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value as Json;

use super::findings::{Findings, Notice, Readers, Undecrypted, ValuesCheck};
use super::locate::Locations;
use super::real_paths::RealPaths;
use super::schema;
use crate::config::ConfigError;
use crate::config::cluster::{CLUSTERS_DIR, Cluster};
use crate::config::paths;
use crate::plan::release::ValuesKind;

/// A chart's `values.schema.yaml`, compiled, and its `values.yaml`: read once per chart, however
/// many releases use it.
pub(super) struct ChartSchema {
    file: String,
    /// `None` when the chart has no schema.
    validator: Option<Result<jsonschema::Validator, ConfigError>>,
    defaults: Json,
}

/// What is read once per validation however many releases share it: each chart's schema and
/// defaults, each chart's closure, each plain values file's parse, each folder's real path.
pub(super) struct Charts<'a> {
    schemas: HashMap<String, Arc<ChartSchema>>,
    closures: HashMap<String, Arc<Vec<crate::plan::chart::Member>>>,
    plain: HashMap<String, Rc<Plain>>,
    pub(super) paths: RealPaths,
    /// A file's text if it was read already (resolving the releases reads every values file to
    /// tell an encrypted one): not read from disk a second time.
    known: Known<'a>,
}

/// A work-tree file's text when it was read already.
pub(super) type Known<'a> = &'a (dyn Fn(&str) -> Option<Arc<str>> + Sync);

impl<'a> Charts<'a> {
    pub(super) fn new(root: &Path, known: Known<'a>) -> Charts<'a> {
        Charts {
            schemas: HashMap::new(),
            closures: HashMap::new(),
            plain: HashMap::new(),
            paths: RealPaths::new(root),
            known,
        }
    }

    /// The schemas, closures and real paths read so far, for another thread's checks: each
    /// chart's files are read once per validation, whatever the number of threads.
    pub(super) fn charts_read(&self) -> SharedCharts {
        SharedCharts {
            schemas: self.schemas.clone(),
            closures: self.closures.clone(),
            paths: self.paths.clone(),
        }
    }

    /// A new set of caches that starts from `shared`.
    pub(super) fn from_shared(root: &Path, shared: &SharedCharts, known: Known<'a>) -> Charts<'a> {
        let mut c = Charts::new(root, known);
        c.schemas = shared.schemas.clone();
        c.closures = shared.closures.clone();
        c.paths = shared.paths.clone();
        c
    }

    fn closure(&mut self, root: &Path, chart: &str) -> Arc<Vec<crate::plan::chart::Member>> {
        if let Some(c) = self.closures.get(chart) {
            return Arc::clone(c);
        }
        let read_repo = |p: &str| read(root, p).map(Arc::from);
        let plain = |folder: &str| format!("{folder}/Chart.yaml");
        let c = Arc::new(crate::plan::chart::closure(&read_repo, chart, &plain));
        self.closures.insert(chart.to_string(), Arc::clone(&c));
        c
    }

    /// A file's text: as the resolver read it, else from disk (and why it cannot be read).
    fn text(&self, root: &Path, file: &str) -> Result<Arc<str>, crate::config::files::ReadError> {
        match (self.known)(file) {
            Some(t) => Ok(t),
            None => crate::config::files::read_text(&root.join(file)).map(Arc::from),
        }
    }

    /// A plain (not encrypted, not jsonnet) values file, read and parsed.
    fn plain(&mut self, root: &Path, file: &str, secret: bool) -> Rc<Plain> {
        if let Some(p) = self.plain.get(file) {
            return Rc::clone(p);
        }
        let p = Rc::new(match self.text(root, file) {
            Ok(text) => match crate::config::yaml::check_values_doc(file, &text, secret) {
                Ok(value) => Plain::Parsed(text.to_string(), value),
                Err(e) => Plain::Invalid(e),
            },
            Err(crate::config::files::ReadError::Missing) => Plain::Missing,
            Err(e) => Plain::Unreadable(e.to_string()),
        });
        self.plain.insert(file.to_string(), Rc::clone(&p));
        p
    }
}

/// What [`Charts::charts_read`] hands to other threads.
pub(super) struct SharedCharts {
    schemas: HashMap<String, Arc<ChartSchema>>,
    closures: HashMap<String, Arc<Vec<crate::plan::chart::Member>>>,
    /// The real paths the cross-file checks resolved.
    paths: RealPaths,
}

/// A plain values file as read: its text and value, or why not.
enum Plain {
    Parsed(String, Json),
    Invalid(ConfigError),
    Missing,
    Unreadable(String),
}

fn read(root: &Path, rel: &str) -> Option<String> {
    crate::config::files::read_text(&root.join(rel)).ok()
}

fn chart_schema(root: &Path, charts: &mut Charts, chart: &str) -> Arc<ChartSchema> {
    if let Some(c) = charts.schemas.get(chart) {
        return Arc::clone(c);
    }
    let file = format!("{chart}/values.schema.yaml");
    let validator = read(root, &file).map(|t| schema::compile_yaml(&file, &t));
    let defaults = read(root, &format!("{chart}/values.yaml"))
        .and_then(|t| crate::config::yaml::from_str::<Json>("values.yaml", &t).ok())
        .filter(Json::is_object)
        .unwrap_or_else(|| Json::Object(Default::default()));
    let c = Arc::new(ChartSchema {
        file,
        validator,
        defaults,
    });
    charts.schemas.insert(chart.to_string(), Arc::clone(&c));
    c
}

/// A cluster's file outside its folder (or a symlink out of it): a cross-file problem already, its
/// content not ours to judge.
fn outside(r: &ValuesCheck, file: &str, charts: &mut Charts) -> bool {
    let Some(dir) = r
        .dir
        .as_ref()
        .filter(|_| paths::is_under(file, CLUSTERS_DIR))
    else {
        return false;
    };
    let inside = charts.paths.dir(dir).zip(charts.paths.file(file));
    !paths::is_under(file, dir) || !inside.is_some_and(|(d, f)| f.starts_with(d))
}

/// The encrypted files [`check`] will decrypt for `r`: those of a release whose charts have a
/// schema, inside its cluster's folder, and there.
pub(super) fn to_decrypt(root: &Path, r: &ValuesCheck, charts: &mut Charts) -> Vec<String> {
    let members = charts.closure(root, &r.spec.chart);
    let has_schema = members
        .iter()
        .any(|m| chart_schema(root, charts, &m.folder).validator.is_some());
    if !has_schema {
        return Vec::new();
    }
    r.spec
        .values
        .iter()
        .filter(|v| v.kind == ValuesKind::Encrypted)
        // (readable as text, as check requires before it decrypts)
        .filter(|v| !outside(r, &v.path, charts) && charts.text(root, &v.path).is_ok())
        .map(|v| v.path.clone())
        .collect()
}

/// One values file as read for the check: its path, its YAML text (none for a jsonnet render,
/// which has no YAML lines to point at), its value, whether it holds secrets.
struct Doc {
    file: String,
    text: Option<String>,
    value: Json,
    secret: bool,
}

pub(super) fn check(
    root: &Path,
    r: &ValuesCheck,
    readers: Readers<'_>,
    charts: &mut Charts,
    f: &mut Findings,
) {
    let spec = &r.spec;
    let label = format!("{}/{}", r.cluster, spec.release);
    // the schemas that apply: the chart's, and each local subchart's under its key
    let members = charts.closure(root, &spec.chart);
    let schemas: Vec<(Vec<String>, Arc<ChartSchema>)> = members
        .iter()
        .map(|m| (m.key.clone(), chart_schema(root, charts, &m.folder)))
        .collect();
    let has_schema = schemas.iter().any(|(_, s)| s.validator.is_some());
    let schema_files: Vec<&str> = schemas
        .iter()
        .filter(|(_, s)| s.validator.is_some())
        .map(|(_, s)| s.file.as_str())
        .collect();
    let mut docs: Vec<Doc> = Vec::new();
    let mut complete = true;
    for v in &spec.values {
        let file = &v.path;
        // a cluster's file outside its folder (or a symlink out of it) is a cross-file problem
        // already: its content is not ours to judge
        if outside(r, file, charts) {
            complete = false;
            continue;
        }
        if v.kind == ValuesKind::Jsonnet {
            let rendered = (readers.render)(spec, file).and_then(|text| {
                serde_json::from_str::<Json>(&text).map_err(|e| {
                    Undecrypted::Invalid(ConfigError::new(
                        file.clone(),
                        format!("jsonnet rendered no JSON document: {e}"),
                    ))
                })
            });
            match rendered {
                Ok(value) => docs.push(Doc {
                    file: file.clone(),
                    text: None,
                    value,
                    secret: false,
                }),
                Err(Undecrypted::Invalid(e)) => {
                    f.problems.push(e);
                    complete = false;
                }
                Err(Undecrypted::Skipped(why)) => {
                    f.notices.push(Notice::about_file(
                        format!("{label}: {file} not rendered: {why}"),
                        file,
                        &why,
                    ));
                    complete = false;
                }
            }
            continue;
        }
        let secret =
            v.kind == ValuesKind::Encrypted || crate::config::secret_files::is_secret_name(file);
        if v.kind != ValuesKind::Encrypted {
            match &*charts.plain(root, file, secret) {
                Plain::Parsed(text, value) => docs.push(Doc {
                    file: file.clone(),
                    text: Some(text.clone()),
                    value: value.clone(),
                    secret,
                }),
                Plain::Invalid(e) => {
                    f.problems.push(e.clone());
                    complete = false;
                }
                Plain::Missing => {
                    complete = false; // a cross-file problem (or a missing chart file, below)
                    if !paths::is_under(file, CLUSTERS_DIR) {
                        f.problems
                            .push(ConfigError::new(file.clone(), "does not exist"));
                    }
                }
                Plain::Unreadable(e) => {
                    f.problems.push(ConfigError::new(file.clone(), e.clone()));
                    complete = false;
                }
            }
            continue;
        }
        // an encrypted file: it must be there and readable, its content is sops's to give
        match charts.text(root, file) {
            Ok(_) => {}
            Err(crate::config::files::ReadError::Missing) => {
                complete = false; // a cross-file problem (or a missing chart file, below)
                if !paths::is_under(file, CLUSTERS_DIR) {
                    f.problems
                        .push(ConfigError::new(file.clone(), "does not exist"));
                }
                continue;
            }
            Err(e) => {
                f.problems
                    .push(ConfigError::new(file.clone(), e.to_string()));
                complete = false;
                continue;
            }
        }
        if !has_schema {
            continue; // nothing to check the content against
        }
        let text = match (readers.decrypt)(file) {
            Ok(plain) => plain,
            Err(Undecrypted::Invalid(e)) => {
                f.problems.push(e);
                complete = false;
                continue;
            }
            Err(Undecrypted::Skipped(why)) => {
                f.notices.push(Notice::about_file(
                    format!(
                        "{label}: {file} not checked against {}: {why}",
                        schema_files.join(", ")
                    ),
                    file,
                    &why,
                ));
                complete = false;
                continue;
            }
        };
        match crate::config::yaml::check_values_doc(file, &text, secret) {
            Ok(value) => docs.push(Doc {
                file: file.clone(),
                text: Some(text),
                value,
                secret,
            }),
            Err(e) => {
                f.problems.push(e);
                complete = false;
            }
        }
    }
    // Without every file the merged values are not what helm gets: the notice says so.
    if !complete {
        return;
    }
    let over = crate::config::values::merge_values(docs.iter().map(|d| d.value.clone()));
    // the release's values as its chart sees them: its defaults, then the files
    let root_defaults = schemas
        .iter()
        .find(|(k, _)| k.is_empty())
        .map(|(_, c)| c.defaults.clone())
        .unwrap_or(Json::Null);
    let full = crate::config::values::merge_values([root_defaults, over]);
    for (key, chart) in &schemas {
        let Some(validator) = &chart.validator else {
            continue;
        };
        let compiled = match validator {
            Ok(s) => s,
            Err(e) => {
                f.problems.push(e.clone());
                continue;
            }
        };
        // a subchart sees its own defaults, then what its parent sets under its key
        let prefix: String = key.iter().map(|k| format!("/{k}")).collect();
        let merged = if key.is_empty() {
            full.clone()
        } else {
            let mine = full.pointer(&prefix).cloned().unwrap_or(Json::Null);
            crate::config::values::merge_values([chart.defaults.clone(), mine])
        };
        for e in compiled.iter_errors(&merged) {
            let pointer = format!("{prefix}{}", e.instance_path());
            f.problems
                .push(blame(&docs, &pointer, &e, r, &chart.file, &label));
        }
    }
}

/// The error for `pointer`: on the last file that sets it (or a parent of it), at its line.
fn blame(
    docs: &[Doc],
    pointer: &str,
    e: &jsonschema::ValidationError<'_>,
    r: &ValuesCheck,
    schema_file: &str,
    label: &str,
) -> ConfigError {
    let blamed = docs.iter().rev().find_map(|d| match &d.text {
        Some(text) => {
            let (p, at) = Locations::of(text).deepest(pointer)?;
            (!p.is_empty()).then(|| (d.file.clone(), Some(at), d.secret))
        }
        // a rendered jsonnet file: it sets the value when its value has it
        None => d
            .value
            .pointer(pointer)
            .map(|_| (d.file.clone(), None, d.secret)),
    });
    let (file, at, secret) = blamed.unwrap_or_else(|| {
        (
            r.spec
                .values
                .last()
                .map(|v| v.path.clone())
                .unwrap_or_else(|| Cluster::yaml_path(&r.cluster)),
            None,
            docs.iter().any(|d| d.secret),
        )
    });
    // a message about a secret file never quotes its value: it names the field instead
    let message = if secret {
        schema::without_instance(e)
    } else {
        e.to_string()
    };
    let field = if pointer.is_empty() {
        "(top level)".to_string()
    } else {
        crate::config::yaml::dotted(pointer)
    };
    let mut err =
        ConfigError::new(file, format!("{message} (release {label}, {schema_file})")).field(field);
    if let Some((l, c)) = at {
        err = err.at(l, c);
    }
    err
}
