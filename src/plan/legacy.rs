//! `deploy <chart> [--no-setup] [--build] [--push] [--deploy]`: the deploy.py sequence as data.
//!
//! The plan holds every command that may run, fully built. What depends on a registry or cluster
//! answer (is the tag already pushed? which deployments exist?) is decided by `execute`, which
//! reads the probe commands from here.

use super::release::{Options, ReleaseSpec, Sources, Target};
use crate::cmd::Cmd;
use crate::config::ConfigError;
use crate::config::duration::GoDuration;
use crate::config::legacy::{Chart, LegacyRepo, Stages};
use crate::tools::{docker, gcloud};

/// The command line of one legacy run, after parsing.
#[derive(Clone, Debug)]
pub struct Request {
    pub chart: String,
    pub setup: bool,
    pub build: bool,
    pub push: bool,
    pub deploy: bool,
    pub rebuild: bool,
    pub force: bool,
    /// `--force-recover`: recover a pending release even when someone may be working on it.
    pub force_recover: bool,
    /// `--timeout`; `None` means deploy.yaml's `helm.timeout`, else 10m.
    pub timeout: Option<GoDuration>,
    /// How long to wait for another run's lease on the release.
    pub lock_timeout: std::time::Duration,
}

impl Request {
    pub fn stages(&self) -> Stages {
        Stages {
            setup: self.setup,
            build: self.build,
            deploy: self.deploy,
        }
    }

    /// Whether the image tag (from git) is needed: to build it or to deploy it.
    pub fn needs_tag(&self, chart: &Chart) -> bool {
        chart.image_dir.is_some() && (self.build || self.deploy)
    }
}

/// How many older commits of the image folder to try as `--cache-from`.
pub const CACHE_FROM_DEPTH: usize = 2;

/// The image tag: the short hash of the last commit touching `user-images/<chart>`, plus older
/// ones whose images may still be in the registry to seed the build cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageTag {
    pub tag: String,
    pub older: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct LegacyPlan {
    pub chart: String,
    pub setup: Vec<Cmd>,
    /// With setup: gcloud, helm and kubectl use a private `KUBECONFIG` and `CLOUDSDK_CONFIG` in a
    /// temp folder of this run (the operator's own config is never changed). Without
    /// (`--no-setup`): the operator's current context, as deploy.py did.
    pub private_credentials: bool,
    /// `repository:tag` of the chart's user image, when it has one and the run needs it.
    pub image: Option<String>,
    pub build: Option<BuildPlan>,
    /// Runs only after a build in this same run.
    pub push: Option<Cmd>,
    pub deploy: Option<DeployPlan>,
    /// Things the user should know about the plan (e.g. `--push` without `--build`).
    pub notices: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct BuildPlan {
    pub image: String,
    pub context: String,
    /// `None` with `--rebuild`: build even if the tag is in the registry.
    pub exists_probe: Option<Cmd>,
    /// `(image, docker pull image)` for the older tags; those that pull become `--cache-from`.
    pub cache_pulls: Vec<(String, Cmd)>,
}

impl BuildPlan {
    pub fn build_cmd(&self, cache_from: &[String]) -> Cmd {
        docker::build(&self.image, &self.context, cache_from)
    }
}

#[derive(Clone, Debug)]
pub struct DeployPlan {
    pub release: ReleaseSpec,
    /// `(image, docker manifest inspect image)` when the release is given the chart's image
    /// tag: helm must not run for a tag no registry has (its pods could never pull it). Not
    /// needed when this run pushed the tag or the build step found it in the registry.
    pub image_probe: Option<(String, Cmd)>,
}

/// The programs a request may start, checked on PATH before anything runs.
pub fn programs(repo: &LegacyRepo, req: &Request, chart: &Chart) -> Vec<&'static str> {
    let mut p = Vec::new();
    if req.needs_tag(chart) {
        p.push("git");
    }
    if req.setup {
        p.push("gcloud");
        if repo.settings.docker.is_some() {
            p.push("docker");
        }
    }
    // building, or checking that the deployed tag is in the registry
    if (req.build || req.deploy) && chart.image_dir.is_some() {
        p.push("docker");
    }
    if req.deploy {
        p.extend(["helm", "kubectl"]);
    }
    p.sort_unstable();
    p.dedup();
    p
}

