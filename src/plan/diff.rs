//! `deploy diff`: what a change does to each planned release, as data. Pure: the two renders of
//! a release (its base revision's and its head revision's, made by `execute::diff`) come in, the
//! object-by-object differences go out, secrets hidden and noise normalised
//! ([`super::diff_mask`]). Objects are keyed by apiVersion/kind/namespace/name, so resource order
//! never counts; each changed object's difference is a unified diff of its YAML (keys sorted),
//! made by the `similar` crate.

use serde::Serialize;
use serde_json::Value;

use super::diff_mask::{self, Secrets, Unstable};
use super::jobs::Kind;
use super::objects::{ObjectKey, Objects};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One object that differs.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectChange {
    pub change: Change,
    #[serde(flatten)]
    pub key: ObjectKey,
    /// A unified diff (`--- base/…`, `+++ head/…`, hunks), secrets hidden.
    pub diff: String,
}

/// Which revisions have the release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    Both,
    /// New at the head (a hub added, a new cluster).
    Added,
    /// Gone at the head (a hub removed from its cluster.yaml).
    Removed,
}

/// Which revision a render failed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Base,
    Head,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Base => "base",
            Side::Head => "head",
        })
    }
}

/// What comparing one release found.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// Both renders hold the same objects.
    Unchanged,
    Changed {
        objects: Vec<ObjectChange>,
    },
    /// A render failed: why (the other releases are compared all the same).
    Failed {
        side: Side,
        error: String,
    },
}

/// One release's difference.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseDiff {
    pub kind: Kind,
    pub cluster: String,
    /// The hub, or `support`.
    pub release: String,
    pub presence: Presence,
    /// `basehub 0.1.0 → 0.2.0` when the chart's name or version differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Why what is shown may not be the whole truth (an encrypted file that could not be
    /// decrypted, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl ReleaseDiff {
    /// `cluster/release`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.cluster, self.release)
    }

    /// `3 changed, 1 added`, `no change`, `render failed at head`, with `(new hub)` or
    /// `(removed hub)` first when the release is on one side only.
    pub fn summary(&self) -> String {
        let mut s = match &self.outcome {
            Outcome::Unchanged => "no change".to_string(),
            Outcome::Failed { side, .. } => format!("render failed at {side}"),
            Outcome::Changed { objects } => counts(objects),
        };
        match self.presence {
            Presence::Added => s = format!("new release: {s}"),
            Presence::Removed => s = format!("removed release: {s}"),
            Presence::Both => {}
        }
        if let Some(c) = &self.chart {
            s.push_str(&format!("; chart {c}"));
        }
        s
    }

    /// The release's whole diff (every changed object's, in key order), or the error.
    pub fn text(&self) -> String {
        match &self.outcome {
            Outcome::Unchanged => String::new(),
            Outcome::Failed { side, error } => format!("render failed at {side}: {error}\n"),
            Outcome::Changed { objects } => objects.iter().map(|o| o.diff.as_str()).collect(),
        }
    }

    pub fn changed(&self) -> bool {
        !matches!(self.outcome, Outcome::Unchanged)
    }
}

/// `2 changed, 1 added, 1 removed` (the kinds there are).
pub fn counts(objects: &[ObjectChange]) -> String {
    let n = |c: Change| objects.iter().filter(|o| o.change == c).count();
    let parts: Vec<String> = [
        (Change::Changed, "changed"),
        (Change::Added, "added"),
        (Change::Removed, "removed"),
    ]
    .into_iter()
    .filter(|(c, _)| n(*c) > 0)
    .map(|(c, w)| format!("{} {w}", n(c)))
    .collect();
    parts.join(", ")
}

/// What the comparison of one release's two renders needs besides them.
pub struct Context<'a> {
    pub secrets: &'a Secrets,
    pub unstable: &'a Unstable,
    /// How the diff headers name the two sides (`base`, `head`; `live`, `upgrade`).
    pub names: (&'a str, &'a str),
    /// Normalise the noise (not for `--live`, where a label change is a change).
    pub normalise: bool,
}

impl<'a> Context<'a> {
    /// Base against head, noise normalised.
    pub fn revisions(secrets: &'a Secrets, unstable: &'a Unstable) -> Context<'a> {
        Context {
            secrets,
            unstable,
            names: ("base", "head"),
            normalise: true,
        }
    }
}

fn path(key: &ObjectKey) -> String {
    let ns = if key.namespace.is_empty() {
        String::new()
    } else {
        format!("{}/", key.namespace)
    };
    format!("{ns}{}/{}", key.kind, key.name)
}

