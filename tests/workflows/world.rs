//! A simulated GitHub for the workflow tests: a bare repository playing the GitHub repository
//! (`origin`: branches, `refs/pull/N/{head,merge}`, tags), a work clone to make commits in (the
//! [`Fixture`], with its fake cluster tools), the state the fake `gh` answers from (pull requests,
//! comments, artifacts), event payloads of GitHub's shapes, and runs queued per concurrency group
//! as GitHub does (a new pending run replaces the older pending one of its group).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::events;
use super::runner::{self, Run};
use crate::common::{Fixture, git, manifest_dir};

pub const REPO: &str = "hub-org/hub-ops";
pub const ZEROS: &str = "0000000000000000000000000000000000000000";

#[derive(Clone, Debug)]
pub struct Event {
    pub name: String,
    pub payload: Value,
    /// GITHUB_SHA and GITHUB_REF of the run
    pub sha: String,
    pub git_ref: String,
}

impl Event {
    pub fn action(&self) -> &str {
        self.payload["action"].as_str().unwrap_or_default()
    }
}

struct Pending {
    id: u64,
    file: String,
    event: Event,
    group: Option<String>,
}

pub struct World {
    pub f: Fixture,
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub origin: PathBuf,
    /// the fake GitHub API's state (tests/fake-tools/fake-gh)
    pub gh: PathBuf,
    /// gh, sudo, apt-get, git-crypt
    pub bin: PathBuf,
    pub vars: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    /// more environment for every step: the fake tools' switches (FAKE_FAIL, …)
    pub env: BTreeMap<String, String>,
    pub runs: Vec<Run>,
    pending: Vec<Pending>,
    next_id: u64,
}

impl World {
    /// This repository as it is: every file git would commit, from the work tree.
    pub fn this_repo() -> World {
        let f = Fixture::empty();
        let out = std::process::Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(manifest_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git ls-files in {}",
            manifest_dir().display()
        );
        for rel in String::from_utf8(out.stdout).unwrap().split('\0') {
            let from = manifest_dir().join(rel);
            if rel.is_empty() || !from.is_file() {
                continue;
            }
            let to = f.root.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
        f.commit_all("this repository");
        World::new(f)
    }

    /// A fixture with the workflows copied in by docs/ci.md's block marked `<!-- copy: NAME -->`.
    pub fn copied(f: Fixture, block: &str) -> World {
        let script = copy_block(block);
        let out = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(&f.root)
            .env("DEPLOY_SRC", manifest_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docs/ci.md's `{block}` commands failed:\n{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!f.root.join("Cargo.toml").exists());
        f.commit_all("the deploy workflows, copied as docs/ci.md says");
        World::new(f)
    }

    fn new(f: Fixture) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let (origin, gh, bin) = (dir.join("origin.git"), dir.join("gh"), dir.join("bin"));
        for d in [&gh, &bin, &gh.join("artifacts")] {
            std::fs::create_dir_all(d).unwrap();
        }
        git(&dir, &["init", "-q", "--bare", "-b", "main", "origin.git"]);
        git(
            &origin,
            &["config", "uploadpack.allowAnySHA1InWant", "true"],
        );
        git(
            &f.root,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&f.root, &["push", "-q", "origin", "main"]);
        std::fs::write(gh.join("pulls.json"), "[]").unwrap();
        std::fs::write(gh.join("comments.json"), "[]").unwrap();
        std::fs::write(gh.join("origin"), origin.to_str().unwrap()).unwrap();
        std::fs::write(gh.join("repo"), REPO).unwrap();
        std::fs::write(gh.join("log"), "").unwrap();
        let fakes = manifest_dir().join("tests/fake-tools");
        std::os::unix::fs::symlink(fakes.join("fake-gh"), bin.join("gh")).unwrap();
        for t in ["apt-get", "git-crypt"] {
            std::os::unix::fs::symlink(fakes.join("fake-tool"), bin.join(t)).unwrap();
        }
        let sudo = bin.join("sudo");
        std::fs::write(
            &sudo,
            "#!/bin/sh\nprintf 'sudo %s\\n' \"$*\" >>\"$FAKE_LOG\"\nexec \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&sudo, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let secrets = [
            ("SOPS_AGE_KEY", "AGE-SECRET-KEY-1FAKEFAKEFAKE"),
            ("GIT_CRYPT_KEY", "ZmFrZSBnaXQtY3J5cHQga2V5"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        World {
            f,
            _tmp: tmp,
            dir,
            origin,
            gh,
            bin,
            vars: BTreeMap::new(),
            secrets,
            env: BTreeMap::new(),
            runs: Vec::new(),
            pending: Vec::new(),
            next_id: 1000,
        }
    }

    pub fn origin_git(&self, args: &[&str]) -> String {
        git(&self.origin, args).trim().to_string()
    }

    pub fn main_sha(&self) -> String {
        self.origin_git(&["rev-parse", "main"])
    }

    /// The commit a tag of the GitHub repository points at.
    pub fn tag(&self, name: &str) -> Option<String> {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "-q", "--verify"])
            .arg(format!("refs/tags/{name}^{{commit}}"))
            .current_dir(&self.origin)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap().trim().to_string())
    }

