//! Runs a workflow as GitHub would on a runner: jobs in `needs` order, each job's `if:`, its
//! matrix (one leg per value, `max-parallel` evaluated), and in each leg the steps in order.
//! A `run:` step is a bash script (`bash --noprofile --norc -eo pipefail`, GitHub's default) with
//! GitHub's variables and files (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY,
//! GITHUB_EVENT_PATH, RUNNER_TEMP, …) in a clean environment whose PATH holds the fake `gh`, the
//! fake cluster tools and, once the install step ran, the `deploy` under test ([`super::steps`]);
//! `uses:` steps are simulated in [`super::actions`].

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};
use serde_yaml::Value as Yaml;

use super::eval::{Status, condition, interpolate, interpolate_value, to_text};
use super::steps::{Leg, StepRecord, run_leg};
use super::world::{Event, REPO, World, path_str};

#[derive(Clone, Debug)]
pub struct JobResult {
    /// success, failure, skipped
    pub result: &'static str,
    pub outputs: Map<String, Value>,
    pub legs: Vec<Leg>,
    pub max_parallel: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct Run {
    pub id: u64,
    pub file: String,
    pub name: String,
    pub event: Event,
    /// success, failure, cancelled
    pub conclusion: &'static str,
    pub jobs: BTreeMap<String, JobResult>,
}

impl Run {
    pub fn cancelled(id: u64, file: &str, wf: &Yaml, event: Event) -> Run {
        Run {
            id,
            file: file.into(),
            name: wf["name"].as_str().unwrap_or(file).into(),
            event,
            conclusion: "cancelled",
            jobs: BTreeMap::new(),
        }
    }

    pub fn job(&self, id: &str) -> &JobResult {
        self.jobs.get(id).unwrap_or_else(|| {
            panic!(
                "run {} of {} has no job {id}\n{}",
                self.id,
                self.file,
                self.log()
            )
        })
    }

    pub fn result(&self, id: &str) -> &str {
        self.job(id).result
    }

    /// Every step's log, for failure messages.
    pub fn log(&self) -> String {
        let mut out = String::new();
        for (id, j) in &self.jobs {
            out.push_str(&format!("== job {id}: {}\n", j.result));
            for leg in &j.legs {
                for s in &leg.steps {
                    out.push_str(&format!(
                        "-- {} [{}] {}\n{}",
                        s.name, s.outcome, leg.matrix, s.log
                    ));
                }
            }
        }
        out
    }

    /// The run ended as expected, or panic with every log.
    pub fn assert(&self, conclusion: &str) -> &Run {
        assert_eq!(
            self.conclusion,
            conclusion,
            "run {} of {}:\n{}",
            self.id,
            self.file,
            self.log()
        );
        self
    }

    pub fn summary(&self) -> String {
        self.jobs
            .values()
            .flat_map(|j| &j.legs)
            .map(|l| l.summary.as_str())
            .collect()
    }
}

fn github_ctx(w: &World, id: u64, wf: &Yaml, e: &Event) -> Value {
    let pr = &e.payload["pull_request"];
    json!({
        "event_name": e.name, "event": e.payload, "sha": e.sha, "ref": e.git_ref,
        "ref_name": e.git_ref.trim_start_matches("refs/heads/").trim_start_matches("refs/"),
        "repository": REPO, "repository_owner": REPO.split('/').next().unwrap(),
        "run_id": id.to_string(), "run_number": (id - 999).to_string(), "run_attempt": "1",
        "workflow": wf["name"].as_str().unwrap_or_default(),
        "server_url": "https://github.com", "api_url": "https://api.github.com",
        "token": "ghs_faketoken", "actor": "octocat",
        "head_ref": pr["head"]["ref"].as_str().unwrap_or_default(),
        "base_ref": pr["base"]["ref"].as_str().unwrap_or_default(),
        "workspace": path_str(&w.dir.join("runs")),
    })
}

fn base_ctx(w: &World, id: u64, wf: &Yaml, e: &Event) -> Map<String, Value> {
    let mut secrets: Map<String, Value> = w
        .secrets
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    secrets.insert("GITHUB_TOKEN".into(), json!("ghs_faketoken"));
    let mut c = Map::new();
    c.insert("github".into(), github_ctx(w, id, wf, e));
    c.insert("vars".into(), json!(w.vars));
    c.insert("secrets".into(), Value::Object(secrets));
    c.insert("env".into(), json!({}));
    let env = interpolate_value(&wf["env"], &c);
    c.insert("env".into(), if env.is_null() { json!({}) } else { env });
    c
}

/// The run's concurrency group, if the workflow has one.
pub fn concurrency_group(w: &World, wf: &Yaml, e: &Event, id: u64) -> Option<String> {
    let c = base_ctx(w, id, wf, e);
    match &wf["concurrency"] {
        Yaml::Null => None,
        Yaml::String(s) => Some(to_text(&interpolate(s, &c), s)),
        m => Some(to_text(
            &interpolate(m["group"].as_str().unwrap(), &c),
            "group",
        )),
    }
}

/// Jobs in an order where each comes after its needs.
fn order(jobs: &serde_yaml::Mapping) -> Vec<(String, Vec<String>)> {
    let needs = |j: &Yaml| -> Vec<String> {
        match &j["needs"] {
            Yaml::Null => vec![],
            Yaml::String(s) => vec![s.clone()],
            Yaml::Sequence(s) => s.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            o => panic!("needs: {o:?}"),
        }
    };
    let mut left: Vec<(String, Vec<String>)> = jobs
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), needs(v)))
        .collect();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    while !left.is_empty() {
        let i = left
            .iter()
            .position(|(_, n)| n.iter().all(|d| out.iter().any(|(o, _)| o == d)))
            .expect("needs form no cycle and name existing jobs");
        out.push(left.remove(i));
    }
    out
}