/// Build the plan. `tag` must be given when [`Request::needs_tag`] says so.
pub fn plan(
    repo: &LegacyRepo,
    req: &Request,
    chart: &Chart,
    tag: Option<&ImageTag>,
) -> Result<LegacyPlan, ConfigError> {
    let s = &repo.settings;
    let mut notices = Vec::new();

    let mut setup = Vec::new();
    if req.setup {
        // `check` has reported a missing gcloud block already; keep the plan total anyway.
        if let Some(g) = &s.gcloud {
            setup.push(gcloud::activate_service_account(&g.key_file));
            setup.push(gcloud::get_credentials(&g.cluster, &g.zone, &g.project));
        }
        if let Some(d) = &s.docker {
            let password = repo.read_secret(&d.password_file)?;
            setup.push(docker::login(&d.username, &password, d.registry.as_deref()));
        }
    }

    let image = match (&s.image, tag) {
        (Some(img), Some(t)) if req.needs_tag(chart) => {
            Some((img, format!("{}:{}", img.repository(&chart.name), t.tag), t))
        }
        _ => None,
    };

    let mut build = None;
    let mut push = None;
    if req.build {
        match (&image, &chart.image_dir) {
            (Some((img, image_ref, t)), Some(context)) => {
                let repo_name = img.repository(&chart.name);
                build = Some(BuildPlan {
                    image: image_ref.clone(),
                    context: context.clone(),
                    exists_probe: (!req.rebuild).then(|| docker::manifest_inspect(image_ref)),
                    cache_pulls: t
                        .older
                        .iter()
                        .take(CACHE_FROM_DEPTH)
                        .map(|old| {
                            let r = format!("{repo_name}:{old}");
                            let pull = docker::pull(&r).note("ignoring failures");
                            (r, pull)
                        })
                        .collect(),
                });
                if req.push {
                    push = Some(docker::push(image_ref));
                }
            }
            _ => notices.push(format!(
                "chart {} has no {}/{} folder: no image to build",
                chart.name, s.images_dir, chart.name
            )),
        }
    } else if req.push {
        notices.push("--push without --build pushes nothing (as deploy.py did)".to_string());
    }

    let deploy = if !req.deploy {
        None
    } else {
        let timeout = req
            .timeout
            .clone()
            .or_else(|| s.helm.timeout.clone())
            .unwrap_or_default()
            .to_string();
        let mut set_string = Vec::new();
        let mut image_probe = None;
        if let (Some((img, image_ref, t)), Some(_)) = (&image, &chart.image_dir) {
            set_string.push((img.tag_value.clone(), t.tag.clone()));
            image_probe = Some((
                image_ref.clone(),
                docker::manifest_inspect(image_ref)
                    .note("the deploy stops here if the tag is in no registry"),
            ));
        }
        Some(DeployPlan {
            image_probe,
            release: super::release::resolve(
                Target::Legacy {
                    chart,
                    image_tag: set_string.first().map(|(k, v)| (k.as_str(), v.as_str())),
                },
                &Options {
                    timeout,
                    force: req.force,
                    force_recover: req.force_recover,
                    skip_health_check: true,
                },
                // git-crypt, not sops, keeps a legacy repo's secrets: the file is passed as is
                &Sources {
                    read: &|_| None,
                    support: &repo.settings.support,
                    health: &repo.settings.health_check,
                },
            )?,
        })
    };

    Ok(LegacyPlan {
        chart: chart.name.clone(),
        setup,
        private_credentials: req.setup,
        image: image.map(|(_, r, _)| r),
        build,
        push,
        deploy,
        notices,
    })
}
