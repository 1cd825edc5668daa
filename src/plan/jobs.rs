//! Jobs as `deploy run` consumes them: one release to upgrade, its kind and why. (From a plan:
//! `Plan::jobs`; from the plan JSON: `crate::plan::json`.)

use crate::config::cluster::Provider;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Support,
    Staging,
    Prod,
}

impl Kind {
    /// As in JSON and tables: `support`, `staging`, `prod`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Support => "support",
            Kind::Staging => "staging",
            Kind::Prod => "prod",
        }
    }

    /// A hub's kind: staging when its name says so (the planner's rule), else prod.
    pub fn of_hub(name: &str) -> Kind {
        if crate::config::cluster::is_staging_name(name) {
            Kind::Staging
        } else {
            Kind::Prod
        }
    }
}

/// One release to upgrade, with why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    pub kind: Kind,
    pub provider: Provider,
    pub cluster: String,
    /// The hub, or `support`.
    pub release: String,
    pub reason: String,
}

impl Job {
    pub fn label(&self) -> String {
        format!("{}/{}", self.cluster, self.release)
    }
}
