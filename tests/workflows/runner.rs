//! Runs a workflow as GitHub would on a runner: jobs in `needs` order, each job's `if:`, its
//! matrix (one leg per value, `max-parallel` evaluated), and in each leg the steps in order.
//! A `run:` step is a bash script (`bash --noprofile --norc -eo pipefail`, GitHub's default) with
//! GitHub's variables and files (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY,
//! GITHUB_EVENT_PATH, RUNNER_TEMP, …) in a clean environment whose PATH holds the fake `gh`, the
//! fake cluster tools and, once the install step ran, the `deploy` under test; `uses:` steps are
//! simulated in [`super::actions`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use serde_yaml::Value as Yaml;

use super::actions;
use super::eval::{Status, condition, interpolate, interpolate_value, to_text};
use super::world::{Event, REPO, World, path_str};

#[derive(Clone, Debug)]
pub struct StepRecord {
    pub name: String,
    /// success, failure or skipped
    pub outcome: &'static str,
    pub log: String,
}

#[derive(Clone, Debug, Default)]
pub struct Leg {
    pub matrix: Value,
    pub steps: Vec<StepRecord>,
    pub summary: String,
    pub failed: bool,
}

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

/// `k=v` lines and `k<<DELIM` … `DELIM` blocks, as GitHub reads GITHUB_OUTPUT and GITHUB_ENV.
pub fn parse_file_commands(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        match line.find("<<") {
            Some(h) if eq.is_none_or(|e| h < e) => {
                let (k, delim) = (&line[..h], &line[h + 2..]);
                let mut v = Vec::new();
                loop {
                    let l = lines
                        .next()
                        .unwrap_or_else(|| panic!("no `{delim}` closes `{k}`"));
                    if l == delim {
                        break;
                    }
                    v.push(l);
                }
                out.push((k.to_string(), v.join("\n")));
            }
            _ => {
                let e = eq.unwrap_or_else(|| panic!("not a k=v line: {line:?}"));
                out.push((line[..e].to_string(), line[e + 1..].to_string()));
            }
        }
    }
    out
}

