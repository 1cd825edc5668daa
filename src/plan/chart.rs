//! What a release's chart is made of, read from the charts' Chart.yaml files: its local
//! (`file://`) dependencies, which `helm dependency update` must vendor inner first (basehub
//! before daskhub, or daskhub's copy of basehub lacks basehub's own subcharts), and the version of
//! a named remote dependency (dask-gateway, whose CRDs a hub needs).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::config::charts::ChartYaml;
use crate::config::paths;

/// Reads a repo file's text (repo-relative path); `None` when it cannot be read.
pub type Read<'a> = &'a dyn Fn(&str) -> Option<Arc<str>>;

/// Chart.yaml texts already parsed in this process, by content: a chart's closure is asked for
/// every release that uses it (5,000 times in a large repo), its Chart.yaml parsed once.
type Parsed = HashMap<Arc<str>, Option<Arc<ChartYaml>>>;
static PARSED: LazyLock<Mutex<Parsed>> = LazyLock::new(Default::default);

fn chart_yaml(read: Read<'_>, file: &str) -> Option<Arc<ChartYaml>> {
    let text = read(file)?;
    let lock = || PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = lock().get(&text) {
        return c.clone();
    }
    // (errors are the loader's to report: here a Chart.yaml that does not parse has no deps)
    let c = crate::config::yaml::from_str(file, &text)
        .ok()
        .map(Arc::new);
    lock().insert(text, c.clone());
    c
}

/// A chart's local dependency folders (repo-relative) with their keys, from `file` (its
/// Chart.yaml, or a replacement of it), and whether it has dependencies at all.
fn local_deps(read: Read<'_>, dir: &str, file: &str) -> (bool, Vec<(String, String)>) {
    let Some(c) = chart_yaml(read, file) else {
        return (false, Vec::new());
    };
    let deps = c
        .dependencies
        .iter()
        .filter_map(|d| {
            let rel = d.repository.as_deref()?.strip_prefix("file://")?;
            let folder = paths::join(dir, rel).ok()?;
            Some((d.alias.clone().unwrap_or_else(|| d.name.clone()), folder))
        })
        .collect();
    (!c.dependencies.is_empty(), deps)
}

/// One chart of a release's closure: its folder, and the key its values sit under in the
/// release's values (empty for the release's own chart; `basehub` for daskhub's basehub).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub folder: String,
    pub key: Vec<String>,
    /// Its Chart.yaml lists dependencies: `helm dependency update` has work to do.
    pub has_deps: bool,
}

impl Member {
    /// Whether `inner` is this chart or one it depends on (directly or not).
    pub fn holds(&self, inner: &Member) -> bool {
        inner.key.starts_with(&self.key)
    }
}

/// The charts a release's chart is made of, inner first, the chart itself last. `chart_yaml_of`
/// gives the Chart.yaml to read for a folder (a `chart_override` replaces one of them).
pub fn closure(read: Read<'_>, chart: &str, chart_yaml_of: &dyn Fn(&str) -> String) -> Vec<Member> {
    fn visit(
        read: Read<'_>,
        folder: &str,
        key: Vec<String>,
        chart_yaml_of: &dyn Fn(&str) -> String,
        out: &mut Vec<Member>,
        depth: usize,
    ) {
        if depth > 16 || out.iter().any(|m| m.folder == folder) {
            return; // a cycle, or a chart reached twice: once is enough
        }
        let (has_deps, deps) = local_deps(read, folder, &chart_yaml_of(folder));
        for (name, dep) in deps {
            let mut k = key.clone();
            k.push(name);
            visit(read, &dep, k, chart_yaml_of, out, depth + 1);
        }
        out.push(Member {
            folder: folder.to_string(),
            key,
            has_deps,
        });
    }
    let mut out = Vec::new();
    visit(read, chart, Vec::new(), chart_yaml_of, &mut out, 0);
    out
}

/// The member of `members` whose Chart.yaml depends on `name` (a remote chart), and that
/// dependency's version.
pub fn find_dependency(
    read: Read<'_>,
    members: &[Member],
    name: &str,
    chart_yaml_of: &dyn Fn(&str) -> String,
) -> Option<(Member, String)> {
    members.iter().find_map(|m| {
        let c = chart_yaml(read, &chart_yaml_of(&m.folder))?;
        let d = c.dependencies.iter().find(|d| d.name == name)?;
        let version = match d.version.as_ref()? {
            serde_yaml::Value::String(s) => s.clone(),
            v => serde_yaml::to_string(v).ok()?.trim().to_string(),
        };
        Some((m.clone(), version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(files: &[(&str, &str)]) -> impl Fn(&str) -> Option<Arc<str>> {
        let files: Vec<(String, Arc<str>)> = files
            .iter()
            .map(|(p, t)| (p.to_string(), Arc::from(*t)))
            .collect();
        move |p: &str| files.iter().find(|(f, _)| f == p).map(|(_, t)| t.clone())
    }

    #[test]
    fn inner_charts_come_first_and_a_dependency_is_found_with_its_key() {
        let read = world(&[
            (
                "helm-charts/daskhub/Chart.yaml",
                "name: daskhub\ndependencies:\n- {name: basehub, version: 0.1.0, repository: 'file://../basehub'}\n",
            ),
            (
                "helm-charts/basehub/Chart.yaml",
                "name: basehub\ndependencies:\n- {name: jupyterhub, version: 4.3.3, repository: https://x}\n- {name: dask-gateway, version: 2026.3.0, repository: https://helm.dask.org/}\n",
            ),
            (
                "override.yaml",
                "name: basehub\ndependencies:\n- {name: dask-gateway, version: 2025.1.0, repository: https://helm.dask.org/}\n",
            ),
        ]);
        let plain = |f: &str| format!("{f}/Chart.yaml");
        let m = closure(&read, "helm-charts/daskhub", &plain);
        assert_eq!(
            m,
            vec![
                Member {
                    folder: "helm-charts/basehub".into(),
                    key: vec!["basehub".into()],
                    has_deps: true,
                },
                Member {
                    folder: "helm-charts/daskhub".into(),
                    key: vec![],
                    has_deps: true,
                },
            ]
        );
        let (who, v) = find_dependency(&read, &m, "dask-gateway", &plain).unwrap();
        assert_eq!(
            (who.folder.as_str(), v.as_str()),
            ("helm-charts/basehub", "2026.3.0")
        );
        // a chart_override replaces basehub's Chart.yaml
        let overridden = |f: &str| {
            if f == "helm-charts/basehub" {
                "override.yaml".to_string()
            } else {
                plain(f)
            }
        };
        let (_, v) = find_dependency(&read, &m, "dask-gateway", &overridden).unwrap();
        assert_eq!(v, "2025.1.0");
    }
}
