//! Why a job is planned: every reason names the file (full repo-relative path) or label behind it.

use std::fmt;

/// One kind of cause; the paths (or names) that triggered it are collected per kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// A values file of this hub changed.
    HubFile,
    /// The hub's `chart_override` (the Chart.yaml that replaces its chart's) changed.
    ChartOverride,
    /// The hub's `domain_override_file` (its domain, encrypted) changed.
    DomainOverride,
    SupportFile,
    /// A file of chart `changed`; `via` is the release's chart when it only depends on it.
    Chart {
        changed: String,
        via: Option<String>,
    },
    /// A file under helm-charts/ outside any chart folder.
    HelmChartsOther,
    /// A path configured (plan.all_hubs) to redeploy every hub.
    AllHubs,
    /// cluster.yaml changed; the text says what the diff touched.
    ClusterYaml(String),
    Label(String),
    /// Deployed first as a canary for these prod hubs.
    Canary,
    /// Legacy layout: a file that is part of the chart's release or image.
    LegacyFile(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::HubFile => f.write_str("values files changed"),
            Cause::ChartOverride => f.write_str("chart_override changed"),
            Cause::DomainOverride => f.write_str("domain_override_file changed"),
            Cause::SupportFile => f.write_str("support values files changed"),
            Cause::Chart { changed, via: None } => write!(f, "chart {changed} changed"),
            Cause::Chart {
                changed,
                via: Some(via),
            } => {
                write!(f, "chart {changed} (a dependency of {via}) changed")
            }
            Cause::HelmChartsOther => f.write_str("helm-charts/ files outside any chart changed"),
            Cause::AllHubs => f.write_str("files that redeploy every hub changed"),
            Cause::ClusterYaml(what) => write!(f, "cluster.yaml changed ({what})"),
            Cause::Label(l) => write!(f, "label {l}"),
            Cause::Canary => f.write_str("staging canary for prod hubs"),
            Cause::LegacyFile(what) => write!(f, "{what} changed"),
        }
    }
}

/// All reasons of one job, rendered deterministically:
/// `values files changed: config/clusters/a/x.values.yaml; label deployer:deploy-hubs`.
///
/// Causes sorted, each with its paths sorted and unique: what a map of sets would hold, in two
/// small sorted lists (a plan of thousands of hubs holds one of these per hub; a map's nodes
/// took about a kilobyte each).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reasons(Vec<(Cause, Vec<String>)>);

impl Reasons {
    pub fn add(&mut self, cause: Cause, what: impl Into<String>) {
        let what = what.into();
        // Grown one at a time: a job has one or two causes and paths, and a list's first
        // growth would make room for four.
        let i = match self.0.binary_search_by(|(c, _)| c.cmp(&cause)) {
            Ok(i) => i,
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (cause, Vec::new()));
                i
            }
        };
        let set = &mut self.0[i].1;
        if !what.is_empty()
            && let Err(j) = set.binary_search(&what)
        {
            set.reserve_exact(1);
            set.insert(j, what);
        }
    }

    pub fn merge(&mut self, other: &Reasons) {
        for (c, set) in &other.0 {
            if set.is_empty() {
                self.add(c.clone(), "");
            }
            for w in set {
                self.add(c.clone(), w.as_str());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any cause other than `Canary` is present.
    pub fn has_own_cause(&self) -> bool {
        self.0.iter().any(|(c, _)| *c != Cause::Canary)
    }
}

impl fmt::Display for Reasons {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (cause, what)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{cause}")?;
            if !what.is_empty() {
                f.write_str(": ")?;
                for (j, w) in what.iter().enumerate() {
                    if j > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(w)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sorted_and_grouped() {
        let mut r = Reasons::default();
        r.add(Cause::Label("deployer:deploy-hubs".into()), "");
        r.add(Cause::HubFile, "config/clusters/a/z.yaml");
        r.add(Cause::HubFile, "config/clusters/a/b.yaml");
        r.add(Cause::HubFile, "config/clusters/a/b.yaml");
        assert_eq!(
            r.to_string(),
            "values files changed: config/clusters/a/b.yaml, config/clusters/a/z.yaml; label deployer:deploy-hubs"
        );
    }

    #[test]
    fn hold_what_a_map_of_sets_holds_whatever_the_order_added() {
        let chart = || Cause::Chart {
            changed: "basehub".into(),
            via: None,
        };
        let mut a = Reasons::default();
        a.add(Cause::Canary, "");
        a.add(Cause::HubFile, "b");
        a.add(chart(), "x");
        a.add(Cause::HubFile, "a");
        a.add(Cause::HubFile, "b");
        let mut b = Reasons::default();
        b.add(chart(), "x");
        b.add(Cause::HubFile, "a");
        b.add(Cause::Canary, "");
        b.add(Cause::HubFile, "");
        b.add(Cause::HubFile, "b");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(
            a.to_string(),
            "values files changed: a, b; chart basehub changed: x; staging canary for prod hubs"
        );
        // merging: a cause with no paths still counts
        let mut c = Reasons::default();
        c.add(Cause::HubFile, "a");
        let mut d = Reasons::default();
        d.add(Cause::Canary, "");
        d.add(Cause::HubFile, "b");
        d.add(chart(), "x");
        c.merge(&d);
        assert_eq!(c, a);
        assert!(c.has_own_cause());
        let mut only_canary = Reasons::default();
        only_canary.add(Cause::Canary, "prod-1");
        assert!(!only_canary.has_own_cause());
        assert!(Reasons::default().is_empty());
    }
}
