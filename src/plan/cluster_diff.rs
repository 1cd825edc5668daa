//! What changed between two versions of a cluster.yaml, for the `--base` rule: the cluster-wide
//! keys that matter to a deploy, and the hub entries added, changed and removed.

use std::collections::BTreeMap;

use serde_yaml::Value;

/// Keys whose change redeploys support and every hub of the cluster.
const CLUSTER_KEYS: [&str; 6] = ["provider", "gcp", "aws", "azure", "kubeconfig", "support"];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClusterDiff {
    /// Of [`CLUSTER_KEYS`], those that differ.
    pub cluster_keys: Vec<&'static str>,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// Hub entries by name (an entry without a name is not a hub to compare).
fn hubs_by_name(v: &Value) -> BTreeMap<String, &Value> {
    v.get("hubs")
        .and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .filter_map(|h| Some((h.get("name")?.as_str()?.to_string(), h)))
                .collect()
        })
        .unwrap_or_default()
}

/// Compare the base (`old`) and new parses of one cluster.yaml; lists are sorted by hub name.
pub fn diff(old: &Value, new: &Value) -> ClusterDiff {
    let (old_hubs, new_hubs) = (hubs_by_name(old), hubs_by_name(new));
    let mut d = ClusterDiff {
        cluster_keys: CLUSTER_KEYS
            .into_iter()
            .filter(|k| old.get(k) != new.get(k))
            .collect(),
        ..ClusterDiff::default()
    };
    for (name, entry) in &new_hubs {
        match old_hubs.get(name) {
            None => d.added.push(name.clone()),
            Some(o) if o != entry => d.changed.push(name.clone()),
            Some(_) => {}
        }
    }
    d.removed = old_hubs
        .keys()
        .filter(|n| !new_hubs.contains_key(*n))
        .cloned()
        .collect();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_entries_and_cluster_keys() {
        let old: Value = serde_yaml::from_str(
            "provider: gcp\nmetadata: {a: 1}\nhubs: [{name: a, x: 1}, {name: b}, {name: c}]\n",
        )
        .unwrap();
        let new: Value = serde_yaml::from_str(
            "provider: aws\nmetadata: {a: 2}\nhubs: [{name: c}, {name: a, x: 2}, {name: d}]\n",
        )
        .unwrap();
        assert_eq!(
            diff(&old, &new),
            ClusterDiff {
                cluster_keys: vec!["provider"],
                added: vec!["d".into()],
                changed: vec!["a".into()],
                removed: vec!["b".into()],
            }
        );
    }
}
