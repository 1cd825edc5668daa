//! The container image (Dockerfile) built for real through podman's Docker API, FROM the
//! debootstrapped Debian base in the local registry (`scripts/test-env debian-base`): its build
//! context made by scripts/image-context from this machine's binaries (the `deploy` under test,
//! the tools cache's helm and sops, its static kubectl), then every tool run inside the image,
//! as its non-root user, and `deploy plan` on a mounted checkout owned by another user. A
//! context whose SHA256SUMS does not match a binary builds nothing.

use super::*;
use common::real::{skip, tools_bin};

const BASE: &str = "debian-base:bookworm";

/// The tools the image holds besides `deploy`, from the tools cache (scripts/install-tools):
/// (name, path); `None` after a loud skip when one is missing.
fn local_tools(test: &str) -> Option<Vec<(&'static str, PathBuf)>> {
    let bin = tools_bin()?;
    let tools = vec![
        ("helm", bin.join("helm")),
        ("kubectl", bin.with_file_name("image-bin").join("kubectl")),
        ("sops", bin.join("sops")),
    ];
    if let Some((name, path)) = tools.iter().find(|(_, p)| !p.is_file()) {
        skip(test, &format!("{name} not found at {}", path.display()));
        return None;
    }
    Some(tools)
}

/// The test environment's Debian base image, or `None` after a loud skip.
fn debian_base(env: &TestEnv, test: &str) -> Option<String> {
    let reg = env.var("DEPLOY_TEST_REGISTRY");
    let o = Command::new("curl")
        .args(["-fs", &format!("http://{reg}/v2/debian-base/tags/list")])
        .output()
        .unwrap();
    if !String::from_utf8_lossy(&o.stdout).contains("\"bookworm\"") {
        skip(
            test,
            &format!("{reg}/{BASE} is not in the local registry (scripts/test-env debian-base)"),
        );
        return None;
    }
    Some(format!("{reg}/{BASE}"))
}

/// scripts/image-context DIR with the local binaries (`deploy`: the one under test, stripped).
fn image_context(dir: &Path, deploy: &Path, tools: &[(&str, PathBuf)]) {
    let mut c = Command::new(manifest_dir().join("scripts/image-context"));
    c.arg(dir).env("DEPLOY_BIN", deploy);
    for (name, path) in tools {
        c.env(format!("{}_BIN", name.to_uppercase()), path);
    }
    run_ok(c);
}

fn build(env: &TestEnv, base: &str, tag: &str, ctx: &Path) -> Output {
    let dockerfile = manifest_dir().join("Dockerfile");
    env.tool(
        "docker",
        &[
            "build",
            "-f",
            dockerfile.to_str().unwrap(),
            "--build-arg",
            &format!("BASE={base}"),
            "--build-arg",
            "VERSION=e2e",
            "-t",
            tag,
            ctx.to_str().unwrap(),
        ],
    )
}

/// `docker run --rm [--entrypoint E] [-v …] TAG ARGS…`: stdout, stderr, asserting success.
fn run_in(env: &TestEnv, pre: &[&str], tag: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(pre);
    all.push(tag);
    all.extend_from_slice(args);
    let o = env.tool("docker", &all);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(
        o.status.success(),
        "docker {}: {}\nstdout:\n{out}\nstderr:\n{err}",
        all.join(" "),
        o.status
    );
    (out, err)
}

