//! `--live`: ask the cluster what each planned release holds and render what its upgrade would
//! apply; [`crate::plan::live`] decides whether the upgrade would change anything.
//!
//! Per release: `helm get metadata` (installed? deployed? which chart?), the one
//! `helm dependency update` of its chart, `helm template` exactly as the upgrade would render
//! (same chart, values files in order, `--set-string`s, namespace; `--is-upgrade` and the
//! cluster's version and API versions), `helm get manifest`, `helm get hooks` and
//! `helm get values`. Renders are shared by releases with the same inputs. Everything fetched or
//! rendered may hold secrets: it stays in memory and is never logged.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::once_map::OnceMap;
use super::prepare;
use super::prepare::DependencyCache;
use crate::log::Log;
use crate::plan::live::{self, ChartId, Live, Objects, Sides};
use crate::plan::release::ReleaseSpec;
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::helm::{self, Capabilities, GetWhat};
use crate::tools::kubectl;

/// What a chart folder holds (after its dependency update), once per chart per run.
#[derive(Clone)]
struct ChartInfo {
    digest: [u8; 32],
    id: ChartId,
}

/// Chart digests and renders, shared by every release of a run: a render is keyed by the chart's
/// digest, the digests of the values in order, and everything else `helm template` is given.
#[derive(Default)]
pub struct RenderCache {
    charts: OnceMap<String, Result<ChartInfo, String>>,
    renders: OnceMap<[u8; 32], Result<Arc<Objects>, String>>,
}

impl RenderCache {
    fn chart(&self, root: &Path, chart: &str) -> Result<ChartInfo, String> {
        self.charts.get_or_init(chart.to_string(), || {
            chart_info(&root.join(chart)).map_err(|e| format!("{chart}: {e}"))
        })
    }

    /// How many distinct renders were asked for (for tests and the log).
    pub fn renders(&self) -> usize {
        self.renders.len()
    }
}

fn chart_info(dir: &Path) -> std::io::Result<ChartInfo> {
    Ok(ChartInfo {
        digest: files_digest(dir, &|_| false)?,
        id: chart_id(&dir.join("Chart.yaml"))?,
    })
}

