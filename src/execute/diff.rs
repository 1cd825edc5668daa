//! `deploy diff` (and `plan --diff`): render each planned release at the base revision and at
//! the head revision, offline, and compare the two renders ([`crate::plan::diff`]).
//!
//! Each revision is checked out into a private folder (the head may be the work tree); its run
//! plan says how each release renders: the same chart folder, values files in order (jsonnet
//! rendered, encrypted files decrypted, or placeholders without a key), `--set-string`s and
//! namespace an upgrade would use, `helm template --is-upgrade`. Renders run in parallel (at most
//! `jobs` at once) and are shared: one is keyed by the digest of the chart's files and of every
//! values file's content, so a release whose inputs did not change renders once for both sides,
//! and `helm dependency update` runs only where a render needs it.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::changes::Range;
use super::diff_side::Side;
use super::once_map::OnceMap;
use super::prepare;
use crate::config::multi::MultiRepo;
use crate::log::{Log, Verbosity};
use crate::plan::diff::{self as pd, Outcome, Presence, ReleaseDiff};
use crate::plan::diff_mask::{Secrets, Unstable, unstable_paths};
use crate::plan::jobs::{Job, Kind};
use crate::plan::multi::Plan;
use crate::plan::objects::Objects;
use crate::plan::release::{Options, ReleaseSpec};
use crate::runner::{CmdError, RealRunner, Reply, Runner};
use crate::tools::helm;

/// Everything `deploy diff` found.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// How the two revisions are named (`base 1a2b3c4d5e6f`, `head main`, `the work tree`).
    pub base: String,
    pub head: String,
    /// In the plan's job order, then releases removed at the head.
    pub releases: Vec<ReleaseDiff>,
    /// How many `helm template` renders ran (shared renders counted once).
    pub renders: usize,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.releases
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
            .count()
    }

    /// Those that could not be rendered at the head (the change itself).
    pub fn failed_at_head(&self) -> usize {
        self.releases
            .iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    Outcome::Failed {
                        side: pd::Side::Head,
                        ..
                    }
                )
            })
            .count()
    }
}

/// Renders and what they found, shared by both sides and every release.
#[derive(Default)]
struct Shared {
    renders: OnceMap<[u8; 32], Result<Arc<Objects>, String>>,
    /// Per chart digest: the fields its renders do not repeat.
    unstable: OnceMap<[u8; 32], Unstable>,
    /// Renders made again to check a change (not shared).
    again: std::sync::atomic::AtomicUsize,
}

/// Compare the releases of `plan` between `range`'s base and head (`head_name` as the user
/// gave it; no head: the work tree at `root`).
pub fn diff(
    root: &Path,
    plan: &Plan,
    range: &Range,
    names: (&str, Option<&str>),
    labels: &[String],
    log: &Log,
    jobs: usize,
) -> anyhow::Result<Report> {
    let short = super::revision::short_name;
    let mut base = Side::checkout(root, log, &range.base, format!("base {}", short(names.0)))?;
    let mut head = match (&range.head, names.1) {
        (Some(h), Some(n)) => Side::checkout(root, log, h, format!("head {}", short(n)))?,
        _ => Side::work_tree(root),
    };
    let mut all = plan.jobs();
    // removed releases too, unless a label says to deploy nothing (or no hub)
    let has = |l: &str| labels.iter().any(|x| x == l);
    let hidden = |j: &Job| {
        has(crate::plan::changes::LABEL_SKIP_DEPLOY)
            || (j.kind != Kind::Support && has(crate::plan::changes::LABEL_SKIP_HUBS))
    };
    all.extend(removed(&base, &head).into_iter().filter(|j| !hidden(j)));
    let base_specs = specs(&base, &all);
    let head_specs = specs(&head, &all);
    if base_specs
        .iter()
        .chain(&head_specs)
        .flatten()
        .any(ReleaseSpec::has_jsonnet)
    {
        super::preflight::require_jsonnet(&[crate::jsonnet::PROGRAM.to_string()], log)?;
    }
    let mut secrets = Secrets::default();
    base.prepare_secrets(&refs(&base_specs), log, jobs, &mut secrets);
    head.prepare_secrets(&refs(&head_specs), log, jobs, &mut secrets);
    secrets.seal();
    let shared = Shared::default();
    let indices: Vec<usize> = (0..all.len()).collect();
    let releases = super::pool::parallel(jobs, &indices, |&i| {
        let job = &all[i];
        let (rlog, buf) = log.release_child(&job.label());
        let sides = [(&base, &base_specs[i]), (&head, &head_specs[i])];
        let r = compare_one(job, sides, &shared, &secrets, &rlog);
        if matches!(r.outcome, Outcome::Failed { .. }) || log.verbosity() == Verbosity::Verbose {
            let text = buf.text();
            if !text.is_empty() {
                log.write_raw(&text);
            }
        }
        r
    });
    Ok(Report {
        base: base.name.clone(),
        head: head.name.clone(),
        releases,
        renders: shared.renders.len() + shared.again.load(std::sync::atomic::Ordering::Relaxed),
    })
}