fn run_leg(
    w: &World,
    dir: &Path,
    event_path: &Path,
    e: &Event,
    job: &Yaml,
    mut c: Map<String, Value>,
    matrix: Value,
) -> (Leg, Map<String, Value>) {
    let (ws, temp, home, bin) = (
        dir.join("ws"),
        dir.join("temp"),
        dir.join("home"),
        dir.join("bin"),
    );
    for d in [&ws, &temp, &home, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    c.insert(
        "runner".into(),
        json!({"temp": path_str(&temp), "os": "Linux", "arch": "X64"}),
    );
    c["github"]["workspace"] = json!(path_str(&ws));
    let job_env = interpolate_value(&job["env"], &c);
    let mut env: Map<String, Value> = c["env"].as_object().unwrap().clone();
    if let Some(j) = job_env.as_object() {
        env.extend(j.clone());
    }
    let mut leg = Leg {
        matrix,
        ..Leg::default()
    };
    let mut steps_ctx = Map::new();
    let mut added_env: Vec<(String, String)> = Vec::new();
    let mut added_path: Vec<String> = Vec::new();
    let steps = job["steps"].as_sequence().expect("steps");
    for (i, step) in steps.iter().enumerate() {
        let name = step["name"]
            .as_str()
            .or(step["uses"].as_str())
            .or(step["run"].as_str())
            .unwrap_or("step")
            .lines()
            .next()
            .unwrap()
            .to_string();
        c.insert("steps".into(), Value::Object(steps_ctx.clone()));
        c.insert("env".into(), Value::Object(env.clone()));
        let status = Status {
            failed: leg.failed,
            skipped: false,
        };
        if !condition(&step["if"], &c, status) {
            leg.steps.push(StepRecord {
                name,
                outcome: "skipped",
                log: String::new(),
            });
            if let Some(id) = step["id"].as_str() {
                steps_ctx.insert(
                    id.into(),
                    json!({"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}),
                );
            }
            continue;
        }
        let mut step_env = env.clone();
        if let Some(s) = interpolate_value(&step["env"], &c).as_object() {
            step_env.extend(s.clone());
        }
        let files = ["output", "env", "path", "summary"].map(|f| temp.join(format!("_{f}_{i}")));
        for f in &files {
            std::fs::write(f, "").unwrap();
        }
        let (ok, log) = if let Some(uses) = step["uses"].as_str() {
            let with = interpolate_value(&step["with"], &c);
            let empty = Map::new();
            let with = with.as_object().unwrap_or(&empty);
            let a = actions::Ctx {
                w,
                run_id: e_run_id(&c),
                sha: &e.sha,
                ws: &ws,
                bin: &bin,
            };
            match actions::run(uses, with, &a) {
                Ok(log) => (true, log),
                Err(log) => (false, log),
            }
        } else {
            let script = to_text(
                &interpolate(step["run"].as_str().expect("run or uses"), &c),
                "run",
            );
            assert!(
                step["shell"].is_null() || step["shell"].as_str() == Some("bash"),
                "only bash steps are simulated"
            );
            let script_path = temp.join(format!("_step_{i}.sh"));
            std::fs::write(&script_path, script).unwrap();
            let mut vars: Vec<(String, String)> = vec![
                ("CI".into(), "true".into()),
                ("GITHUB_ACTIONS".into(), "true".into()),
                ("GITHUB_EVENT_NAME".into(), e.name.clone()),
                ("GITHUB_EVENT_PATH".into(), path_str(event_path).into()),
                ("GITHUB_SHA".into(), e.sha.clone()),
                ("GITHUB_REF".into(), e.git_ref.clone()),
                ("GITHUB_REPOSITORY".into(), REPO.into()),
                (
                    "GITHUB_REPOSITORY_OWNER".into(),
                    REPO.split('/').next().unwrap().into(),
                ),
                ("GITHUB_RUN_ID".into(), e_run_id(&c).to_string()),
                (
                    "GITHUB_JOB".into(),
                    c["github"]["job"].as_str().unwrap().into(),
                ),
                (
                    "GITHUB_WORKFLOW".into(),
                    c["github"]["workflow"].as_str().unwrap().into(),
                ),
                ("GITHUB_SERVER_URL".into(), "https://github.com".into()),
                ("GITHUB_API_URL".into(), "https://api.github.com".into()),
                ("GITHUB_WORKSPACE".into(), path_str(&ws).into()),
                ("GITHUB_OUTPUT".into(), path_str(&files[0]).into()),
                ("GITHUB_ENV".into(), path_str(&files[1]).into()),
                ("GITHUB_PATH".into(), path_str(&files[2]).into()),
                ("GITHUB_STEP_SUMMARY".into(), path_str(&files[3]).into()),
                ("RUNNER_TEMP".into(), path_str(&temp).into()),
                ("RUNNER_OS".into(), "Linux".into()),
                ("HOME".into(), path_str(&home).into()),
                ("LANG".into(), "C.UTF-8".into()),
                ("FAKE_LOG".into(), path_str(&w.f.fake.join("log")).into()),
                ("FAKE_DIR".into(), path_str(&w.f.fake).into()),
                ("FAKE_GH_DIR".into(), path_str(&w.gh).into()),
            ];
            let mut path: Vec<String> = added_path.iter().rev().cloned().collect();
            path.extend([&bin, &w.bin, &w.f.bin].map(|p| path_str(p).to_string()));
            path.extend(["/usr/bin".into(), "/bin".into()]);
            vars.push(("PATH".into(), path.join(":")));
            vars.extend(w.env.iter().map(|(k, v)| (k.clone(), v.clone())));
            vars.extend(added_env.iter().cloned());
            for (k, v) in &step_env {
                vars.push((k.clone(), to_text(v, k)));
            }
            let wd = step["working-directory"]
                .as_str()
                .map_or(ws.clone(), |d| ws.join(d));
            let out = std::process::Command::new("timeout")
                .args(["300", "bash", "--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script_path)
                .current_dir(wd)
                .env_clear()
                .envs(vars)
                .output()
                .unwrap();
            let log = format!(
                "{}{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                if out.status.success() {
                    String::new()
                } else {
                    format!("Error: exit {:?}\n", out.status.code())
                }
            );
            (out.status.success(), log)
        };
        let read = |f: &PathBuf| std::fs::read_to_string(f).unwrap();
        let outputs: Map<String, Value> = parse_file_commands(&read(&files[0]))
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        added_env.extend(parse_file_commands(&read(&files[1])));
        added_path.extend(read(&files[2]).lines().map(String::from));
        leg.summary.push_str(&read(&files[3]));
        let continue_on_error = step["continue-on-error"].as_bool().unwrap_or(false);
        let outcome = if ok { "success" } else { "failure" };
        if let Some(id) = step["id"].as_str() {
            let conclusion = if ok || continue_on_error {
                "success"
            } else {
                "failure"
            };
            steps_ctx.insert(
                id.into(),
                json!({"outputs": outputs, "outcome": outcome, "conclusion": conclusion}),
            );
        }
        if !ok && !continue_on_error {
            leg.failed = true;
        }
        leg.steps.push(StepRecord { name, outcome, log });
    }
    c.insert("steps".into(), Value::Object(steps_ctx));
    let outputs = interpolate_value(&job["outputs"], &c);
    (leg, outputs.as_object().cloned().unwrap_or_default())
}

fn e_run_id(c: &Map<String, Value>) -> u64 {
    c["github"]["run_id"].as_str().unwrap().parse().unwrap()
}
