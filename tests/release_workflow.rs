//! The release workflow builds what the installer downloads: one archive per target the
//! installer knows, each built natively (so its `--version` runs), SHA256SUMS and install.sh on
//! the release, least privilege, notes from CHANGELOG.md for every released version, and the
//! container image built from the musl builds and pushed to ghcr.io.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::manifest_dir;
use serde_yaml::Value;

fn workflow() -> Value {
    let text =
        std::fs::read_to_string(manifest_dir().join(".github/workflows/release.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn run_text(job: &Value) -> String {
    job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_matrix_builds_every_target_the_installer_downloads_natively() {
    let w = workflow();
    let matrix: BTreeMap<String, String> = w["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["target"].as_str().unwrap().to_string(),
                e["runner"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // the installer's choices, from its own text: <cpu>-unknown-linux-musl and <cpu>-apple-darwin
    // for x86_64 and aarch64
    let installer = std::fs::read_to_string(manifest_dir().join("scripts/install")).unwrap();
    assert!(installer.contains("Linux) target=$cpu-unknown-linux-musl"));
    assert!(installer.contains("Darwin) target=$cpu-apple-darwin"));
    assert!(installer.contains("asset=deploy-$target.tar.gz"));
    let mut expected = Vec::new();
    for cpu in ["x86_64", "aarch64"] {
        expected.push(format!("{cpu}-unknown-linux-musl"));
        expected.push(format!("{cpu}-apple-darwin"));
    }
    expected.sort();
    assert_eq!(matrix.keys().cloned().collect::<Vec<_>>(), expected);
    // each on a runner of its own CPU and OS: the built binary runs there (`--version`)
    for (target, runner) in &matrix {
        let arm = target.starts_with("aarch64");
        let native = match (target.contains("linux"), arm) {
            (true, false) => runner == "ubuntu-24.04",
            (true, true) => runner == "ubuntu-24.04-arm",
            (false, false) => runner == "macos-15-intel",
            (false, true) => runner == "macos-15",
        };
        assert!(native, "{target} on {runner}");
    }
    let build = run_text(&w["jobs"]["build"]);
    assert!(build.contains("--version"), "{build}");
    assert!(
        build.contains("tar -czf \"dist/deploy-$TARGET.tar.gz\""),
        "{build}"
    );
    assert!(
        build.contains("DEPLOY_COMMIT="),
        "the version names the commit"
    );
    assert!(build.contains("--locked"));
}

#[test]
fn the_release_carries_checksums_and_the_installer_with_least_privilege() {
    let w = workflow();
    assert_eq!(w["permissions"], Value::Mapping(Default::default()));
    assert_eq!(w["jobs"]["build"]["permissions"]["contents"], "read");
    assert_eq!(w["jobs"]["publish"]["permissions"]["contents"], "write");
    let publish = run_text(&w["jobs"]["publish"]);
    for needed in [
        "sha256sum deploy-*.tar.gz >SHA256SUMS",
        "cp scripts/install dist/install.sh",
        "scripts/release-notes \"$TAG\" >notes.md",
        "gh release create \"$TAG\" --verify-tag",
    ] {
        assert!(publish.contains(needed), "{needed}: {publish}");
    }
    assert_eq!(w["on"]["push"]["tags"][0], "v*");
}

#[test]
fn every_released_version_has_notes_and_a_missing_one_fails() {
    let changelog = std::fs::read_to_string(manifest_dir().join("CHANGELOG.md")).unwrap();
    let versions: Vec<&str> = changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## ["))
        .filter_map(|l| l.split(']').next())
        .filter(|v| *v != "Unreleased")
        .collect();
    assert!(!versions.is_empty());
    let notes = |v: &str| {
        Command::new(manifest_dir().join("scripts/release-notes"))
            .arg(v)
            .output()
            .unwrap()
    };
    for v in versions {
        let out = notes(&format!("v{v}"));
        assert!(out.status.success(), "{v}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("### "), "{v}: {text}");
        assert!(!text.contains("## ["), "{v}: one section only: {text}");
    }
    let out = notes("v99.0.0");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no section \"## [99.0.0]\""));
}

#[test]
fn the_image_is_built_from_the_musl_builds_and_pushed_with_least_privilege() {
    let w = workflow();
    let image = &w["jobs"]["image"];
    // only the image jobs may write packages, and nothing else
    assert_eq!(image["permissions"]["packages"], "write");
    assert_eq!(image["permissions"]["contents"], "read");
    assert_eq!(image["permissions"].as_mapping().unwrap().len(), 2);
    let manifest = &w["jobs"]["image-manifest"];
    assert_eq!(manifest["permissions"]["packages"], "write");
    assert_eq!(manifest["permissions"].as_mapping().unwrap().len(), 1);
    for (name, job) in w["jobs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if !name.starts_with("image") {
            assert!(job["permissions"]["packages"].is_null(), "{name}");
        }
    }
    // natively per CPU, from that CPU's musl build (the artifact the build job uploads)
    assert_eq!(image["needs"], "build");
    let legs: Vec<(String, String, String)> = image["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| {
            let f = |k: &str| l[k].as_str().unwrap().to_string();
            (f("arch"), f("target"), f("runner"))
        })
        .collect();
    let s = |a: &str, t: &str, r: &str| (a.to_string(), t.to_string(), r.to_string());
    assert_eq!(
        legs,
        [
            s("amd64", "x86_64-unknown-linux-musl", "ubuntu-24.04"),
            s("arm64", "aarch64-unknown-linux-musl", "ubuntu-24.04-arm"),
        ]
    );
    let download = image["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/download-artifact@"))
        })
        .expect("the build's artifact");
    assert_eq!(download["with"]["name"], "deploy-${{ matrix.target }}");
    let run = run_text(image);
    for needed in [
        "tar -xzf \"dist/deploy-$TARGET.tar.gz\" -C dist",
        "DEPLOY_BIN=\"dist/deploy-$TARGET/deploy\" scripts/image-context image",
        "docker build -f Dockerfile",
        "image=\"ghcr.io/${GITHUB_REPOSITORY,,}:$TAG-$ARCH\"",
        "docker run --rm \"$image\" --version",
        "--entrypoint helm \"$image\" version",
        "--entrypoint kubectl \"$image\" version --client",
        "--entrypoint sops \"$image\" --version",
        "docker login ghcr.io -u \"$GITHUB_ACTOR\" --password-stdin",
        "docker push \"ghcr.io/${GITHUB_REPOSITORY,,}:$TAG-$ARCH\"",
    ] {
        assert!(run.contains(needed), "{needed}: {run}");
    }
    // the tools' versions pinned in one place, as exact versions
    for tool in ["HELM_VERSION", "KUBECTL_VERSION", "SOPS_VERSION"] {
        let v = image["env"][tool]
            .as_str()
            .unwrap_or_else(|| panic!("{tool}"));
        let parts: Vec<&str> = v.strip_prefix('v').unwrap().split('.').collect();
        assert_eq!(parts.len(), 3, "{tool}={v}");
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{tool}={v}");
    }
    // one multi-arch tag once the release exists; latest only for a full release
    let needs: Vec<&str> = manifest["needs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(needs, ["image", "publish"]);
    let run = run_text(manifest);
    for needed in [
        "tags=(-t \"$image:$TAG\")",
        "*-*) ;;",
        "tags+=(-t \"$image:latest\")",
        "docker buildx imagetools create \"${tags[@]}\" \"$image:$TAG-amd64\" \"$image:$TAG-arm64\"",
    ] {
        assert!(run.contains(needed), "{needed}: {run}");
    }
    // the Dockerfile takes what image-context makes, and checks it
    let dockerfile = std::fs::read_to_string(manifest_dir().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("COPY deploy helm kubectl sops SHA256SUMS ./"));
    assert!(dockerfile.contains("sha256sum --strict -c SHA256SUMS"));
    assert!(dockerfile.contains("ENTRYPOINT [\"deploy\"]"));
    assert!(dockerfile.contains("USER 10001:10001"));
}
