//! Event payloads in GitHub's shapes (the fields of GitHub's webhook payloads that workflows read,
//! with GitHub's names and nesting: octokit/webhooks' `payload-examples` show whole ones), and
//! whether a workflow's `on:` takes an event (types, branches, paths).

use globset::{GlobBuilder, GlobSetBuilder};
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;

use super::runner::Run;
use super::world::{Event, REPO, World, ZEROS};

fn repository(full_name: &str, fork: bool) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap();
    json!({
        "id": 300029405, "node_id": "R_kgDOEeJU3Q", "name": name, "full_name": full_name,
        "private": false, "fork": fork, "default_branch": "main",
        "owner": {"login": owner, "id": 41548062, "type": "Organization"},
        "html_url": format!("https://github.com/{full_name}"),
        "url": format!("https://api.github.com/repos/{full_name}"),
    })
}

fn sender() -> Value {
    json!({"login": "octocat", "id": 583231, "type": "User"})
}

pub fn push(w: &World, before: &str, after: &str) -> Event {
    let message = git_out(w, &["log", "-1", "--format=%s", after]);
    let tree = git_out(w, &["rev-parse", &format!("{after}^{{tree}}")]);
    let commit = json!({"id": after, "tree_id": tree, "distinct": true, "message": message,
        "timestamp": "2020-01-01T00:00:00Z",
        "author": {"name": "Test", "email": "test@example.invalid"}});
    Event {
        name: "push".into(),
        payload: json!({
            "ref": "refs/heads/main", "before": before, "after": after,
            "created": before == ZEROS, "deleted": false, "forced": false, "base_ref": null,
            "compare": format!("https://github.com/{REPO}/compare/{before}...{after}"),
            "commits": [commit], "head_commit": commit,
            "repository": repository(REPO, false),
            "pusher": {"name": "octocat", "email": "octocat@example.invalid"},
            "sender": sender(),
        }),
        sha: after.into(),
        git_ref: "refs/heads/main".into(),
    }
}

fn git_out(w: &World, args: &[&str]) -> String {
    w.origin_git(args)
}

/// A pull request object as the REST API and the `pull_request` payload give it.
pub fn pull_request_object(
    n: u64,
    branch: &str,
    head: &str,
    owner: &str,
    base: &str,
    merge: &str,
    labels: Value,
) -> Value {
    let fork = owner != REPO.split('/').next().unwrap();
    let head_repo = format!("{owner}/{}", REPO.split('/').nth(1).unwrap());
    json!({
        "url": format!("https://api.github.com/repos/{REPO}/pulls/{n}"),
        "id": 279147437 + n, "number": n, "state": "open", "locked": false,
        "title": format!("Change {branch}"), "user": {"login": owner, "type": "User"},
        "draft": false, "merged": false, "merge_commit_sha": merge,
        "labels": labels,
        "head": {"label": format!("{owner}:{branch}"), "ref": branch, "sha": head,
            "user": {"login": owner}, "repo": repository(&head_repo, fork)},
        "base": {"label": format!("{}:main", REPO.split('/').next().unwrap()), "ref": "main",
            "sha": base, "repo": repository(REPO, false)},
    })
}

/// A `pull_request` event of PR `n` as it is now (opened, synchronize, labeled, …).
pub fn pull_request(w: &World, n: u64, action: &str) -> Event {
    let pr = w.pr(n).expect("the PR exists");
    Event {
        name: "pull_request".into(),
        sha: pr["merge_commit_sha"].as_str().unwrap().into(),
        git_ref: format!("refs/pull/{n}/merge"),
        payload: json!({"action": action, "number": n, "pull_request": pr,
            "repository": repository(REPO, false), "sender": sender()}),
    }
}

