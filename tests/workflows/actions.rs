//! The `uses:` steps the shipped workflows take, simulated: `actions/checkout` (a fresh clone of
//! the simulated GitHub repository at the event's commit, the whole history and the tags with
//! `fetch-depth: 0`, else that many commits), `actions/upload-artifact` and
//! `actions/download-artifact` (a folder per run and artifact, where the fake API lists them too),
//! and the local install action (the `deploy` under test put on PATH). Any other action panics.

use std::path::Path;

use serde_json::{Map, Value};

use super::eval::to_text;
use super::world::{World, path_str};
use crate::common::git;

pub struct Ctx<'a> {
    pub w: &'a World,
    pub run_id: u64,
    /// GITHUB_SHA: what checkout checks out
    pub sha: &'a str,
    pub ws: &'a Path,
    /// the leg's own PATH folder
    pub bin: &'a Path,
}

pub const INSTALL: &str = "./.github/actions/install-deploy";

pub fn run(uses: &str, with: &Map<String, Value>, c: &Ctx) -> Result<String, String> {
    let arg = |k: &str| with.get(k).map(|v| to_text(v, k));
    let (name, pin) = uses.split_once('@').unwrap_or((uses, ""));
    if !name.starts_with("./") {
        assert!(pin.len() == 40, "{uses}: not pinned to a commit");
    }
    match name {
        "actions/checkout" => checkout(c, with, arg("fetch-depth")),
        "actions/upload-artifact" => upload(c, with),
        "actions/download-artifact" => download(c, with),
        INSTALL => install(c, with),
        _ => panic!("`uses: {uses}` is not simulated (tests/workflows/actions.rs)"),
    }
}

fn known(with: &Map<String, Value>, keys: &[&str], what: &str) {
    for k in with.keys() {
        assert!(
            keys.contains(&k.as_str()),
            "{what}: input `{k}` is not simulated"
        );
    }
}

fn checkout(c: &Ctx, with: &Map<String, Value>, depth: Option<String>) -> Result<String, String> {
    known(with, &["fetch-depth", "persist-credentials"], "checkout");
    let sha = c.sha.to_string();
    let url = format!("file://{}", path_str(&c.w.origin));
    git(c.ws, &["init", "-q"]);
    let depth = depth.unwrap_or_else(|| "1".into());
    if depth == "0" {
        git(
            c.ws,
            &[
                "fetch",
                "-q",
                &url,
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ],
        );
        git(c.ws, &["fetch", "-q", &url, &sha]);
    } else {
        git(
            c.ws,
            &[
                "fetch",
                "-q",
                "--no-tags",
                &format!("--depth={depth}"),
                &url,
                &sha,
            ],
        );
    }
    git(c.ws, &["checkout", "-q", "--detach", &sha]);
    Ok(format!("checked out {sha} (fetch-depth {depth})\n"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn upload(c: &Ctx, with: &Map<String, Value>) -> Result<String, String> {
    known(
        with,
        &["name", "path", "if-no-files-found", "retention-days"],
        "upload-artifact",
    );
    let name = with
        .get("name")
        .map_or("artifact".into(), |v| to_text(v, "name"));
    let path = to_text(with.get("path").expect("upload-artifact: path"), "path");
    assert!(
        !path.contains(['\n', '*', '?', '!']),
        "upload-artifact: only one plain path is simulated: {path:?}"
    );
    let src = c.ws.join(&path);
    let dest = c.w.artifacts(c.run_id).join(&name);
    if dest.exists() {
        return Err(format!(
            "Error: an artifact named {name} already exists in this run\n"
        ));
    }
    if !src.exists() {
        let policy = with
            .get("if-no-files-found")
            .map_or("warn".into(), |v| to_text(v, "x"));
        let msg = format!("No files were found with the provided path: {path}\n");
        return if policy == "error" {
            Err(format!("Error: {msg}"))
        } else {
            Ok(format!("Warning: {msg}"))
        };
    }
    if src.is_dir() {
        copy_dir(&src, &dest);
    } else {
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::copy(&src, dest.join(src.file_name().unwrap())).unwrap();
    }
    Ok(format!("uploaded artifact {name}\n"))
}

fn download(c: &Ctx, with: &Map<String, Value>) -> Result<String, String> {
    known(
        with,
        &[
            "name",
            "pattern",
            "path",
            "merge-multiple",
            "run-id",
            "github-token",
        ],
        "download-artifact",
    );
    let text = |k: &str| with.get(k).map(|v| to_text(v, k));
    let run = match text("run-id") {
        Some(id) => {
            assert!(
                text("github-token").is_some_and(|t| !t.is_empty()),
                "download-artifact: run-id needs github-token"
            );
            id.parse().unwrap()
        }
        None => c.run_id,
    };
    let dest = c.ws.join(text("path").unwrap_or_default());
    let store = c.w.artifacts(run);
    if let Some(name) = text("name") {
        let src = store.join(&name);
        if !src.is_dir() {
            return Err(format!(
                "Error: Unable to download artifact(s): Artifact not found for name: {name}\n"
            ));
        }
        copy_dir(&src, &dest);
        return Ok(format!("downloaded {name}\n"));
    }
    let pattern = text("pattern").unwrap_or_else(|| "*".into());
    let glob = globset::Glob::new(&pattern).unwrap().compile_matcher();
    let merge = text("merge-multiple").is_some_and(|m| m == "true");
    let mut names = Vec::new();
    for e in std::fs::read_dir(&store).into_iter().flatten() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if glob.is_match(&name) {
            let to = if merge {
                dest.clone()
            } else {
                dest.join(&name)
            };
            copy_dir(&store.join(&name), &to);
            names.push(name);
        }
    }
    Ok(format!("downloaded {names:?}\n"))
}

/// The one place the workflows install deploy: here, the binary under test on the leg's PATH.
fn install(c: &Ctx, with: &Map<String, Value>) -> Result<String, String> {
    let file = c.ws.join(".github/actions/install-deploy/action.yaml");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Err(format!(
            "Error: Can't find 'action.yml' under '{}'\n",
            file.parent().unwrap().display()
        ));
    };
    let action: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    for k in with.keys() {
        assert!(
            !action["inputs"][k.as_str()].is_null(),
            "install-deploy has no input {k}"
        );
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_deploy"), c.bin.join("deploy")).unwrap();
    Ok("installed deploy (the binary under test)\n".into())
}