type SideSpec<'a> = (&'a Side, &'a Option<ReleaseSpec>);

fn compare_one(
    job: &Job,
    [(base, bspec), (head, hspec)]: [SideSpec<'_>; 2],
    shared: &Shared,
    secrets: &Secrets,
    log: &Log,
) -> ReleaseDiff {
    let presence = match (bspec.is_some(), hspec.is_some()) {
        (false, _) => Presence::Added,
        (true, false) => Presence::Removed,
        (true, true) => Presence::Both,
    };
    let mut out = ReleaseDiff {
        kind: job.kind,
        cluster: job.cluster.clone(),
        release: job.release.clone(),
        presence,
        chart: None,
        notes: Vec::new(),
        outcome: Outcome::Unchanged,
    };
    for (side, spec) in [(base, bspec), (head, hspec)] {
        let files = spec.iter().flat_map(|s| {
            s.values
                .iter()
                .map(|v| &v.path)
                .chain(s.domain_override.as_ref())
        });
        for file in files {
            if let Some(why) = side.undecrypted.get(file) {
                let note = format!(
                    "{file} could not be decrypted here ({why}): its values are compared by \
                     their ciphertext, so a re-encrypted file shows every value as changed"
                );
                if !out.notes.contains(&note) {
                    out.notes.push(note);
                }
            }
        }
    }
    if let (Some(b), Some(h)) = (bspec, hspec) {
        let (was, is) = (base.chart_name(b), head.chart_name(h));
        if was != is {
            out.chart = Some(format!("{was} → {is}"));
        }
    }
    if bspec.is_none() && hspec.is_none() {
        out.outcome = Outcome::Failed {
            side: pd::Side::Head,
            error: match &head.repo {
                Err(e) => e.clone(),
                Ok(_) => "the release is at neither revision".into(),
            },
        };
        return out;
    }
    let render_side = |side: &Side, spec: &Option<ReleaseSpec>, which: pd::Side| {
        let Some(spec) = spec else {
            return Ok(None);
        };
        render(side, spec, shared, log)
            .map(Some)
            .map_err(|error| Outcome::Failed { side: which, error })
    };
    // both sides, whatever the base gives: a head that does not render is the change's failure
    // (exit 1), even where the base does not render either
    let (b, h) = match (
        render_side(base, bspec, pd::Side::Base),
        render_side(head, hspec, pd::Side::Head),
    ) {
        (Ok(b), Ok(h)) => (b, h),
        (_, Err(failed)) | (Err(failed), Ok(_)) => {
            out.outcome = failed;
            return out;
        }
    };
    let mut unstable = Unstable::new();
    for (_, chart) in b.iter().chain(h.iter()) {
        unstable.extend(shared.unstable.get_or_init(*chart, Unstable::new));
    }
    let compare = |unstable: &Unstable| {
        pd::compare(
            b.as_ref().map(|(o, _)| o.as_ref()),
            h.as_ref().map(|(o, _)| o.as_ref()),
            &pd::Context::revisions(secrets, unstable),
        )
    };
    let mut objects = compare(&unstable);
    // A change is checked with a second render of the head: what that render does not repeat
    // was generated at render time (an object of this release only, which the chart's first
    // render may not have had), not changed.
    if let (false, Some(spec), Some((first, _))) = (objects.is_empty(), hspec, &h)
        && let Ok(again) = render_again(head, spec, log)
    {
        shared
            .again
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let more = unstable_between(first, &again, true);
        if !more.is_subset(&unstable) {
            unstable.extend(more);
            objects = compare(&unstable);
        }
    }
    if !objects.is_empty() {
        out.outcome = Outcome::Changed { objects };
    }
    out
}

/// Render one release at one side: its objects and its chart's digest.
fn render(
    side: &Side,
    spec: &ReleaseSpec,
    shared: &Shared,
    log: &Log,
) -> Result<(Arc<Objects>, [u8; 32]), String> {
    let runner = RealRunner::in_repo(&side.root, log);
    let mut placed = prepare::place(&side.root, spec).map_err(|f| f.to_string())?;
    let (files, decrypted) =
        prepare::values(&runner, log, &placed, spec).map_err(|f| f.to_string())?;
    let chart = side.chart_digest(spec)?;
    let mut key = Sha256::new();
    key.update(chart);
    for f in &files {
        let p = Path::new(f.value());
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            side.root.join(p)
        };
        let text = crate::config::files::read_text(&full).map_err(|e| format!("{f}: {e}"))?;
        key.update(Sha256::digest(text.as_bytes()));
    }
    for (k, v) in &spec.set_string {
        key.update(format!("set-string\0{k}\0{v}\0").as_bytes());
    }
    key.update(format!("release\0{}\0{}\0", spec.release, spec.namespace).as_bytes());
    let objects = shared.renders.get_or_init(key.finalize().into(), || {
        let first = template(&runner, side, &mut placed, spec, &files)?;
        // The first render of a chart is made twice: what differs is generated at render time.
        shared.unstable.get_or_init(chart, || {
            match template(&runner, side, &mut placed, spec, &files) {
                Ok(second) => unstable_between(&first, &second, false),
                Err(_) => Unstable::new(),
            }
        });
        Ok(Arc::new(first))
    })?;
    drop(decrypted);
    Ok((objects, chart))
}

