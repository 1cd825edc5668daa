//! The shipped CI files parse, and every `deploy` invocation in them is accepted by the real CLI
//! (run with `--dry-run` in a copy of the example repo).

mod common;

use common::{Fixture, manifest_dir, text};
use serde_yaml::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(manifest_dir().join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `deploy …` line in the shell strings under `keys`, in document order.
fn deploy_lines(v: &Value, keys: &[&str], out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                let is_script = k.as_str().is_some_and(|k| keys.contains(&k));
                if is_script {
                    let scripts: Vec<&str> = match val {
                        Value::String(s) => vec![s.as_str()],
                        Value::Sequence(seq) => seq.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    for s in scripts {
                        for line in s
                            .lines()
                            .map(str::trim)
                            .filter(|l| l.starts_with("deploy "))
                        {
                            out.push(line.to_string());
                        }
                    }
                } else {
                    deploy_lines(val, keys, out);
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| deploy_lines(x, keys, out)),
        _ => {}
    }
}

fn run_dry(f: &Fixture, line: &str) {
    let line = line.split(" || ").next().unwrap();
    let args: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|a| a.trim_matches('"').to_string())
        .collect();
    let out = f.deploy().args(&args).arg("--dry-run").output().unwrap();
    assert!(
        out.status.success(),
        "`{line} --dry-run` failed:\n{}",
        text(&out.stderr)
    );
    assert!(f.calls().is_empty(), "a dry run starts no tool");
}

#[test]
fn travis_invocations_parse_with_the_real_cli() {
    let travis = load(".travis.yml");
    let jobs = travis["jobs"]["include"]
        .as_sequence()
        .expect("jobs.include");
    let mut pr = Vec::new();
    let mut push = Vec::new();
    for job in jobs {
        let cond = job["if"].as_str().unwrap_or_default();
        let target = if cond.contains("pull_request") {
            &mut pr
        } else {
            &mut push
        };
        deploy_lines(job, &["script", "before_script"], target);
    }
    assert_eq!(
        pr,
        [
            "deploy --no-setup --build staginghub",
            "deploy --no-setup --build ea-hub",
            "deploy --no-setup --build nbgrader-hub"
        ]
    );
    assert_eq!(
        push[0], "deploy --build --push --deploy staginghub || travis_terminate 1",
        "staginghub first, and it gates the rest"
    );
    let f = Fixture::example();
    for line in pr.iter().chain(&push) {
        run_dry(&f, line);
    }
}

#[test]
fn github_workflow_invocations_parse_with_the_real_cli() {
    let wf = load(".github/workflows/legacy-deploy.yaml");
    let f = Fixture::example();
    let mut seen = 0;
    for (name, job) in wf["jobs"].as_mapping().unwrap() {
        let charts: Vec<String> = job["strategy"]["matrix"]["chart"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let mut lines = Vec::new();
        deploy_lines(job, &["run"], &mut lines);
        for line in lines {
            let expanded: Vec<String> = if line.contains("\"$CHART\"") {
                assert!(!charts.is_empty(), "{name:?} uses $CHART without a matrix");
                charts
                    .iter()
                    .map(|c| line.replace("\"$CHART\"", c))
                    .collect()
            } else {
                vec![line]
            };
            for l in expanded {
                run_dry(&f, &l);
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 3 + 1 + 3, "PR builds, staging deploy, other hubs");
    // staging gates production
    assert_eq!(
        wf["jobs"]["deploy-hubs"]["needs"].as_str(),
        Some("deploy-staging")
    );
}