/// The `workflow_run` event of a finished run (GitHub lists the run's PRs only when the head
/// branch is in this repository: for a fork, `pull_requests` is empty).
pub fn workflow_run(w: &World, run: &Run) -> Event {
    let main = w.main_sha();
    let (head_sha, head_branch, head_repo, prs) = match run.event.name.as_str() {
        "pull_request" => {
            let pr = &run.event.payload["pull_request"];
            let head_repo = pr["head"]["repo"]["full_name"]
                .as_str()
                .unwrap()
                .to_string();
            let short = |r: &Value| {
                json!({"ref": r["ref"], "sha": r["sha"],
                "repo": {"id": r["repo"]["id"], "url": r["repo"]["url"], "name": r["repo"]["name"]}})
            };
            let prs = if head_repo == REPO {
                json!([{"url": pr["url"], "id": pr["id"], "number": pr["number"],
                    "head": short(&pr["head"]), "base": short(&pr["base"])}])
            } else {
                json!([])
            };
            let sha = pr["head"]["sha"].as_str().unwrap().to_string();
            let branch = pr["head"]["ref"].as_str().unwrap().to_string();
            (sha, branch, head_repo, prs)
        }
        _ => (run.event.sha.clone(), "main".into(), REPO.into(), json!([])),
    };
    let path = format!(".github/workflows/{}", run.file);
    Event {
        name: "workflow_run".into(),
        sha: main,
        git_ref: "refs/heads/main".into(),
        payload: json!({
            "action": "completed",
            "workflow_run": {
                "id": run.id, "name": run.name, "path": path, "run_number": run.id - 999,
                "event": run.event.name, "status": "completed", "conclusion": run.conclusion,
                "head_branch": head_branch, "head_sha": head_sha,
                "head_commit": {"id": head_sha},
                "head_repository": repository(&head_repo, head_repo != REPO),
                "repository": repository(REPO, false),
                "pull_requests": prs,
                "artifacts_url": format!("https://api.github.com/repos/{REPO}/actions/runs/{}/artifacts", run.id),
            },
            "workflow": {"id": 2823525, "name": run.name, "path": path, "state": "active"},
            "repository": repository(REPO, false),
            "sender": sender(),
        }),
    }
}

fn globs(list: &Yaml, what: &str) -> globset::GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in list
        .as_sequence()
        .unwrap_or_else(|| panic!("{what}: a list"))
    {
        let p = p.as_str().unwrap();
        assert!(
            !p.starts_with('!'),
            "{what}: negated patterns are not simulated"
        );
        b.add(GlobBuilder::new(p).literal_separator(true).build().unwrap());
    }
    b.build().unwrap()
}

/// A workflow's `paths:` filter as a matcher (GitHub's: `*` stops at `/`, `**` does not).
pub fn path_filter(list: &Yaml) -> globset::GlobSet {
    globs(list, "paths")
}

/// The files an event changed, as GitHub's path filters see them.
fn changed(w: &World, e: &Event) -> Vec<String> {
    let out = match e.name.as_str() {
        "push" => {
            let (b, a) = (e.payload["before"].as_str().unwrap(), e.sha.as_str());
            if b == ZEROS {
                w.origin_git(&["ls-tree", "-r", "--name-only", a])
            } else {
                w.origin_git(&["diff", "--name-only", b, a])
            }
        }
        "pull_request" => {
            let pr = &e.payload["pull_request"];
            let (b, h) = (
                pr["base"]["sha"].as_str().unwrap(),
                pr["head"]["sha"].as_str().unwrap(),
            );
            let mb = w.origin_git(&["merge-base", b, h]);
            w.origin_git(&["diff", "--name-only", &mb, h])
        }
        other => panic!("no changed files for {other}"),
    };
    out.lines().map(String::from).collect()
}

/// Whether `on:` takes this event.
pub fn triggers(w: &World, wf: &Yaml, e: &Event) -> bool {
    let on = &wf["on"];
    let spec = match on {
        Yaml::String(s) => return *s == e.name,
        Yaml::Sequence(s) => return s.iter().any(|x| x.as_str() == Some(&e.name)),
        Yaml::Mapping(m) => match m.get(e.name.as_str()) {
            None => return false,
            Some(s) => s.clone(),
        },
        other => panic!("unsupported `on:` {other:?}"),
    };
    let Some(spec) = spec.as_mapping() else {
        assert!(spec.is_null(), "unsupported `on.{}`", e.name);
        return true;
    };
    for (k, v) in spec {
        let k = k.as_str().unwrap();
        let ok = match (e.name.as_str(), k) {
            ("push", "branches") => {
                let name = e.git_ref.trim_start_matches("refs/heads/");
                globs(v, k).is_match(name)
            }
            ("pull_request", "types") => seq_has(v, e.action()),
            ("pull_request", "branches") => {
                globs(v, k).is_match(e.payload["pull_request"]["base"]["ref"].as_str().unwrap())
            }
            ("push" | "pull_request", "paths") => {
                let set = globs(v, k);
                changed(w, e).iter().any(|p| set.is_match(p))
            }
            ("workflow_run", "workflows") => {
                seq_has(v, e.payload["workflow_run"]["name"].as_str().unwrap())
            }
            ("workflow_run", "types") => seq_has(v, e.action()),
            _ => panic!("`on.{}.{k}` is not simulated", e.name),
        };
        if !ok {
            return false;
        }
    }
    if e.name == "pull_request" && !spec.contains_key("types") {
        return ["opened", "synchronize", "reopened"].contains(&e.action());
    }
    true
}

fn seq_has(v: &Yaml, x: &str) -> bool {
    v.as_sequence()
        .unwrap()
        .iter()
        .any(|i| i.as_str() == Some(x))
}
