//! One leg of a job (a job, or one matrix value of it): its steps in order, in a fresh workspace.
//! A step runs when its `if:` holds (default `success()`: no earlier step failed); a `run:` step
//! is a bash script run as GitHub's default shell (`bash --noprofile --norc -eo pipefail`) in a
//! clean environment: GitHub's variables and files, the workflow's, job's and step's `env:`, and a
//! PATH of the leg's own folder (where the install step puts `deploy`), the fake `gh`, `sudo`,
//! `apt-get` and `git-crypt`, the fake cluster tools, then /usr/bin and /bin.

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

struct LegRun<'a> {
    w: &'a World,
    e: &'a Event,
    event_path: &'a Path,
    ws: PathBuf,
    temp: PathBuf,
    home: PathBuf,
    bin: PathBuf,
    /// from GITHUB_ENV and GITHUB_PATH of earlier steps
    added_env: Vec<(String, String)>,
    added_path: Vec<String>,
}

pub fn run_leg(
    w: &World,
    dir: &Path,
    event_path: &Path,
    e: &Event,
    job: &Yaml,
    mut c: Map<String, Value>,
    matrix: Value,
) -> (Leg, Map<String, Value>) {
    let mut r = LegRun {
        w,
        e,
        event_path,
        ws: dir.join("ws"),
        temp: dir.join("temp"),
        home: dir.join("home"),
        bin: dir.join("bin"),
        added_env: Vec::new(),
        added_path: Vec::new(),
    };
    for d in [&r.ws, &r.temp, &r.home, &r.bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    c.insert(
        "runner".into(),
        json!({"temp": path_str(&r.temp), "os": "Linux", "arch": "X64"}),
    );
    c["github"]["workspace"] = json!(path_str(&r.ws));
    let mut env: Map<String, Value> = c["env"].as_object().unwrap().clone();
    if let Some(j) = interpolate_value(&job["env"], &c).as_object() {
        env.extend(j.clone());
    }
    c.insert("env".into(), Value::Object(env));
    let mut leg = Leg {
        matrix,
        ..Leg::default()
    };
    let mut steps_ctx = Map::new();
    for (i, step) in job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .enumerate()
    {
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
        let status = Status {
            failed: leg.failed,
            skipped: false,
        };
        let id = step["id"].as_str();
        if !condition(&step["if"], &c, status) {
            let log = String::new();
            leg.steps.push(StepRecord {
                name,
                outcome: "skipped",
                log,
            });
            if let Some(id) = id {
                let skipped = json!({"outputs": {}, "outcome": "skipped", "conclusion": "skipped"});
                steps_ctx.insert(id.into(), skipped);
            }
            continue;
        }
        let (ok, log, outputs) = r.step(i, step, &c, &mut leg.summary);
        let continue_on_error = step["continue-on-error"].as_bool().unwrap_or(false);
        let outcome = if ok { "success" } else { "failure" };
        if let Some(id) = id {
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
        leg.failed |= !ok && !continue_on_error;
        leg.steps.push(StepRecord { name, outcome, log });
    }
    c.insert("steps".into(), Value::Object(steps_ctx));
    let outputs = interpolate_value(&job["outputs"], &c);
    (leg, outputs.as_object().cloned().unwrap_or_default())
}

impl LegRun<'_> {
    /// One step that runs: (succeeded, log, its outputs); its summary appended to `summary`.
    fn step(
        &mut self,
        i: usize,
        step: &Yaml,
        c: &Map<String, Value>,
        summary: &mut String,
    ) -> (bool, String, Map<String, Value>) {
        let files =
            ["output", "env", "path", "summary"].map(|f| self.temp.join(format!("_{f}_{i}")));
        for f in &files {
            std::fs::write(f, "").unwrap();
        }
        let (ok, log) = if let Some(uses) = step["uses"].as_str() {
            let with = interpolate_value(&step["with"], c);
            let empty = Map::new();
            let a = actions::Ctx {
                w: self.w,
                run_id: run_id(c),
                sha: &self.e.sha,
                ws: &self.ws,
                bin: &self.bin,
            };
            match actions::run(uses, with.as_object().unwrap_or(&empty), &a) {
                Ok(log) => (true, log),
                Err(log) => (false, log),
            }
        } else {
            self.script(i, step, c, &files)
        };
        let read = |f: &PathBuf| std::fs::read_to_string(f).unwrap();
        let outputs = parse_file_commands(&read(&files[0]))
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        self.added_env.extend(parse_file_commands(&read(&files[1])));
        self.added_path
            .extend(read(&files[2]).lines().map(String::from));
        summary.push_str(&read(&files[3]));
        (ok, log, outputs)
    }

    fn script(
        &self,
        i: usize,
        step: &Yaml,
        c: &Map<String, Value>,
        files: &[PathBuf; 4],
    ) -> (bool, String) {
        let script = to_text(
            &interpolate(step["run"].as_str().expect("run or uses"), c),
            "run",
        );
        assert!(
            step["shell"].is_null() || step["shell"].as_str() == Some("bash"),
            "only bash steps are simulated"
        );
        let script_path = self.temp.join(format!("_step_{i}.sh"));
        std::fs::write(&script_path, script).unwrap();
        let (w, e) = (self.w, self.e);
        let p = |p: &Path| path_str(p).to_string();
        let mut vars: Vec<(String, String)> = [
            ("CI", "true".into()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_EVENT_NAME", e.name.clone()),
            ("GITHUB_EVENT_PATH", p(self.event_path)),
            ("GITHUB_SHA", e.sha.clone()),
            ("GITHUB_REF", e.git_ref.clone()),
            ("GITHUB_REPOSITORY", REPO.into()),
            (
                "GITHUB_REPOSITORY_OWNER",
                REPO.split('/').next().unwrap().into(),
            ),
            ("GITHUB_RUN_ID", run_id(c).to_string()),
            ("GITHUB_JOB", c["github"]["job"].as_str().unwrap().into()),
            (
                "GITHUB_WORKFLOW",
                c["github"]["workflow"].as_str().unwrap().into(),
            ),
            ("GITHUB_SERVER_URL", "https://github.com".into()),
            ("GITHUB_API_URL", "https://api.github.com".into()),
            ("GITHUB_WORKSPACE", p(&self.ws)),
            ("GITHUB_OUTPUT", p(&files[0])),
            ("GITHUB_ENV", p(&files[1])),
            ("GITHUB_PATH", p(&files[2])),
            ("GITHUB_STEP_SUMMARY", p(&files[3])),
            ("RUNNER_TEMP", p(&self.temp)),
            ("RUNNER_OS", "Linux".into()),
            ("HOME", p(&self.home)),
            ("LANG", "C.UTF-8".into()),
            ("FAKE_LOG", p(&w.f.fake.join("log"))),
            ("FAKE_DIR", p(&w.f.fake)),
            ("FAKE_GH_DIR", p(&w.gh)),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .into();
        let mut path: Vec<String> = self.added_path.iter().rev().cloned().collect();
        path.extend([&self.bin, &w.bin, &w.f.bin].map(|d| p(d)));
        path.extend(["/usr/bin".into(), "/bin".into()]);
        vars.push(("PATH".into(), path.join(":")));
        vars.extend(w.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars.extend(self.added_env.iter().cloned());
        for (k, v) in c["env"].as_object().unwrap() {
            vars.push((k.clone(), to_text(v, k)));
        }
        if let Some(s) = interpolate_value(&step["env"], c).as_object() {
            vars.extend(s.iter().map(|(k, v)| (k.clone(), to_text(v, k))));
        }
        let wd = step["working-directory"]
            .as_str()
            .map_or(self.ws.clone(), |d| self.ws.join(d));
        let out = std::process::Command::new("timeout")
            .args(["300", "bash", "--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_path)
            .current_dir(wd)
            .env_clear()
            .envs(vars)
            .output()
            .unwrap();
        let ok = out.status.success();
        let log = format!(
            "{}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            if ok {
                String::new()
            } else {
                format!("Error: exit {:?}\n", out.status.code())
            }
        );
        (ok, log)
    }
}

fn run_id(c: &Map<String, Value>) -> u64 {
    c["github"]["run_id"].as_str().unwrap().parse().unwrap()
}
