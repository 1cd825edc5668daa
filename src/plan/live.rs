//! `--live`: which planned releases would really change the cluster. Pure: the manifests and
//! values come in as text (fetched by `execute::live`), the verdicts go out as data.
//!
//! Two manifests are equal when they hold the same Kubernetes objects, keyed by
//! apiVersion/kind/namespace/name: YAML formatting, comments, document order and map key order
//! do not count; list order does (Kubernetes treats most lists as ordered: containers, env, args),
//! and so do value types (`"1"` is not `1`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::jobs::{Job, Kind};
pub use super::objects::{ObjectDiff, ObjectKey, Objects, diff};

/// The reason given for a job dropped because nothing would change.
pub const NO_CHANGE: &str = "no change (rendered manifests equal live release)";
/// The reason given for a canary dropped with every prod hub it was a canary for.
pub const CANARY_NOT_NEEDED: &str =
    "no change needed (staging canary for prod hubs that are all unchanged)";

/// The chart a release runs or would run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartId {
    pub name: String,
    pub version: String,
    pub app_version: String,
}

/// Everything the comparison needs about one release, on both sides.
#[derive(Clone, Debug, Default)]
pub struct Sides {
    /// Shared: one render may serve several releases.
    pub rendered: std::sync::Arc<Objects>,
    pub live: Objects,
    pub chart: ChartId,
    pub live_chart: ChartId,
    /// The user-supplied values: the values files merged in order (and `--set-string`s), and
    /// what `helm get values` returns.
    pub values: Value,
    pub live_values: Value,
}

/// Compare one release: `None` when an upgrade would change nothing, else a short summary of what
/// differs (`1 changed (ConfigMap/hub-config); chart basehub 0.1.0 → 0.2.0`).
pub fn compare(s: &Sides) -> Option<String> {
    let mut parts = diff(&s.rendered, &s.live).summary();
    if s.chart.name != s.live_chart.name || s.chart.version != s.live_chart.version {
        parts.push(format!(
            "chart {} {} → {} {}",
            s.live_chart.name, s.live_chart.version, s.chart.name, s.chart.version
        ));
    }
    if s.chart.app_version != s.live_chart.app_version {
        parts.push(format!(
            "app version {} → {}",
            or_none(&s.live_chart.app_version),
            or_none(&s.chart.app_version)
        ));
    }
    if !values_equal(&s.values, &s.live_values) {
        parts.push("user-supplied values differ".into());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "(none)" } else { s }
}

/// Values as helm stores them: helm reads YAML through JSON into float64s, so `1`, `1.0` and
/// `1e0` are one number; an empty map and no values at all are the same.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    fn norm(v: &Value) -> Value {
        match v {
            Value::Number(n) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| v.clone(), Value::Number),
            Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), norm(v))).collect())
            }
            _ => v.clone(),
        }
    }
    let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(|m| m.is_empty());
    (empty(a) && empty(b)) || norm(a) == norm(b)
}

/// What the live check found for one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Live {
    /// An upgrade would change nothing.
    Unchanged,
    /// It would: what differs.
    Changed(String),
    /// Not comparable, so kept: not installed, not `deployed`, a dry run.
    Kept(String),
    /// The check itself failed (the cluster unreachable, a render error): kept.
    Failed(String),
}

/// What happens to a job after the live check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Upgrade it; the note says what the check found.
    Keep(String),
    /// Do not: why.
    Drop(String),
}

impl Decision {
    pub fn is_drop(&self) -> bool {
        matches!(self, Decision::Drop(_))
    }
}

/// A staging job that is only there as a canary for the cluster's prod hubs (the planner's
/// reason then is nothing but "staging canary for prod hubs", which it only ever gives alone).
pub fn canary_only(job: &Job) -> bool {
    job.kind == Kind::Staging
        && job
            .reason
            .starts_with(&super::reasons::Cause::Canary.to_string())
}

/// The verdicts, one per job in the same order, turned into decisions. Unchanged jobs are
/// dropped; then, in a cluster whose prod jobs were all dropped, so are the staging jobs that
/// were only canaries for them (a staging hub planned for its own changes keeps its verdict).
pub fn decide(jobs: &[Job], live: &[Live]) -> Vec<Decision> {
    let mut out: Vec<Decision> = live
        .iter()
        .map(|l| match l {
            Live::Unchanged => Decision::Drop(NO_CHANGE.to_string()),
            Live::Changed(s) => Decision::Keep(format!("changes: {s}")),
            Live::Kept(s) => Decision::Keep(s.clone()),
            Live::Failed(s) => Decision::Keep(format!("live check failed: {s}")),
        })
        .collect();
    let mut prods: BTreeMap<&str, (usize, usize)> = BTreeMap::new(); // cluster -> (prod, dropped)
    for (j, d) in jobs.iter().zip(&out) {
        if j.kind == Kind::Prod {
            let e = prods.entry(&j.cluster).or_default();
            e.0 += 1;
            e.1 += usize::from(d.is_drop());
        }
    }
    for (j, d) in jobs.iter().zip(out.iter_mut()) {
        let all_prod_dropped = prods
            .get(j.cluster.as_str())
            .is_some_and(|(n, dropped)| n == dropped);
        if canary_only(j) && all_prod_dropped && !d.is_drop() {
            *d = Decision::Drop(CANARY_NOT_NEEDED.to_string());
        }
    }
    out
}