/// One release rendered once more, not shared: to check its change.
fn render_again(side: &Side, spec: &ReleaseSpec, log: &Log) -> Result<Objects, String> {
    let runner = RealRunner::in_repo(&side.root, log);
    let mut placed = prepare::place(&side.root, spec).map_err(|f| f.to_string())?;
    let (files, decrypted) =
        prepare::values(&runner, log, &placed, spec).map_err(|f| f.to_string())?;
    let objects = template(&runner, side, &mut placed, spec, &files);
    drop(decrypted);
    objects
}

/// `helm template` of a placed release with its values files.
fn template(
    runner: &RealRunner,
    side: &Side,
    placed: &mut prepare::Placed,
    spec: &ReleaseSpec,
    files: &[crate::cmd::Arg],
) -> Result<Objects, String> {
    prepare::update_dependencies(runner, &side.deps, placed, spec).map_err(|f| f.to_string())?;
    let args = spec.upgrade_args(placed.path(&spec.chart), files.to_vec());
    // (without the command line: a failed render is shared by every release with the same
    // inputs, whose files have other names)
    match runner
        .run(&helm::template_for(&args, None, true))
        .map_err(|e| match e {
            CmdError::Failed { status, tail, .. } => {
                format!("helm template failed with {status}:\n{tail}")
            }
            other => format!("helm template: {other}"),
        })? {
        Reply::Ran(o) => Objects::parse(&o.stdout)
            .map_err(|e| format!("helm template printed unreadable YAML: {e}")),
        Reply::NotRun => Err("helm template was not run".into()),
    }
}

/// The fields two renders of the same release disagree on (by object name too, for a check of
/// one release: the same field of another object of the kind may really change).
fn unstable_between(first: &Objects, second: &Objects, by_name: bool) -> Unstable {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (k, docs) in first.iter() {
        for (x, y) in docs.iter().zip(second.get(k).into_iter().flatten()) {
            a.push(x);
            b.push(y);
        }
    }
    unstable_paths(&a, &b, by_name)
}

/// Each job's release spec on one side; `None` where the release is not there (a new hub at the
/// base, a removed one at the head) or the side's config cannot be read.
fn specs(side: &Side, jobs: &[Job]) -> Vec<Option<ReleaseSpec>> {
    let Ok(repo) = &side.repo else {
        return vec![None; jobs.len()];
    };
    let fits: Vec<bool> = jobs.iter().map(|j| present(repo, j)).collect();
    let subset: Vec<Job> = jobs
        .iter()
        .zip(&fits)
        .filter(|(_, f)| **f)
        .map(|(j, _)| j.clone())
        .collect();
    let Ok(plan) = crate::plan::run_plan::build(repo, &subset, &Options::default()) else {
        return vec![None; jobs.len()];
    };
    let mut by_index: Vec<Option<ReleaseSpec>> = vec![None; subset.len()];
    for c in plan.clusters {
        for s in c.steps {
            by_index[s.index] = Some(s.spec);
        }
    }
    let mut it = by_index.into_iter();
    fits.iter()
        .map(|f| if *f { it.next().flatten() } else { None })
        .collect()
}

/// Whether the job's release is in `repo`'s config.
fn present(repo: &MultiRepo, job: &Job) -> bool {
    if !repo.has_cluster(&job.cluster) {
        return false;
    }
    let Ok(c) = repo.load_cluster(&job.cluster) else {
        return false;
    };
    match job.kind {
        Kind::Support => c.has_support(),
        Kind::Staging | Kind::Prod => c.file.hubs.iter().any(|h| h.name == job.release),
    }
}

/// The releases at the base that are gone at the head: hubs removed from a cluster.yaml, and a
/// removed cluster's hubs and support.
fn removed(base: &Side, head: &Side) -> Vec<Job> {
    let (Ok(b), Ok(h)) = (&base.repo, &head.repo) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in &b.cluster_names {
        let Ok(was) = b.load_cluster(name) else {
            continue;
        };
        let is = h
            .has_cluster(name)
            .then(|| h.load_cluster(name).ok())
            .flatten();
        let job = |kind, release: &str| Job {
            kind,
            provider: was.provider(),
            cluster: name.clone(),
            release: release.to_string(),
            reason: "removed at the head".into(),
        };
        if was.has_support() && !is.as_ref().is_some_and(|c| c.has_support()) {
            out.push(job(Kind::Support, "support"));
        }
        for hub in &was.file.hubs {
            if !is
                .as_ref()
                .is_some_and(|c| c.file.hubs.iter().any(|x| x.name == hub.name))
            {
                out.push(job(Kind::of_hub(&hub.name), &hub.name));
            }
        }
    }
    out
}

fn refs(v: &[Option<ReleaseSpec>]) -> Vec<&ReleaseSpec> {
    v.iter().flatten().collect()
}
