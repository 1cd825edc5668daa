//! What the workflow files themselves promise (issue 18, items 5 and 6): deploy installed in one
//! step everywhere, never from this repository's source; `apt-get update` before each install;
//! Dependabot keeping the pins current; validate.yaml's path filter covering every file
//! `deploy validate` reads (traced with strace, in both layouts).

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml::Value as Yaml;

use super::actions::INSTALL;
use super::events::path_filter;
use crate::common::{Fixture, manifest_dir};

/// The workflows a hub-ops repository copies (docs/ci.md); this repository's own (a release
/// workflow, say) build deploy from its source and are not checked here.
pub const HUB_OPS: &[&str] = &[
    "comment-plan.yaml",
    "deploy-hubs.yaml",
    "legacy-deploy.yaml",
    "validate.yaml",
];

fn workflows() -> Vec<(String, Yaml, String)> {
    let dir = manifest_dir().join(".github/workflows");
    let mut out: Vec<(String, Yaml, String)> = HUB_OPS
        .iter()
        .map(|name| {
            let name = name.to_string();
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            let wf = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, wf, text)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn runs_deploy(step: &Yaml) -> bool {
    step["run"]
        .as_str()
        .is_some_and(|r| r.lines().any(|l| l.trim_start().starts_with("deploy ")))
}

#[test]
fn every_job_installs_deploy_in_one_step_never_from_this_source_tree() {
    let mut jobs_with_deploy = 0;
    for (name, wf, text) in workflows() {
        for bad in ["cargo install", "--path .", "scripts/", "Cargo.toml"] {
            assert!(
                !text.contains(bad),
                "{name} mentions `{bad}`: a copy has no such thing"
            );
        }
        for (job_id, job) in wf["jobs"].as_mapping().unwrap() {
            let steps = job["steps"].as_sequence().unwrap();
            let installs: Vec<usize> = (0..steps.len())
                .filter(|&i| steps[i]["uses"].as_str() == Some(INSTALL))
                .collect();
            let first_deploy = steps.iter().position(runs_deploy);
            match first_deploy {
                None => assert!(
                    installs.is_empty(),
                    "{name}/{job_id:?} installs deploy for nothing"
                ),
                Some(d) => {
                    jobs_with_deploy += 1;
                    assert_eq!(installs.len(), 1, "{name}/{job_id:?}: one install step");
                    assert!(installs[0] < d, "{name}/{job_id:?}: installed before use");
                    assert_eq!(steps[installs[0]]["name"].as_str(), Some("Install deploy"));
                }
            }
        }
    }
    assert_eq!(jobs_with_deploy, 9);
    let text =
        std::fs::read_to_string(manifest_dir().join(".github/actions/install-deploy/action.yaml"))
            .unwrap();
    // a released binary, checked against its SHA256SUMS by the installer: nothing compiles
    assert!(!text.contains("cargo "), "{text}");
    assert!(text.contains("install.sh"), "{text}");
    let action: Yaml = serde_yaml::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    assert_eq!(
        action["runs"]["steps"].as_sequence().unwrap().len(),
        1,
        "one step to replace"
    );
}

#[test]
fn apt_get_update_comes_before_every_install() {
    let mut seen = 0;
    for (name, wf, _) in workflows() {
        for (_, job) in wf["jobs"].as_mapping().unwrap() {
            for step in job["steps"].as_sequence().unwrap() {
                let Some(run) = step["run"].as_str() else {
                    continue;
                };
                if let Some(i) = run.find("apt-get install") {
                    seen += 1;
                    assert!(run[..i].contains("apt-get update"), "{name}: {run}");
                }
            }
        }
    }
    assert_eq!(seen, 2, "the legacy deploy jobs install git-crypt");
}

#[test]
fn every_action_is_pinned_and_simulated_and_dependabot_keeps_them_current() {
    for (name, wf, text) in workflows() {
        for (_, job) in wf["jobs"].as_mapping().unwrap() {
            for step in job["steps"].as_sequence().unwrap() {
                let Some(uses) = step["uses"].as_str() else {
                    continue;
                };
                let action = uses.split('@').next().unwrap();
                assert!(
                    [
                        "actions/checkout",
                        "actions/upload-artifact",
                        "actions/download-artifact",
                        INSTALL
                    ]
                    .contains(&action),
                    "{name}: {uses} is not simulated by tests/workflows/actions.rs"
                );
                if action != INSTALL {
                    let line = text.lines().find(|l| l.contains(uses)).unwrap();
                    assert!(
                        line.contains(" # v"),
                        "{name}: `{line}` names no version for Dependabot"
                    );
                }
            }
        }
    }
    let dependabot: Yaml = serde_yaml::from_str(
        &std::fs::read_to_string(manifest_dir().join(".github/dependabot.yml")).unwrap(),
    )
    .unwrap();
    let actions = dependabot["updates"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|u| u["package-ecosystem"].as_str() == Some("github-actions"))
        .expect("a github-actions entry");
    let dirs: Vec<&str> = actions["directories"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(dirs, ["/", "/.github/actions/install-deploy"]);
    assert!(actions["schedule"]["interval"].as_str().is_some());
}

/// Every repository path `deploy validate --helm` opens, stats or hands a tool, existing or not.
fn paths_validate_reads(f: &Fixture, strace: &Path) -> BTreeSet<String> {
    let trace = f.root.parent().unwrap().join("validate.trace");
    let base = f.command();
    let mut c = std::process::Command::new(strace);
    c.current_dir(&f.root).env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let out = c
        .args([
            "-f",
            "-e",
            "trace=open,openat,stat,newfstatat,statx,access,readlink,lstat",
            "-o",
        ])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_deploy"))
        .args(["validate", "--helm"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = f.root.canonicalize().unwrap();
    let mut paths = BTreeSet::new();
    let mut add = |p: &str| {
        let p = Path::new(p);
        let rel = if p.is_absolute() {
            match p.strip_prefix(&root).or_else(|_| p.strip_prefix(&f.root)) {
                Ok(r) => r.to_path_buf(),
                Err(_) => return,
            }
        } else {
            p.to_path_buf()
        };
        let rel = rel.to_string_lossy().trim_start_matches("./").to_string();
        if !rel.is_empty() && rel != "." && !rel.starts_with(".git/") && rel != ".git" {
            paths.insert(rel);
        }
    };
    for line in std::fs::read_to_string(&trace).unwrap().lines() {
        if let Some(start) = line.find('"') {
            let rest = &line[start + 1..];
            add(&rest[..rest.find('"').unwrap()]);
        }
    }
    // what helm would read: the charts, values files and folders deploy hands it
    for call in f.calls() {
        for arg in call.split(' ').flat_map(|a| a.split('=')) {
            if f.root.join(arg).exists() && !arg.is_empty() && !arg.starts_with('-') {
                add(arg);
            }
        }
    }
    paths
}

#[test]
fn validate_runs_for_every_file_deploy_validate_reads() {
    let Ok(strace) = which::which("strace") else {
        crate::common::real::skip(
            "validate_runs_for_every_file_deploy_validate_reads",
            "strace not found (Debian package strace)",
        );
        return;
    };
    let wf = &workflows()
        .into_iter()
        .find(|w| w.0 == "validate.yaml")
        .unwrap()
        .1;
    let filter = path_filter(&wf["on"]["pull_request"]["paths"]);
    for (layout, f) in [
        ("legacy", Fixture::example()),
        ("multi-cluster", Fixture::multi()),
    ] {
        let read = paths_validate_reads(&f, &strace);
        assert!(read.len() > 10, "{layout}: {read:#?}");
        let missed: Vec<&String> = read
            .iter()
            .filter(|p| {
                let is_dir = f.root.join(p).is_dir();
                !(filter.is_match(p) || is_dir && filter.is_match(format!("{p}/any.yaml")))
            })
            // listing the root to find the layout: any change would do
            .filter(|p| *p != "config/clusters" || !filter.is_match("config/clusters/x"))
            .collect();
        assert!(
            missed.is_empty(),
            "{layout}: validate.yaml's paths miss {missed:#?}"
        );
    }
    assert!(filter.is_match(".flux.ci"));
}

/// The install action's one step, run as its composite step would be with these inputs, against
/// a fake release served on 127.0.0.1 (tests/common/release_server.rs): (succeeded, output, what
/// $GITHUB_PATH got).
fn install_step(version: &str) -> (bool, String, String) {
    use crate::common::release_server::{release, serve};
    let text =
        std::fs::read_to_string(manifest_dir().join(".github/actions/install-deploy/action.yaml"))
            .unwrap();
    let action: Yaml = serde_yaml::from_str(&text).unwrap();
    let step = &action["runs"]["steps"][0];
    assert_eq!(step["shell"].as_str(), Some("bash"));
    assert_eq!(
        step["env"]["VERSION"].as_str(),
        Some("${{ inputs.version }}")
    );
    assert_eq!(
        step["env"]["RELEASES_URL"].as_str(),
        Some("${{ inputs.releases-url }}")
    );
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let tag = release(&site, "v1.2.3");
    // the release carries its installer, as the release workflow uploads it
    for d in [tag, site.join("latest/download")] {
        std::fs::copy(manifest_dir().join("scripts/install"), d.join("install.sh")).unwrap();
    }
    let url = serve(site);
    let script = dir.path().join("step.sh");
    std::fs::write(&script, step["run"].as_str().unwrap()).unwrap();
    let (temp, github_path) = (dir.path().join("runner-temp"), dir.path().join("path"));
    std::fs::create_dir_all(&temp).unwrap();
    let out = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .env("VERSION", version)
        .env("RELEASES_URL", &url)
        .env("RUNNER_TEMP", &temp)
        .env("GITHUB_PATH", &github_path)
        .env("DEPLOY_INSTALL_OS", "Linux")
        .env("DEPLOY_INSTALL_ARCH", "x86_64")
        .output()
        .unwrap();
    // actionlint shellchecks the workflows' steps, not a composite action's: here
    match which::which("shellcheck") {
        Ok(sc) => {
            let lint = std::process::Command::new(sc)
                .args(["-s", "bash"])
                .arg(&script)
                .output()
                .unwrap();
            assert!(
                lint.status.success(),
                "{}",
                String::from_utf8_lossy(&lint.stdout)
            );
        }
        Err(_) => crate::common::real::skip(
            "the install step's shellcheck",
            "shellcheck not found (scripts/lint-workflows installs it)",
        ),
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = std::fs::read_to_string(&github_path).unwrap_or_default();
    (out.status.success(), text, path)
}

#[test]
fn the_install_step_installs_a_verified_release_or_says_what_is_missing() {
    for version in ["v1.2.3", ""] {
        let (ok, out, path) = install_step(version);
        assert!(ok, "{version:?}: {out}");
        assert!(
            out.contains("deploy v1.2.3 (commit fake) x86_64-unknown-linux-musl"),
            "{out}"
        );
        assert!(path.trim().ends_with("runner-temp/deploy-bin"), "{path}");
    }
    let (ok, out, path) = install_step("v9.9.9");
    assert!(!ok && path.is_empty());
    assert!(
        out.contains("::error::cannot download the deploy installer from"),
        "{out}"
    );
}
