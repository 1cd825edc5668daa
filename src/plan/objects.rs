//! The Kubernetes objects of a manifest (a render, or a live release), keyed by
//! apiVersion/kind/namespace/name, and how two sets differ. YAML formatting, comments, document
//! order and map key order do not count; list order and value types do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// What identifies an object in a release.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    fn of(v: &Value) -> ObjectKey {
        let s = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        ObjectKey {
            api_version: s("/apiVersion"),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
        }
    }

    /// `Kind/name` as people say it (`Deployment/hub`).
    pub fn short(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// The objects of a rendered or stored manifest (one or more YAML documents).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Objects(BTreeMap<ObjectKey, Vec<Value>>);

impl Objects {
    /// Parse every document; empty documents (a template that rendered nothing) are skipped.
    pub fn parse(text: &str) -> Result<Objects, String> {
        let mut out: BTreeMap<ObjectKey, Vec<Value>> = BTreeMap::new();
        for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let v = <Value as serde::Deserialize>::deserialize(doc)
                .map_err(|e| format!("document {}: {e}", i + 1))?;
            if v.is_null() {
                continue;
            }
            out.entry(ObjectKey::of(&v)).or_default().push(v);
        }
        Ok(Objects(out))
    }

    /// Both manifests' objects together (a release's manifest plus its hooks).
    pub fn extend(&mut self, other: Objects) {
        for (k, mut v) in other.0 {
            self.0.entry(k).or_default().append(&mut v);
        }
    }

    /// The objects, by key (the documents with one key, in the order they came).
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Vec<Value>)> {
        self.0.iter()
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Vec<Value>> {
        self.0.get(key)
    }

    pub fn len(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Which objects an upgrade would add, remove or change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectDiff {
    pub added: Vec<ObjectKey>,
    pub removed: Vec<ObjectKey>,
    pub changed: Vec<ObjectKey>,
}

impl ObjectDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// `1 changed (ConfigMap/hub-config)`, `2 added (…)`, … for each kind of difference there is.
    pub fn summary(&self) -> Vec<String> {
        let mut parts = Vec::new();
        names(&mut parts, "changed", &self.changed);
        names(&mut parts, "added", &self.added);
        names(&mut parts, "removed", &self.removed);
        parts
    }
}

/// `rendered` (what the upgrade would apply) against `live` (what the release holds).
pub fn diff(rendered: &Objects, live: &Objects) -> ObjectDiff {
    let mut d = ObjectDiff::default();
    for (k, v) in &rendered.0 {
        match live.0.get(k) {
            None => d.added.push(k.clone()),
            Some(l) if l != v => d.changed.push(k.clone()),
            Some(_) => {}
        }
    }
    d.removed = live
        .0
        .keys()
        .filter(|k| !rendered.0.contains_key(*k))
        .cloned()
        .collect();
    d
}

/// How many names a summary lists per category before "+N more".
const NAMES_SHOWN: usize = 5;

fn names(out: &mut Vec<String>, what: &str, keys: &[ObjectKey]) {
    if keys.is_empty() {
        return;
    }
    let mut s = format!("{} {what} (", keys.len());
    for (i, k) in keys.iter().take(NAMES_SHOWN).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&k.short());
    }
    if keys.len() > NAMES_SHOWN {
        let _ = write!(s, ", +{} more", keys.len() - NAMES_SHOWN);
    }
    s.push(')');
    out.push(s);
}
