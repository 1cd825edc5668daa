//! The release workflow builds what the installer downloads: one archive per target the
//! installer knows, each built natively (so its `--version` runs), SHA256SUMS and install.sh on
//! the release, least privilege, and notes from CHANGELOG.md for every released version.

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
