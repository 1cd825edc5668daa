//! The `deploy` GitHub Action (action.yml): its Install step run as the runner runs it (inputs
//! through env, $GITHUB_ACTION_PATH, $GITHUB_PATH, $GITHUB_OUTPUT) against fake publishers on
//! 127.0.0.1: deploy, helm, kubectl and sops installed verified and put on PATH, the cache
//! reused, a bad checksum refused.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::manifest_dir;
use common::release_server::{Hits, release, script, serve_counting, sha256_hex, tar_gz};
use serde_yaml::Value;

const HELM: &str = "v3.19.0";
const KUBECTL: &str = "v1.34.3";
const SOPS: &str = "v3.11.0";

fn action() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(manifest_dir().join("action.yml")).unwrap())
        .unwrap()
}

/// Publishers' layouts for this host's OS/CPU (linux/amd64 here): helm's tarball with its
/// `.sha256sum`, kubectl with its `.sha256`, sops with its `checksums.txt`.
fn publishers(root: &Path) {
    let (os, arch) = ("linux", "amd64");
    let stage = root.join("stage");
    script(
        &stage.join(format!("{os}-{arch}/helm")),
        &format!("helm {HELM}"),
    );
    let helm = root.join("helm");
    std::fs::create_dir_all(&helm).unwrap();
    let a = format!("helm-{HELM}-{os}-{arch}.tar.gz");
    tar_gz(&helm.join(&a), &stage, &[&format!("{os}-{arch}")]);
    std::fs::write(
        helm.join(format!("{a}.sha256sum")),
        format!("{}  {a}\n", sha256_hex(&helm.join(&a))),
    )
    .unwrap();
    let k = root.join(format!("k8s/{KUBECTL}/bin/{os}/{arch}/kubectl"));
    script(&k, &format!("kubectl {KUBECTL}"));
    std::fs::write(k.with_extension("sha256"), sha256_hex(&k)).unwrap();
    let s = root.join(format!("sops/{SOPS}"));
    let name = format!("sops-{SOPS}.{os}.{arch}");
    script(&s.join(&name), &format!("sops {SOPS}"));
    std::fs::write(
        s.join(format!("sops-{SOPS}.checksums.txt")),
        format!("{}  {name}\n", sha256_hex(&s.join(&name))),
    )
    .unwrap();
}

struct Runner {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    url: String,
    hits: Hits,
    tool_cache: PathBuf,
    github_path: PathBuf,
    github_output: PathBuf,
}

fn runner() -> Runner {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    release(&root.join("deploy"), "v1.2.3");
    publishers(&root);
    let hits = Hits::default();
    let url = serve_counting(root.clone(), hits.clone());
    let (github_path, github_output) = (tmp.path().join("path"), tmp.path().join("output"));
    Runner {
        tool_cache: tmp.path().join("tool-cache"),
        _tmp: tmp,
        root,
        url,
        hits,
        github_path,
        github_output,
    }
}

/// The Install step of action.yml, with `inputs`, as the runner runs a composite step: its
/// `env` with `${{ inputs.* }}` and `${{ runner.tool_cache }}` filled in, its `run` in bash.
fn install_step(r: &Runner, inputs: &[(&str, &str)]) -> Output {
    let a = action();
    let defaults: BTreeMap<String, String> = a["inputs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v["default"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let value = |name: &str| {
        inputs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| defaults[name].clone())
    };
    let step = a["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "install")
        .unwrap()
        .clone();
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(step["run"].as_str().unwrap());
    for (k, v) in step["env"].as_mapping().unwrap() {
        let raw = v.as_str().unwrap();
        let filled = if let Some(name) = raw
            .strip_prefix("${{ inputs.")
            .and_then(|x| x.strip_suffix(" }}"))
        {
            value(name)
        } else {
            raw.replace("${{ runner.tool_cache }}", r.tool_cache.to_str().unwrap())
        };
        assert!(!filled.contains("${{"), "unsupported expression: {raw}");
        cmd.env(k.as_str().unwrap(), filled);
    }
    cmd.env("GITHUB_ACTION_PATH", manifest_dir())
        .env("GITHUB_PATH", &r.github_path)
        .env("GITHUB_OUTPUT", &r.github_output)
        .env("DEPLOY_RELEASES_URL", format!("{}/deploy", r.url))
        .env("DEPLOY_ACTION_HELM_BASE", format!("{}/helm", r.url))
        .env("DEPLOY_ACTION_KUBECTL_BASE", format!("{}/k8s", r.url))
        .env("DEPLOY_ACTION_SOPS_BASE", format!("{}/sops", r.url))
        .env("DEPLOY_ACTION_OS", "Linux")
        .env("DEPLOY_ACTION_ARCH", "x86_64")
        .env("DEPLOY_INSTALL_OS", "Linux")
        .env("DEPLOY_INSTALL_ARCH", "x86_64");
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const ALL: [(&str, &str); 4] = [
    ("version", "v1.2.3"),
    ("helm-version", HELM),
    ("kubectl-version", KUBECTL),
    ("sops-version", SOPS),
];

#[test]
fn the_action_installs_every_tool_verified_on_path_and_reuses_its_cache() {
    let r = runner();
    let out = install_step(&r, &ALL);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let bin = r.tool_cache.join("deploy-action");
    for (tool, says) in [
        (
            "deploy",
            "deploy v1.2.3 (commit fake) x86_64-unknown-linux-musl",
        ),
        ("helm", "helm v3.19.0"),
        ("kubectl", "kubectl v1.34.3"),
        ("sops", "sops v3.11.0"),
    ] {
        let o = Command::new(bin.join(tool)).output().unwrap();
        assert_eq!(text(&o.stdout).trim(), says);
    }
    assert_eq!(
        std::fs::read_to_string(&r.github_path).unwrap(),
        format!("{}\n", bin.display())
    );
    assert_eq!(
        std::fs::read_to_string(&r.github_output).unwrap(),
        format!("bin={}\n", bin.display())
    );
    // the same versions again (the cache restored): nothing downloaded
    let before = r.hits.count();
    let again = install_step(&r, &ALL);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(r.hits.count(), before, "{}", text(&again.stdout));
    // only deploy by default
    let r2 = runner();
    let out = install_step(&r2, &[("version", "v1.2.3")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!r2.tool_cache.join("deploy-action/helm").exists());
}

#[test]
fn a_tool_whose_checksum_does_not_match_is_not_installed() {
    let r = runner();
    let sum = r
        .root
        .join(format!("helm/helm-{HELM}-linux-amd64.tar.gz.sha256sum"));
    std::fs::write(&sum, format!("{}  x\n", "f".repeat(64))).unwrap();
    let out = install_step(&r, &ALL);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "::error::deploy action: checksum mismatch for helm-v3.19.0-linux-amd64.tar.gz"
        ),
        "{stdout}"
    );
    assert!(!r.tool_cache.join("deploy-action/helm").exists());
}

