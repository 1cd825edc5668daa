//! A Flux-run cluster: its releases become HelmReleases committed to its releases repository in
//! one push; Flux applies them, in deploy's order through `dependsOn`.

use std::path::Path;
use std::time::Instant;

use super::context::{Ctx, finish_release};
use super::outcome::{Outcome, Status};
use crate::plan::jobs::Kind;
use crate::plan::release::{Extra, ValuesKind};
use crate::plan::run_plan::{Access, ClusterPlan, FluxTarget, Step};
use crate::runner::{CmdError, Runner};
use crate::validate::Undecrypted;

/// Write the cluster's HelmReleases and push them; every job gets the push's outcome (or its own
/// problem when its HelmRelease could not be made, and then nothing is pushed).
pub(super) fn flux_cluster(ctx: &Ctx<'_>, cluster: &ClusterPlan) -> Vec<(usize, Outcome)> {
    let Access::Flux(target) = &cluster.access else {
        unreachable!("only Flux-run clusters come here")
    };
    let t0 = Instant::now();
    let started = ctx.now();
    let (rlog, buf) = ctx.log.buffered_child();
    let guarded = ctx.runner(&rlog, &format!("{}: gitops", cluster.name));
    let mut files = Vec::new();
    let mut problems: Vec<(usize, String)> = Vec::new();
    for step in &cluster.steps {
        if let Some(what) = not_in_helm_release(&step.spec) {
            rlog.warn(&format!(
                "{}: {what}: not in its HelmRelease; Flux does not apply it, apply it yourself",
                step.job.label()
            ));
        }
        match helm_release_file(ctx.root, target, step, &guarded) {
            Ok(file) => files.push(file),
            Err(m) => {
                ctx.log.error(&format!("{}: {m}", step.job.label()));
                problems.push((step.index, m));
            }
        }
    }
    let label = format!("{}: gitops", cluster.name);
    ctx.log.info(&format!(
        "start   {label} ({} HelmRelease(s) to {})",
        files.len(),
        target.repo
    ));
    let result = if problems.is_empty() {
        let source_commit = super::gitops::source_commit(&guarded);
        let releases: Vec<&str> = cluster
            .steps
            .iter()
            .map(|s| s.job.release.as_str())
            .collect();
        let from = if source_commit.is_empty() {
            String::new()
        } else {
            format!(" from {source_commit}")
        };
        let message = format!("deploy {} to {}{from}", releases.join(", "), cluster.name);
        let push_target = super::gitops::Target {
            url: &target.repo,
            branch: &target.branch,
            retries: 5,
        };
        super::gitops::push_files(&guarded, &rlog, &push_target, &files, &message)
            .map_err(|e| (status_of_chain(&e), format!("{e:#}")))
    } else {
        Err((
            Status::Failed,
            "not pushed: some of the cluster's HelmReleases could not be made".to_string(),
        ))
    };
    let duration = t0.elapsed().as_secs_f64();
    let (dry, commands, queued) = guarded.finish();
    let (status, message) = match result {
        Ok(()) if dry => (Status::DryRun, String::new()),
        Ok(()) => (Status::Succeeded, String::new()),
        Err(failed) => failed,
    };
    finish_release(ctx.log, &label, status, duration, &message, &buf.text());
    cluster
        .steps
        .iter()
        .map(|step| {
            let own = problems
                .iter()
                .find(|(k, _)| *k == step.index)
                .map(|(_, m)| m.clone());
            let (status, message) = match own {
                Some(m) => (Status::Failed, m),
                None => (status, message.clone()),
            };
            let o = Outcome {
                job: step.job.clone(),
                status,
                message,
                started: Some(started),
                duration,
                queued,
                commands: commands.clone(),
                live: None,
                health: None,
            };
            (step.index, o)
        })
        .collect()
}

/// Interrupted when the push failed because of a signal (by the command error's type), else
/// failed.
fn status_of_chain(e: &anyhow::Error) -> Status {
    let interrupted = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<CmdError>(),
            Some(CmdError::Interrupted { .. })
        ) || c
            .downcast_ref::<super::StepFailed>()
            .is_some_and(super::StepFailed::interrupted)
    });
    if interrupted {
        Status::Interrupted
    } else {
        Status::Failed
    }
}

/// What a run does around a release's upgrade that a HelmRelease cannot say: CRD updates
/// (Flux's default installs a chart's CRDs on first install only) and support's extras.
fn not_in_helm_release(spec: &crate::plan::release::ReleaseSpec) -> Option<String> {
    let mut what: Vec<String> = Vec::new();
    if let Some(c) = &spec.crds {
        what.push(format!("the CRDs of {} {}", c.chart, c.version));
    }
    for e in &spec.before {
        what.push(match e {
            Extra::CertManager { version } => format!("cert-manager {version}"),
            Extra::TigeraOperator { version } => format!("the tigera operator {version}"),
        });
    }
    (!what.is_empty()).then(|| what.join(", "))
}

/// One release of a Flux-run cluster as `(path in the releases repo, HelmRelease YAML)`: its
/// values files merged (jsonnet ones rendered through `runner`, as a run renders them).
fn helm_release_file(
    root: &Path,
    target: &FluxTarget,
    step: &Step,
    runner: &dyn Runner,
) -> Result<(String, String), String> {
    let spec = &step.spec;
    if let Some(o) = &spec.chart_override {
        return Err(format!(
            "chart_override {} replaces a Chart.yaml in a temp copy at deploy time: a HelmRelease \
             can only name a chart folder of its source",
            o.file
        ));
    }
    if let Some(f) = &spec.domain_override {
        return Err(format!(
            "domain_override_file {f} is read at deploy time (decrypted): a HelmRelease cannot \
             carry it; set the hub's domain in cluster.yaml instead"
        ));
    }
    let render = super::preflight::renderer(runner, root);
    let mut docs = Vec::new();
    for v in &spec.values {
        let f = &v.path;
        let doc = match v.kind {
            ValuesKind::Encrypted => {
                return Err(format!(
                    "{f} is sops-encrypted: its values cannot be written in clear to the releases \
                     repo (give Flux the secret through valuesFrom and a sops-encrypted Secret \
                     instead)"
                ));
            }
            ValuesKind::Jsonnet => {
                let text = render(spec, f).map_err(|e| match e {
                    Undecrypted::Skipped(why) => format!("{f} could not be rendered: {why}"),
                    Undecrypted::Invalid(e) => e.to_string(),
                })?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("{f}: jsonnet rendered no JSON document: {e}"))?
            }
            ValuesKind::Plain => {
                let text = crate::config::files::read_text(&root.join(f))
                    .map_err(|e| format!("{f} {e}"))?;
                crate::config::yaml::to_json(f, &text).map_err(|e| e.to_string())?
            }
        };
        docs.push(doc);
    }
    // Flux keeps deploy's order: staging after support, prod after every staging hub
    let depends_on: Vec<String> = match step.job.kind {
        Kind::Support => vec![],
        Kind::Staging if target.has_support => vec!["support".into()],
        Kind::Staging => vec![],
        Kind::Prod => target.staging_hubs.clone(),
    };
    let values = crate::config::values::merge_values(docs);
    let hr = crate::gitops::helm_release(
        &spec.release,
        &spec.chart,
        &target.source,
        values,
        &depends_on,
    );
    crate::gitops::check(&hr)
        .map_err(|ps| format!("the HelmRelease is invalid: {}", ps.join("; ")))?;
    let text = serde_yaml::to_string(&hr).map_err(|e| e.to_string())?;
    Ok((format!("{}/{}.yaml", target.path, spec.release), text))
}