/// What both image tests start from: the test environment, the Debian base image's reference, the
/// local tools, and a build context filled by scripts/image-context (`ctx`, inside `tmp`).
struct Prepared {
    /// Held for the whole test: one image build at a time, so a CI machine's disk holds one
    /// build's layers at most.
    _one_build: std::sync::MutexGuard<'static, ()>,
    env: TestEnv,
    base: String,
    tools: Vec<(&'static str, PathBuf)>,
    tmp: tempfile::TempDir,
    ctx: PathBuf,
    deploy: PathBuf,
}

static IMAGE_BUILDS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// [`Prepared`], or `None` after the loud notice of what is missing.
fn prepared(test: &str) -> Option<Prepared> {
    let env = test_env(test)?;
    let tools = local_tools(test)?;
    let base = debian_base(&env, test)?;
    let one_build = IMAGE_BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    // the test build's debug line tables are no part of what the image tests: a release binary
    // is stripped too, and the context is 130 MB smaller
    let deploy = tmp.path().join("deploy");
    run_ok({
        let mut c = Command::new("strip");
        c.arg("-o").arg(&deploy).arg(env!("CARGO_BIN_EXE_deploy"));
        c
    });
    let ctx = tmp.path().join("ctx");
    image_context(&ctx, &deploy, &tools);
    Some(Prepared {
        _one_build: one_build,
        env,
        base,
        tools,
        tmp,
        ctx,
        deploy,
    })
}

#[test]
fn the_container_image_builds_and_runs_every_tool() {
    let Some(Prepared {
        env,
        base,
        tmp,
        ctx,
        _one_build,
        ..
    }) = prepared("the_container_image_builds_and_runs_every_tool")
    else {
        return;
    };
    let sums = std::fs::read_to_string(ctx.join("SHA256SUMS")).unwrap();
    let names: Vec<&str> = sums
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(names, ["deploy", "helm", "kubectl", "sops"], "{sums}");

    let tag = format!("localhost/deploy-image-e2e:{}", unique());
    let t0 = Instant::now();
    let o = build(&env, &base, &tag, &ctx);
    assert!(
        o.status.success(),
        "docker build: {}\n{}\n{}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    eprintln!("image built in {:.1} s", t0.elapsed().as_secs_f64());

    // the entrypoint is deploy
    let (out, _) = run_in(&env, &[], &tag, &["--version"]);
    let host = run_ok({
        let mut c = Command::new(env!("CARGO_BIN_EXE_deploy"));
        c.arg("--version");
        c
    });
    assert_eq!(out, text(&host.stdout), "the deploy under test");
    let (out, _) = run_in(
        &env,
        &["--entrypoint", "helm"],
        &tag,
        &["version", "--short"],
    );
    assert!(out.starts_with("v3.19.0"), "{out}");
    let (out, _) = run_in(
        &env,
        &["--entrypoint", "kubectl"],
        &tag,
        &["version", "--client"],
    );
    assert!(out.contains("Client Version: v1.34.5"), "{out}");
    // no call to GitHub for the latest version (SOPS_DISABLE_VERSION_CHECK in the image)
    let (out, err) = run_in(&env, &["--entrypoint", "sops"], &tag, &["--version"]);
    assert_eq!(out.trim(), "sops 3.11.0", "{out}{err}");
    assert!(!err.contains("latest version"), "{err}");
    let (out, _) = run_in(&env, &["--entrypoint", "git"], &tag, &["--version"]);
    assert!(out.starts_with("git version 2."), "{out}");
    let (out, _) = run_in(&env, &["--entrypoint", "id"], &tag, &["-u"]);
    assert_eq!(out.trim(), "10001", "not root");
    let (out, _) = run_in(
        &env,
        &["--entrypoint", "sh"],
        &tag,
        &[
            "-c",
            "for t in deploy helm kubectl sops git; do command -v $t; done; pwd",
        ],
    );
    assert_eq!(
        out,
        "/usr/local/bin/deploy\n/usr/local/bin/helm\n/usr/local/bin/kubectl\n/usr/local/bin/sops\n/usr/bin/git\n/repo\n"
    );

    // as docs/install.md runs it: a checkout (owned by root here, not by the image's user)
    // mounted at /repo, a plan from git history
    let repo = tmp.path().join("repo");
    copy_tree(&manifest_dir().join("examples/multi-cluster"), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "base"]);
    let mount = format!("{}:/repo", repo.display());
    let (out, err) = run_in(
        &env,
        &["-v", &mount],
        &tag,
        &["plan", "--base", "HEAD", "--format", "json"],
    );
    let plan: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert!(plan.is_object() || plan.is_array(), "{out}");
    assert!(!err.contains("dubious ownership"), "{err}");

    env.tool("docker", &["rmi", "-f", &tag]);
}

#[test]
fn an_image_whose_checksums_do_not_match_is_not_built() {
    // (`tmp` bound: the context lives in it until the end)
    let Some(Prepared {
        env,
        base,
        tools,
        tmp: _tmp,
        ctx,
        deploy,
        _one_build,
    }) = prepared("an_image_whose_checksums_do_not_match_is_not_built")
    else {
        return;
    };
    // one byte more in helm after SHA256SUMS was written
    let mut helm = std::fs::OpenOptions::new()
        .append(true)
        .open(ctx.join("helm"))
        .unwrap();
    helm.write_all(b"\0").unwrap();
    drop(helm);
    let tag = format!("localhost/deploy-image-e2e-bad:{}", unique());
    let o = build(&env, &base, &tag, &ctx);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!o.status.success(), "{all}");
    assert!(all.contains("helm: FAILED"), "{all}");
    assert!(
        !env.tool("docker", &["image", "inspect", &tag])
            .status
            .success(),
        "no image tagged"
    );

    // SHA256SUMS without sops: refused too, though every listed file matches
    image_context(&ctx, &deploy, &tools);
    let sums = std::fs::read_to_string(ctx.join("SHA256SUMS")).unwrap();
    let without: String = sums
        .lines()
        .filter(|l| !l.ends_with(" sops"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(ctx.join("SHA256SUMS"), without).unwrap();
    let o = build(&env, &base, &tag, &ctx);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!o.status.success(), "{all}");
    assert!(
        all.contains("SHA256SUMS must list exactly deploy, helm, kubectl and sops"),
        "{all}"
    );
}