#[test]
fn the_action_is_composite_pinned_and_passes_inputs_only_through_env() {
    let a = action();
    assert_eq!(a["runs"]["using"], "composite");
    for step in a["runs"]["steps"].as_sequence().unwrap() {
        if let Some(uses) = step["uses"].as_str() {
            let (_, rev) = uses.split_once('@').unwrap();
            assert_eq!(rev.len(), 40, "{uses}: pinned to a commit");
        }
        if let Some(run) = step["run"].as_str() {
            // an input in a script would be template injection
            assert!(!run.contains("${{"), "{run}");
        }
    }
    for input in ["version", "helm-version", "kubectl-version", "sops-version"] {
        assert!(a["inputs"][input]["description"].is_string(), "{input}");
    }
}

/// scripts/image-context (the container image's build context, as the release workflow makes
/// it) with the tools downloaded by the Action's script from the fake publishers.
fn image_context(r: &Runner, out: &Path) -> Output {
    let deploy = r.root.join("given-deploy");
    script(&deploy, "deploy from the musl build");
    Command::new(manifest_dir().join("scripts/image-context"))
        .arg(out)
        .env("DEPLOY_BIN", &deploy)
        .env("HELM_VERSION", HELM)
        .env("KUBECTL_VERSION", KUBECTL)
        .env("SOPS_VERSION", SOPS)
        .env("DEPLOY_RELEASES_URL", format!("{}/deploy", r.url))
        .env("DEPLOY_ACTION_HELM_BASE", format!("{}/helm", r.url))
        .env("DEPLOY_ACTION_KUBECTL_BASE", format!("{}/k8s", r.url))
        .env("DEPLOY_ACTION_SOPS_BASE", format!("{}/sops", r.url))
        .env("DEPLOY_ACTION_OS", "Linux")
        .env("DEPLOY_ACTION_ARCH", "x86_64")
        .output()
        .unwrap()
}

#[test]
fn the_image_context_holds_the_given_deploy_and_the_verified_tools() {
    let r = runner();
    let out = r.root.join("ctx");
    let o = image_context(&r, &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // the given deploy, never a download of one; the publishers' helm, kubectl and sops
    assert_eq!(r.hits.count(), 6, "three tools and their checksums only");
    let ran = |name: &str| {
        text(
            &Command::new(out.join(name))
                .output()
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .stdout,
        )
    };
    assert_eq!(ran("deploy"), "deploy from the musl build\n");
    assert_eq!(ran("helm"), format!("helm {HELM}\n"));
    assert_eq!(ran("kubectl"), format!("kubectl {KUBECTL}\n"));
    assert_eq!(ran("sops"), format!("sops {SOPS}\n"));
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let expected: String = ["deploy", "helm", "kubectl", "sops"]
        .iter()
        .map(|n| format!("{}  {n}\n", sha256_hex(&out.join(n))))
        .collect();
    assert_eq!(sums, expected);
}

#[test]
fn an_image_context_with_a_tool_that_fails_its_checksum_is_not_made() {
    let r = runner();
    let name = format!("sops-{SOPS}.linux.amd64");
    std::fs::write(r.root.join(format!("sops/{SOPS}/{name}")), "tampered").unwrap();
    let out = r.root.join("ctx");
    let o = image_context(&r, &out);
    assert_eq!(o.status.code(), Some(1));
    let err = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        err.contains(&format!("checksum mismatch for {name}")),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    // and a tool with neither a binary nor a version is refused
    let o = Command::new(manifest_dir().join("scripts/image-context"))
        .arg(&out)
        .env("DEPLOY_BIN", "/bin/true")
        .env_remove("HELM_BIN")
        .env_remove("HELM_VERSION")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("helm: set HELM_BIN (a local binary) or HELM_VERSION"),
        "{}",
        text(&o.stderr)
    );
}
