//! The rules that give every cluster its jobs alike: a chart changed (each release that uses it),
//! a path that redeploys every hub (`plan.all_hubs`), the deploy labels. Each needs only the
//! cluster itself, so they run on the thread that loaded it, as soon as it is parsed (at 5000
//! hubs, a base chart change gives 5000 hub jobs: that work is spread over the loader threads
//! instead of waiting for the last cluster and then running on one).

use std::collections::{BTreeMap, BTreeSet};

use super::{Acc, LABEL_DEPLOY_HUBS, LABEL_DEPLOY_SUPPORT};
use crate::config::charts::ChartGraph;
use crate::config::cluster::Cluster;
use crate::plan::reasons::Cause;
use crate::plan::release::{hub_chart, support_chart};

/// A changed path under helm-charts/ and what it changes.
enum ChartPath<'a> {
    /// A file of a chart folder.
    Chart { path: &'a str, chart: ChartUse },
    /// A file outside any chart folder.
    Other(&'a str),
}

/// A changed chart and the charts that use it, directly or not.
struct ChartUse {
    /// Its folder (`helm-charts/basehub`).
    dir: String,
    /// Its name (`basehub`).
    changed: String,
    users: BTreeSet<String>,
    /// Whether the support chart uses it, and through which chart (`None`: it is the support
    /// chart itself).
    support_via: Option<Option<String>>,
}

#[derive(Default)]
pub(super) struct FleetRules<'a> {
    charts: Vec<ChartPath<'a>>,
    all_hub_paths: Vec<&'a str>,
    deploy_support: bool,
    deploy_hubs: bool,
}

impl<'a> FleetRules<'a> {
    /// The rules for these changed chart paths (`graph`: the repo's charts, `None` when they
    /// could not be read: the caller reports that), paths that redeploy every hub, and labels.
    pub(super) fn new(
        chart_paths: &[&'a str],
        graph: Option<&ChartGraph>,
        all_hub_paths: Vec<&'a str>,
        deploy_support: bool,
        deploy_hubs: bool,
    ) -> Self {
        let charts = graph.map_or_else(Vec::new, |graph| {
            chart_paths
                .iter()
                .map(|&path| match graph.chart_of(path) {
                    Some(dir) => {
                        let users = graph.users_of(dir);
                        let support = support_chart();
                        let support_via = users
                            .contains(&support)
                            .then(|| (support != dir).then(|| "support".to_string()));
                        let chart = ChartUse {
                            dir: dir.to_string(),
                            changed: dir.rsplit('/').next().unwrap_or(dir).to_string(),
                            users,
                            support_via,
                        };
                        ChartPath::Chart { path, chart }
                    }
                    None => ChartPath::Other(path),
                })
                .collect()
        });
        FleetRules {
            charts,
            all_hub_paths,
            deploy_support,
            deploy_hubs,
        }
    }

    /// The jobs these rules give `cluster` (and no notices: they have nothing to warn of).
    pub(super) fn apply(&self, cluster: &Cluster) -> Acc {
        let mut acc = Acc::default();
        for c in &self.charts {
            match c {
                ChartPath::Chart { path, chart } => chart.apply(cluster, path, &mut acc),
                ChartPath::Other(path) => acc.all_hubs(cluster, &Cause::HelmChartsOther, path),
            }
        }
        for p in &self.all_hub_paths {
            acc.all_hubs(cluster, &Cause::AllHubs, p);
        }
        if self.deploy_support {
            acc.support(cluster, Cause::Label(LABEL_DEPLOY_SUPPORT.into()), "");
        }
        if self.deploy_hubs {
            acc.all_hubs(cluster, &Cause::Label(LABEL_DEPLOY_HUBS.into()), "");
        }
        acc
    }
}

impl ChartUse {
    fn apply(&self, cluster: &Cluster, path: &str, acc: &mut Acc) {
        let cause = |via| Cause::Chart {
            changed: self.changed.clone(),
            via,
        };
        if let Some(via) = &self.support_via {
            acc.support(cluster, cause(via.clone()), path);
        }
        // whether hubs of a `helm_chart` use the changed chart, and through which chart:
        // decided once for each chart named, not for each hub
        let mut hub_via: BTreeMap<&str, Option<Option<String>>> = BTreeMap::new();
        for hub in &cluster.file.hubs {
            let via = hub_via.entry(&hub.helm_chart).or_insert_with(|| {
                let chart = hub_chart(&hub.helm_chart);
                self.users
                    .contains(&chart)
                    .then(|| (chart != self.dir).then(|| hub.helm_chart.clone()))
            });
            if let Some(via) = via {
                acc.hub(cluster, &hub.name, cause(via.clone()), path);
            }
        }
    }
}