/// A digest of the files under `dir`: each one's relative path and content, in path order; the
/// files `skip` names (by relative path) left out.
pub(super) fn files_digest(dir: &Path, skip: &dyn Fn(&str) -> bool) -> std::io::Result<[u8; 32]> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    for rel in files.iter().filter(|r| !skip(r)) {
        let data = std::fs::read(dir.join(rel))?;
        h.update((rel.len() as u64).to_le_bytes());
        h.update(rel.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    Ok(h.finalize().into())
}

/// The name, version and appVersion a Chart.yaml (or a `chart_override`'s replacement) gives.
pub(super) fn chart_id(file: &Path) -> std::io::Result<ChartId> {
    let text = crate::config::input::read_text(file)?;
    crate::config::yaml::check_depth("Chart.yaml", &text).map_err(std::io::Error::other)?;
    let meta: serde_yaml::Value = serde_yaml::from_str(&text)
        .map_err(|e| std::io::Error::other(format!("Chart.yaml: {e}")))?;
    let s = |k: &str| match &meta[k] {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    Ok(ChartId {
        name: s("name"),
        version: s("version"),
        app_version: s("appVersion"),
    })
}

/// A field of a JSON answer (`helm get metadata`) as text: a string as it is, a number printed,
/// anything else empty.
pub(super) fn text_of(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            walk(base, &p, out)?;
        } else {
            let rel = p.strip_prefix(base).unwrap_or(&p);
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// The cluster's version and API versions, as `helm upgrade` would see them. `None` in a dry run.
pub fn capabilities(runner: &dyn Runner) -> Result<Option<Capabilities>, CmdError> {
    let Reply::Ran(v) = runner.run(&kubectl::version())? else {
        return Ok(None);
    };
    let Reply::Ran(a) = runner.run(&kubectl::api_versions())? else {
        return Ok(None);
    };
    let kube_version = serde_json::from_str::<Value>(&v.stdout)
        .ok()
        .and_then(|j| {
            j.pointer("/serverVersion/gitVersion")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    let mut api_versions: Vec<String> = a
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    api_versions.sort();
    api_versions.dedup();
    Ok(Some(Capabilities {
        kube_version,
        api_versions,
    }))
}

/// What the checks of one run share.
pub struct Shared<'a> {
    pub root: &'a Path,
    /// `helm dependency update` once per chart, shared with the upgrades.
    pub deps: &'a DependencyCache,
    pub renders: &'a RenderCache,
    /// The cluster's; `None` in a dry run.
    pub caps: Option<&'a Capabilities>,
}

/// Check one release. `runner` applies the cluster's environment. Never fails: what cannot be
/// checked is kept (an upgrade then runs as without `--live`), with why. With the verdict, when
/// the upgrade would change objects, their unified diff (live against upgrade; `Secret` data
/// hidden, the log's secrets scrubbed when it is shown).
pub fn check(
    runner: &dyn Runner,
    log: &Log,
    shared: &Shared<'_>,
    spec: &ReleaseSpec,
) -> (Live, String) {
    let mut diff = String::new();
    let live = compare_release(runner, log, shared, spec, &mut diff).unwrap_or_else(Live::Failed);
    (live, diff)
}

/// The objects' unified diff, live against what the upgrade would apply.
fn object_diff(sides: &Sides) -> String {
    let (secrets, unstable) = Default::default();
    let cx = crate::plan::diff::Context {
        secrets: &secrets,
        unstable: &unstable,
        names: ("live", "upgrade"),
        normalise: false,
    };
    crate::plan::diff::compare(Some(&sides.live), Some(&sides.rendered), &cx)
        .iter()
        .map(|o| o.diff.as_str())
        .collect()
}

fn compare_release(
    runner: &dyn Runner,
    log: &Log,
    shared: &Shared<'_>,
    spec: &ReleaseSpec,
    diff: &mut String,
) -> Result<Live, String> {
    let Shared {
        root,
        deps,
        renders: cache,
        caps,
    } = *shared;
    let step = |what: &'static str| move |e: CmdError| format!("{what}: {e}");
    let meta = match runner
        .run(&helm::get_metadata(&spec.release, &spec.namespace))
        .map_err(step("helm get metadata"))?
    {
        Reply::NotRun => return Ok(Live::Kept("not checked (dry run)".into())),
        Reply::Ran(o) if !o.success() => {
            if o.stderr.contains("release: not found") {
                return Ok(Live::Kept("not installed yet".into()));
            }
            return Err(format!(
                "helm get metadata: {}",
                o.stderr.lines().last().unwrap_or("failed")
            ));
        }
        Reply::Ran(o) => serde_json::from_str::<Value>(&o.stdout)
            .map_err(|e| format!("helm get metadata printed no JSON: {e}"))?,
    };
    let status = meta["status"].as_str().unwrap_or("unknown");
    if status != "deployed" {
        return Ok(Live::Kept(format!(
            "release status is {status}, not deployed"
        )));
    }
    let Some(caps) = caps else {
        return Ok(Live::Kept("not checked (dry run)".into()));
    };
    let text = |k: &str| text_of(&meta, k);
    let live_chart = ChartId {
        name: text("chart"),
        version: text("version"),
        app_version: text("appVersion"),
    };

    let placed = prepare::place_chart(runner, root, deps, spec).map_err(|f| f.to_string())?;
    let chart_arg = placed.path(&spec.chart);
    // an override's copy is the release's own: its digest is not shared
    let chart = match &chart_arg {
        crate::cmd::Arg::Plain(c) => cache.chart(root, c)?,
        other => chart_info(Path::new(other.value())).map_err(|e| format!("{other}: {e}"))?,
    };

    let (files, decrypted) =
        prepare::values(runner, log, &placed, spec).map_err(|f| f.to_string())?;
    let mut docs = Vec::with_capacity(files.len());
    let mut key = Sha256::new();
    key.update(chart.digest);
    for (f, v) in files.iter().zip(&spec.values) {
        let v = &v.path;
        let content = crate::config::input::read_text(root.join(f.value()))
            .map_err(|e| format!("{v}: {e}"))?;
        key.update(Sha256::digest(content.as_bytes()));
        docs.push(crate::config::yaml::to_json(v, &content).map_err(|e| e.to_string())?);
    }
    let mut values = crate::config::values::merge_values(docs);
    for (k, v) in &spec.set_string {
        crate::config::values::set_string(&mut values, k, v);
    }
    let args = spec.upgrade_args(chart_arg.clone(), files);
    let cmd = helm::template_for(&args, Some(caps), true);
    // Everything else the render depends on: the arguments after the values files' paths (which
    // differ per decrypted copy), the release, namespace and capabilities.
    for (k, v) in &spec.set_string {
        key.update(format!("set-string\0{k}\0{v}\0").as_bytes());
    }
    key.update(format!("release\0{}\0{}\0", spec.release, spec.namespace).as_bytes());
    key.update(format!("kube\0{}\0", caps.kube_version).as_bytes());
    for a in &caps.api_versions {
        key.update(a.as_bytes());
        key.update(b"\0");
    }
    let render = || match runner.run(&cmd).map_err(step("helm template"))? {
        Reply::Ran(o) => Objects::parse(&o.stdout)
            .map(Arc::new)
            .map_err(|e| format!("helm template printed unreadable YAML: {e}")),
        Reply::NotRun => Err("helm template was not run".into()),
    };
    // Others with the same key wait here for the first one's render.
    let rendered = cache.renders.get_or_init(key.finalize().into(), render)?;

    let fetch = |what: GetWhat, name: &'static str| -> Result<String, String> {
        match runner
            .run(&helm::get(what, &spec.release, &spec.namespace))
            .map_err(step(name))?
        {
            Reply::Ran(o) => Ok(o.stdout),
            Reply::NotRun => Err(format!("{name} was not run")),
        }
    };
    let mut live_objects = Objects::parse(&fetch(GetWhat::Manifest, "helm get manifest")?)
        .map_err(|e| format!("the live manifest is unreadable YAML: {e}"))?;
    live_objects.extend(
        Objects::parse(&fetch(GetWhat::Hooks, "helm get hooks")?)
            .map_err(|e| format!("the live hooks are unreadable YAML: {e}"))?,
    );
    let live_values: Value = serde_json::from_str(&fetch(GetWhat::Values, "helm get values")?)
        .map_err(|e| format!("helm get values printed no JSON: {e}"))?;

    let mut sides = Sides {
        rendered,
        live: live_objects,
        chart: chart.id,
        live_chart,
        values,
        live_values,
    };
    let Some(summary) = live::compare(&sides) else {
        return Ok(Live::Unchanged);
    };
    // A chart that renders differently each time (random secrets kept across upgrades with
    // `lookup`, as the JupyterHub chart does: `helm template` cannot look anything up) would
    // always look changed. Then render as the upgrade itself does, against the cluster.
    if *render()? == *sides.rendered {
        *diff = object_diff(&sides);
        return Ok(Live::Changed(summary));
    }
    let out = match runner
        .run(&helm::upgrade_dry_run(&args))
        .map_err(step("helm upgrade --dry-run=server"))?
    {
        Reply::Ran(o) => o.stdout,
        Reply::NotRun => return Err("helm upgrade --dry-run=server was not run".into()),
    };
    sides.rendered = Arc::new(
        dry_run_objects(&out).map_err(|e| format!("helm upgrade --dry-run=server printed {e}"))?,
    );
    drop(decrypted); // the decrypted values are not needed past the renders
    Ok(match live::compare(&sides) {
        None => Live::Unchanged,
        Some(summary) => Live::Changed({
            *diff = object_diff(&sides);
            format!(
                "{summary} (the chart renders differently each time; compared as \
             `helm upgrade --dry-run=server` renders it)"
            )
        }),
    })
}

/// The objects (manifest and hooks) of the release `helm upgrade --dry-run=server -o json` prints.
fn dry_run_objects(json: &str) -> Result<Objects, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("no JSON: {e}"))?;
    let mut objects = Objects::parse(v["manifest"].as_str().unwrap_or_default())
        .map_err(|e| format!("an unreadable manifest: {e}"))?;
    for h in v["hooks"].as_array().into_iter().flatten() {
        objects.extend(
            Objects::parse(h["manifest"].as_str().unwrap_or_default())
                .map_err(|e| format!("an unreadable hook: {e}"))?,
        );
    }
    Ok(objects)
}
