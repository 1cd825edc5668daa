//! scripts/install against a fake release served on 127.0.0.1: the asset for each OS and CPU,
//! the checksum checked before anything is installed, and every way a download can be wrong
//! failing with exit 1 and nothing installed.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::release_server::{release, serve};

struct Site {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    url: String,
    to: PathBuf,
}

fn site() -> Site {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("releases");
    release(&root, "v1.2.3");
    let url = serve(root.clone());
    let to = tmp.path().join("bin");
    Site {
        _tmp: tmp,
        root,
        url,
        to,
    }
}

fn install(s: &Site, os: &str, arch: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg(common::manifest_dir().join("scripts/install"))
        .args(args)
        .env("DEPLOY_RELEASES_URL", &s.url)
        .env("DEPLOY_INSTALL_DIR", &s.to)
        .env("DEPLOY_INSTALL_OS", os)
        .env("DEPLOY_INSTALL_ARCH", arch)
        .env_remove("DEPLOY_VERSION")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_asset_for_each_os_and_cpu_is_installed_verified() {
    let s = site();
    for (os, arch, target) in [
        ("Linux", "x86_64", "x86_64-unknown-linux-musl"),
        ("Linux", "aarch64", "aarch64-unknown-linux-musl"),
        ("Darwin", "x86_64", "x86_64-apple-darwin"),
        ("Darwin", "arm64", "aarch64-apple-darwin"),
    ] {
        let out = install(&s, os, arch, &["--version", "1.2.3"]);
        assert!(out.status.success(), "{os} {arch}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("deploy v1.2.3 (commit fake) {target}")),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("deploy-{target}.tar.gz, sha256 ")),
            "{stdout}"
        );
        let installed = Command::new(s.to.join("deploy")).output().unwrap();
        assert!(text(&installed.stdout).contains(target));
    }
    // the latest release, with no version given
    let out = install(&s, "Linux", "amd64", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn fails_installing_nothing(s: &Site, out: &Output, why: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(why), "{stderr}");
    assert!(stderr.contains("nothing was installed"), "{stderr}");
    assert!(!s.to.join("deploy").exists(), "{why}: installed anyway");
}

#[test]
fn a_wrong_checksum_installs_nothing() {
    let s = site();
    let sums = s.root.join("download/v1.2.3/SHA256SUMS");
    let text_before = std::fs::read_to_string(&sums).unwrap();
    let tampered: String = text_before
        .lines()
        .map(|l| {
            if l.ends_with("deploy-x86_64-unknown-linux-musl.tar.gz") {
                format!("{}{}\n", "0".repeat(64), &l[64..])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&sums, tampered).unwrap();
    let out = install(&s, "Linux", "x86_64", &["--version", "v1.2.3"]);
    fails_installing_nothing(
        &s,
        &out,
        "checksum mismatch for deploy-x86_64-unknown-linux-musl.tar.gz",
    );
}

#[test]
fn a_missing_asset_release_or_build_installs_nothing() {
    let s = site();
    // no such release
    let out = install(&s, "Linux", "x86_64", &["--version", "v9.9.9"]);
    fails_installing_nothing(&s, &out, "cannot download");
    // listed in SHA256SUMS, but not there
    std::fs::remove_file(
        s.root
            .join("download/v1.2.3/deploy-aarch64-apple-darwin.tar.gz"),
    )
    .unwrap();
    let out = install(&s, "Darwin", "arm64", &["--version", "v1.2.3"]);
    fails_installing_nothing(&s, &out, "cannot download");
    // not in SHA256SUMS
    let sums = s.root.join("download/v1.2.3/SHA256SUMS");
    let kept: String = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("x86_64-apple-darwin"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&sums, kept).unwrap();
    let out = install(&s, "Darwin", "x86_64", &["--version", "v1.2.3"]);
    fails_installing_nothing(
        &s,
        &out,
        "SHA256SUMS of v1.2.3 lists no deploy-x86_64-apple-darwin.tar.gz",
    );
    // a CPU or an OS with no build
    let out = install(&s, "Linux", "riscv64", &[]);
    fails_installing_nothing(&s, &out, "no release build for the CPU riscv64");
    let out = install(&s, "FreeBSD", "x86_64", &[]);
    fails_installing_nothing(&s, &out, "no release build for FreeBSD");
}