    /// Write files in the work clone and commit them on its current branch.
    pub fn commit(&self, files: &[(&str, &str)], msg: &str) -> String {
        for (rel, text) in files {
            self.f.write(rel, text);
        }
        self.f.commit_all(msg);
        git(&self.f.root, &["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Append a line to each file (a change the planner sees), and commit.
    pub fn touch(&self, rels: &[&str], msg: &str) -> String {
        for rel in rels {
            let p = self.f.root.join(rel);
            let mut text = std::fs::read_to_string(&p).unwrap_or_default();
            text.push_str(&format!("# {msg}\n"));
            self.f.write(rel, text);
        }
        self.f.commit_all(msg);
        git(&self.f.root, &["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn checkout(&self, branch: &str, new: bool) {
        let args: &[&str] = if new {
            &["checkout", "-q", "-b", branch]
        } else {
            &["checkout", "-q", branch]
        };
        git(&self.f.root, args);
    }

    /// Push the work clone's main to GitHub: the push event.
    pub fn push_main(&self) -> Event {
        let before = self.main_sha();
        git(&self.f.root, &["push", "-q", "origin", "main:main"]);
        events::push(self, &before, &self.main_sha())
    }

    /// Open (or update, after more commits) PR `n` from the work clone's current branch, into
    /// main; from `fork`'s copy of the repository when given. GitHub's refs/pull/N/head and
    /// refs/pull/N/merge are made, and the PR is stored where the fake API reads it.
    pub fn open_pr(&self, n: u64, fork: Option<&str>) -> Value {
        let branch = git(&self.f.root, &["rev-parse", "--abbrev-ref", "HEAD"])
            .trim()
            .to_string();
        let head = git(&self.f.root, &["rev-parse", "HEAD"]).trim().to_string();
        git(
            &self.f.root,
            &[
                "push",
                "-q",
                "-f",
                "origin",
                &format!("HEAD:refs/pull/{n}/head"),
            ],
        );
        if fork.is_none() {
            git(
                &self.f.root,
                &[
                    "push",
                    "-q",
                    "-f",
                    "origin",
                    &format!("HEAD:refs/heads/{branch}"),
                ],
            );
        }
        let base = self.main_sha();
        let tree = self.origin_git(&["merge-tree", "--write-tree", &base, &head]);
        let merge = self.origin_git(&[
            "commit-tree",
            &tree,
            "-p",
            &base,
            "-p",
            &head,
            "-m",
            &format!("Merge {head} into {base}"),
        ]);
        self.origin_git(&["update-ref", &format!("refs/pull/{n}/merge"), &merge]);
        let owner = fork.unwrap_or(REPO.split('/').next().unwrap());
        let labels = self.pr(n).map(|p| p["labels"].clone()).unwrap_or(json!([]));
        let pr = events::pull_request_object(n, &branch, &head, owner, &base, &merge, labels);
        self.store_pr(pr.clone());
        pr
    }

    pub fn pr(&self, n: u64) -> Option<Value> {
        self.pulls().into_iter().find(|p| p["number"] == n)
    }

    pub fn pulls(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.gh.join("pulls.json")).unwrap();
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn store_pr(&self, pr: Value) {
        let mut all: Vec<Value> = self
            .pulls()
            .into_iter()
            .filter(|p| p["number"] != pr["number"])
            .collect();
        all.push(pr);
        std::fs::write(self.gh.join("pulls.json"), Value::Array(all).to_string()).unwrap();
    }

    /// Add a label to PR `n`: the `labeled` event.
    pub fn label(&self, n: u64, label: &str) -> Event {
        let mut pr = self.pr(n).expect("the PR is open");
        pr["labels"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": label, "color": "ededed", "default": false}));
        self.store_pr(pr);
        let mut e = events::pull_request(self, n, "labeled");
        e.payload["label"] = json!({"name": label});
        e
    }

    /// The issue comments, as the API stores them (`issue_number`, `user`, `body`).
    pub fn comments(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.gh.join("comments.json")).unwrap();
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn add_comment(&self, pr: u64, login: &str, body: &str) -> u64 {
        let mut all = self.comments();
        let id = 5000 + all.len() as u64;
        let kind = if login.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        };
        all.push(
            json!({"id": id, "issue_number": pr, "user": {"login": login, "type": kind},
            "body": body}),
        );
        std::fs::write(self.gh.join("comments.json"), Value::Array(all).to_string()).unwrap();
        id
    }

    /// The fake API's calls so far.
    pub fn gh_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.gh.join("log"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    pub fn artifacts(&self, run: u64) -> PathBuf {
        self.gh.join("artifacts").join(run.to_string())
    }

    /// The workflow file as GitHub reads it: from the event's commit.
    pub fn workflow(&self, file: &str, sha: &str) -> serde_yaml::Value {
        let text = self.origin_git(&["show", &format!("{sha}:.github/workflows/{file}")]);
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    /// Queue a run of `file` for `event` if its `on:` filters take the event; GitHub's
    /// concurrency: a pending run of the same group is cancelled (it never starts).
    pub fn trigger(&mut self, file: &str, event: &Event) -> Option<u64> {
        let wf = self.workflow(file, &event.sha);
        if !events::triggers(self, &wf, event) {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let group = runner::concurrency_group(self, &wf, event, id);
        if let Some(g) = &group
            && let Some(i) = self
                .pending
                .iter()
                .position(|p| p.group.as_ref() == Some(g))
        {
            let old = self.pending.remove(i);
            let wf = self.workflow(&old.file, &old.event.sha);
            self.runs
                .push(Run::cancelled(old.id, &old.file, &wf, old.event));
        }
        self.pending.push(Pending {
            id,
            file: file.to_string(),
            event: event.clone(),
            group,
        });
        Some(id)
    }

    /// Start every queued run, oldest first, each to its end.
    pub fn drain(&mut self) -> Vec<Run> {
        let mut done = Vec::new();
        while !self.pending.is_empty() {
            let p = self.pending.remove(0);
            let wf = self.workflow(&p.file, &p.event.sha);
            let run = runner::execute(self, p.id, &p.file, &wf, &p.event);
            self.runs.push(run.clone());
            done.push(run);
        }
        done
    }

    /// Trigger and run: the workflow must take the event.
    pub fn run(&mut self, file: &str, event: &Event) -> Run {
        let id = self
            .trigger(file, event)
            .unwrap_or_else(|| panic!("{file} does not run on this {} event", event.name));
        self.drain().into_iter().find(|r| r.id == id).unwrap()
    }

    /// The fake cluster tools' calls so far (FAKE_LOG), and clear them.
    pub fn take_calls(&self) -> Vec<String> {
        let calls = self.f.calls();
        self.f.clear_calls();
        calls
    }
}

/// The shell block after `<!-- copy: NAME -->` in docs/ci.md.
pub fn copy_block(name: &str) -> String {
    let doc = std::fs::read_to_string(manifest_dir().join("docs/ci.md")).unwrap();
    let marker = format!("<!-- copy: {name} -->");
    let at = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/ci.md has no `{marker}`"));
    let rest = &doc[at..];
    let start = rest
        .find("```sh\n")
        .expect("a ```sh block after the marker")
        + 6;
    let end = rest[start..].find("```").unwrap();
    rest[start..start + end].to_string()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