pub fn execute(w: &World, id: u64, file: &str, wf: &Yaml, e: &Event) -> Run {
    let dir = w.dir.join("runs").join(id.to_string());
    std::fs::create_dir_all(&dir).unwrap();
    let event_path = dir.join("event.json");
    std::fs::write(
        &event_path,
        serde_json::to_string_pretty(&e.payload).unwrap(),
    )
    .unwrap();
    let ctx = base_ctx(w, id, wf, e);
    let jobs = wf["jobs"].as_mapping().expect("jobs");
    let mut results: BTreeMap<String, JobResult> = BTreeMap::new();
    let mut ancestors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (job_id, needs) in order(jobs) {
        let job = &jobs[job_id.as_str()];
        // success() looks at every job this one depends on, directly or not
        let mut all: Vec<String> = needs.clone();
        for n in &needs {
            all.extend(ancestors[n].iter().cloned());
        }
        all.sort();
        all.dedup();
        ancestors.insert(job_id.clone(), all.clone());
        let status = Status {
            failed: all.iter().any(|n| results[n].result == "failure"),
            skipped: all.iter().any(|n| results[n].result == "skipped"),
        };
        let mut c = ctx.clone();
        let needs_ctx: Map<String, Value> = needs
            .iter()
            .map(|n| {
                let r = &results[n];
                (n.clone(), json!({"result": r.result, "outputs": r.outputs}))
            })
            .collect();
        c.insert("needs".into(), Value::Object(needs_ctx));
        c["github"]["job"] = json!(job_id);
        let result = if condition(&job["if"], &c, status) {
            let job_dir = dir.join(&job_id);
            run_job(w, &job_dir, &event_path, e, job, c)
        } else {
            JobResult {
                result: "skipped",
                outputs: Map::new(),
                legs: vec![],
                max_parallel: None,
            }
        };
        results.insert(job_id, result);
    }
    let failed = results.values().any(|j| j.result == "failure");
    Run {
        id,
        file: file.into(),
        name: wf["name"].as_str().unwrap_or(file).into(),
        event: e.clone(),
        conclusion: if failed { "failure" } else { "success" },
        jobs: results,
    }
}

fn run_job(
    w: &World,
    dir: &Path,
    event_path: &Path,
    e: &Event,
    job: &Yaml,
    c: Map<String, Value>,
) -> JobResult {
    let strategy = &job["strategy"];
    let mut max_parallel = None;
    let mut legs_values = vec![Value::Null];
    if let Some(m) = strategy["matrix"].as_mapping() {
        legs_values = vec![json!({})];
        for (k, v) in m {
            let k = k.as_str().unwrap();
            assert!(
                k != "include" && k != "exclude",
                "matrix {k} is not simulated"
            );
            let values = interpolate_value(v, &c);
            let Some(values) = values.as_array().filter(|a| !a.is_empty()) else {
                let log = format!("Error: Matrix vector '{k}' does not contain any values\n");
                let step = StepRecord {
                    name: "Set up job".into(),
                    outcome: "failure",
                    log,
                };
                let leg = Leg {
                    matrix: json!({}),
                    steps: vec![step],
                    summary: String::new(),
                    failed: true,
                };
                return JobResult {
                    result: "failure",
                    outputs: Map::new(),
                    legs: vec![leg],
                    max_parallel,
                };
            };
            legs_values = legs_values
                .iter()
                .flat_map(|base| {
                    values.iter().map(move |x| {
                        let mut b = base.clone();
                        b[k] = x.clone();
                        b
                    })
                })
                .collect();
        }
        if !strategy["max-parallel"].is_null() {
            max_parallel = Some(interpolate_value(&strategy["max-parallel"], &c));
        }
    }
    let mut legs = Vec::new();
    let mut outputs = Map::new();
    for (i, m) in legs_values.into_iter().enumerate() {
        let mut c = c.clone();
        c.insert(
            "matrix".into(),
            if m.is_null() { json!({}) } else { m.clone() },
        );
        let (leg, outs) = run_leg(w, &dir.join(i.to_string()), event_path, e, job, c, m);
        for (k, v) in outs {
            if !v.as_str().is_some_and(str::is_empty) {
                outputs.insert(k, v);
            }
        }
        legs.push(leg);
    }
    let failed = legs.iter().any(|l| l.failed);
    JobResult {
        result: if failed { "failure" } else { "success" },
        outputs,
        legs,
        max_parallel,
    }
}