fn to_yaml(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| serde_yaml::to_string(d).unwrap_or_else(|e| format!("# not shown: {e}\n")))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The objects that differ between `base` and `head` (`None`: the release is not on that side),
/// in key order.
pub fn compare(
    base: Option<&Objects>,
    head: Option<&Objects>,
    cx: &Context<'_>,
) -> Vec<ObjectChange> {
    let empty = Objects::default();
    let (base, head) = (base.unwrap_or(&empty), head.unwrap_or(&empty));
    let mut keys: Vec<&ObjectKey> = base.iter().chain(head.iter()).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let prepare = |docs: Option<&Vec<Value>>| -> Vec<Value> {
            let mut docs = docs.cloned().unwrap_or_default();
            if cx.normalise {
                docs.iter_mut()
                    .for_each(|d| diff_mask::normalise(d, cx.unstable));
            }
            docs
        };
        let (was, is) = (base.get(key), head.get(key));
        let change = match (was, is) {
            (None, _) => Change::Added,
            (_, None) => Change::Removed,
            _ => Change::Changed,
        };
        let (mut a, mut b) = (prepare(was), prepare(is));
        for i in 0..a.len().max(b.len()) {
            let (x, y) = (a.get_mut(i), b.get_mut(i));
            diff_mask::mask_pair(x, y, cx.secrets);
        }
        let (ta, tb) = (to_yaml(&a), to_yaml(&b));
        if ta == tb {
            continue;
        }
        let p = path(key);
        let from = if was.is_some() {
            format!("{}/{p}", cx.names.0)
        } else {
            "/dev/null".into()
        };
        let to = if is.is_some() {
            format!("{}/{p}", cx.names.1)
        } else {
            "/dev/null".into()
        };
        let diff = similar::TextDiff::from_lines(&ta, &tb)
            .unified_diff()
            .context_radius(3)
            .header(&from, &to)
            .missing_newline_hint(false)
            .to_string();
        out.push(ObjectChange {
            change,
            key: key.clone(),
            diff,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objs(t: &str) -> Objects {
        Objects::parse(t).unwrap()
    }

    fn cx<'a>(s: &'a Secrets, u: &'a Unstable) -> Context<'a> {
        Context::revisions(s, u)
    }

    const BASE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hub-config, namespace: prod, labels: {helm.sh/chart: basehub-0.1.0}}\ndata:\n  a: '1'\n  b: '2'\n  c: '3'\n---\napiVersion: v1\nkind: Service\nmetadata: {name: gone, namespace: prod}\n";
    const HEAD: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: new, namespace: prod}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: hub-config, namespace: prod, labels: {helm.sh/chart: basehub-0.2.0}}\ndata:\n  a: '1'\n  b: 'two'\n  c: '3'\n";

    #[test]
    fn objects_are_added_removed_and_changed_with_a_unified_diff_of_the_changed_lines() {
        let (s, u) = (Secrets::default(), Unstable::new());
        let d = compare(Some(&objs(BASE)), Some(&objs(HEAD)), &cx(&s, &u));
        let what: Vec<(Change, String)> = d.iter().map(|o| (o.change, o.key.short())).collect();
        assert_eq!(
            what,
            [
                (Change::Changed, "ConfigMap/hub-config".into()),
                (Change::Removed, "Service/gone".into()),
                (Change::Added, "Service/new".into()),
            ]
        );
        assert_eq!(
            d[0].diff,
            "--- base/prod/ConfigMap/hub-config\n+++ head/prod/ConfigMap/hub-config\n@@ -1,7 +1,7 @@\n apiVersion: v1\n data:\n   a: '1'\n-  b: '2'\n+  b: two\n   c: '3'\n kind: ConfigMap\n metadata:\n"
        );
        assert!(
            d[1].diff
                .starts_with("--- base/prod/Service/gone\n+++ /dev/null\n")
        );
        assert!(d[2].diff.contains("+kind: Service\n"));
        assert_eq!(counts(&d), "1 changed, 1 added, 1 removed");
    }

    #[test]
    fn order_and_chart_version_labels_alone_are_no_change() {
        let (s, u) = (Secrets::default(), Unstable::new());
        let head = HEAD
            .replace("b: 'two'", "b: '2'")
            .replace("name: new", "name: gone");
        assert!(compare(Some(&objs(BASE)), Some(&objs(&head)), &cx(&s, &u)).is_empty());
    }

    #[test]
    fn a_new_release_is_all_added() {
        let (s, u) = (Secrets::default(), Unstable::new());
        let d = compare(None, Some(&objs(HEAD)), &cx(&s, &u));
        assert!(d.iter().all(|o| o.change == Change::Added));
        assert!(d[0].diff.starts_with("--- /dev/null\n+++ head/"));
    }
}