/// Apply the decisions for `jobs` (which are `jobs::jobs(plan)`, in that order) to the plan: kept
/// jobs carry their note, dropped ones move to `plan.dropped`.
pub fn apply(plan: &mut super::multi::Plan, jobs: &[Job], decisions: &[Decision]) {
    use super::multi::DroppedJob;
    let mut by: BTreeMap<(Kind, &str, &str), &Decision> = BTreeMap::new();
    for (j, d) in jobs.iter().zip(decisions) {
        by.insert((j.kind, &j.cluster, &j.release), d);
    }
    plan.live = true;
    let mut dropped = Vec::new();
    let mut keep = |kind: Kind,
                    cluster: &str,
                    release: &str,
                    provider,
                    reasons: &super::reasons::Reasons,
                    live: &mut Option<String>|
     -> bool {
        match by.get(&(kind, cluster, release)) {
            Some(Decision::Drop(why)) => {
                dropped.push(DroppedJob {
                    kind,
                    provider,
                    cluster: cluster.to_string(),
                    release: release.to_string(),
                    reasons: reasons.clone(),
                    why: why.clone(),
                });
                false
            }
            Some(Decision::Keep(note)) => {
                *live = Some(note.clone());
                true
            }
            None => true,
        }
    };
    plan.support.retain_mut(|j| {
        keep(
            Kind::Support,
            &j.cluster,
            "support",
            j.provider,
            &j.reasons,
            &mut j.live,
        )
    });
    plan.staging.retain_mut(|j| {
        keep(
            Kind::Staging,
            &j.cluster,
            &j.hub,
            j.provider,
            &j.reasons,
            &mut j.live,
        )
    });
    plan.prod.retain_mut(|j| {
        keep(
            Kind::Prod,
            &j.cluster,
            &j.hub,
            j.provider,
            &j.reasons,
            &mut j.live,
        )
    });
    plan.dropped = dropped;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cluster::Provider;
    use serde_json::json;

    fn objs(t: &str) -> Objects {
        Objects::parse(t).unwrap()
    }

    const CM: &str = "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hub-config\n  labels: {a: '1', b: '2'}\ndata:\n  x: \"1\"\n";

    #[test]
    fn formatting_comments_and_map_key_order_do_not_count() {
        let other = "apiVersion: v1\ndata: {x: '1'}\nkind: ConfigMap\nmetadata:\n    labels:\n        b: \"2\"\n        a: \"1\"\n    name: hub-config\n\n---\n";
        assert!(diff(&objs(CM), &objs(other)).is_empty());
    }

    #[test]
    fn document_order_does_not_count() {
        let a = format!("{CM}---\napiVersion: v1\nkind: Service\nmetadata: {{name: hub}}\n");
        let b = format!("apiVersion: v1\nkind: Service\nmetadata: {{name: hub}}\n{CM}");
        assert!(diff(&objs(&a), &objs(&b)).is_empty());
    }

    #[test]
    fn list_order_counts() {
        let a = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}, {name: b}]}\n";
        let b = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: b}, {name: a}]}\n";
        let d = diff(&objs(a), &objs(b));
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].short(), "Pod/p");
    }

    #[test]
    fn value_types_count() {
        let a = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {x: '1'}\n";
        let b = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {x: 1}\n";
        assert_eq!(diff(&objs(a), &objs(b)).changed.len(), 1);
    }

    #[test]
    fn added_removed_changed_and_summary() {
        let live = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: gone}\n";
        let new = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '2'}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hub}\n";
        let s = Sides {
            rendered: objs(new).into(),
            live: objs(live),
            ..Sides::default()
        };
        assert_eq!(
            compare(&s).unwrap(),
            "1 changed (ConfigMap/a); 1 added (Deployment/hub); 1 removed (Secret/gone)"
        );
    }

    #[test]
    fn the_same_name_in_two_namespaces_or_kinds_is_two_objects() {
        let a = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: x}\n";
        let b = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: y}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: x}\n";
        let d = diff(&objs(a), &objs(b));
        assert_eq!((d.added.len(), d.removed.len(), d.changed.len()), (1, 1, 0));
    }

    #[test]
    fn empty_documents_are_skipped_and_bad_yaml_is_an_error() {
        assert!(objs("---\n# Source: x\n---\n\n").is_empty());
        assert!(Objects::parse("a: [\n").is_err());
    }

    #[test]
    fn long_lists_are_cut() {
        let text: String = (0..8)
            .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"))
            .collect();
        let s = Sides {
            rendered: objs(&text).into(),
            ..Sides::default()
        };
        assert_eq!(
            compare(&s).unwrap(),
            "8 added (ConfigMap/c0, ConfigMap/c1, ConfigMap/c2, ConfigMap/c3, ConfigMap/c4, +3 more)"
        );
    }

    #[test]
    fn chart_version_app_version_and_values_count_even_with_equal_manifests() {
        let chart = ChartId {
            name: "basehub".into(),
            version: "0.1.0".into(),
            app_version: "4.1.5".into(),
        };
        let base = Sides {
            rendered: objs(CM).into(),
            live: objs(CM),
            chart: chart.clone(),
            live_chart: chart.clone(),
            values: json!({"a": 1}),
            live_values: json!({"a": 1.0}),
        };
        assert_eq!(compare(&base), None);
        let mut s = base.clone();
        s.live_chart.version = "0.0.9".into();
        assert_eq!(compare(&s).unwrap(), "chart basehub 0.0.9 → basehub 0.1.0");
        let mut s = base.clone();
        s.live_chart.app_version = String::new();
        assert_eq!(compare(&s).unwrap(), "app version (none) → 4.1.5");
        let mut s = base;
        s.live_values = json!({"a": 2});
        assert_eq!(compare(&s).unwrap(), "user-supplied values differ");
    }

    #[test]
    fn values_compare_as_helm_stores_them() {
        assert!(values_equal(&json!(null), &json!({})));
        assert!(values_equal(
            &json!({"a": [1, 2]}),
            &json!({"a": [1.0, 2.0]})
        ));
        assert!(!values_equal(&json!({"a": [1, 2]}), &json!({"a": [2, 1]})));
        assert!(!values_equal(&json!({"a": "1"}), &json!({"a": 1})));
        let mut v = json!({"image": {"name": "x"}});
        crate::config::values::set_string(&mut v, "image.tag", "abc");
        assert_eq!(v, json!({"image": {"name": "x", "tag": "abc"}}));
    }

    fn job(kind: Kind, cluster: &str, release: &str, reason: &str) -> Job {
        Job {
            kind,
            provider: Provider::Gcp,
            cluster: cluster.into(),
            release: release.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn canaries_go_with_their_prod_hubs_own_staging_changes_stay() {
        let canary = "staging canary for prod hubs: p1, p2";
        let jobs = [
            job(
                Kind::Support,
                "a",
                "support",
                "support values files changed: x",
            ),
            job(Kind::Staging, "a", "staging", canary),
            job(Kind::Prod, "a", "p1", "values files changed: y"),
            job(Kind::Prod, "a", "p2", "values files changed: z"),
            // b: its staging hub changed itself; its prod hub is unchanged
            job(Kind::Staging, "b", "staging", "chart basehub changed: c"),
            job(Kind::Prod, "b", "p1", "chart basehub changed: c"),
            // c: one prod hub changes, so the canary stays
            job(Kind::Staging, "c", "staging", canary),
            job(Kind::Prod, "c", "p1", "values files changed: y"),
            job(Kind::Prod, "c", "p2", "values files changed: z"),
        ];
        let changed = || Live::Changed("1 changed (ConfigMap/x)".into());
        let live = [
            changed(),
            changed(),
            Live::Unchanged,
            Live::Unchanged,
            changed(),
            Live::Unchanged,
            Live::Kept("not installed".into()),
            Live::Unchanged,
            changed(),
        ];
        let d = decide(&jobs, &live);
        assert_eq!(
            d[0],
            Decision::Keep("changes: 1 changed (ConfigMap/x)".into())
        );
        assert_eq!(d[1], Decision::Drop(CANARY_NOT_NEEDED.into()));
        assert_eq!(d[2], Decision::Drop(NO_CHANGE.into()));
        assert!(!d[4].is_drop(), "own changes stay");
        assert!(d[5].is_drop());
        assert_eq!(d[6], Decision::Keep("not installed".into()));
        assert!(d[7].is_drop() && !d[8].is_drop());
    }

    #[test]
    fn a_canary_with_no_prod_jobs_in_its_cluster_is_left_alone() {
        // (a plan read from JSON may hold the staging half only)
        let jobs = [job(
            Kind::Staging,
            "a",
            "staging",
            "staging canary for prod hubs: p1",
        )];
        let d = decide(&jobs, &[Live::Changed("x".into())]);
        assert!(!d[0].is_drop());
    }
}
