//! A fake release site on 127.0.0.1 for the installer and Action tests: a tiny HTTP server over
//! a folder (counting requests), and releases laid out as GitHub serves them.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::Digest;

pub const TARGETS: [&str; 4] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

/// How many requests the server answered.
#[derive(Clone, Default)]
pub struct Hits(Arc<AtomicUsize>);

impl Hits {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The SHA-256 of a file, in hex.
pub fn sha256_hex(path: &Path) -> String {
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An executable shell script at `path` that prints `line`.
pub fn script(path: &Path, line: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\necho '{line}'\n")).unwrap();
    let mut p = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
    std::fs::set_permissions(path, p).unwrap();
}

/// `tar -czf archive -C dir names…`
pub fn tar_gz(archive: &Path, dir: &Path, names: &[&str]) {
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(archive)
        .arg("-C")
        .arg(dir)
        .args(names)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Serves the files under `root` over HTTP/1.0 on a free loopback port, until the test ends.
pub fn serve(root: PathBuf) -> String {
    serve_counting(root, Hits::default())
}

/// [`serve`], counting each request in `hits`.
pub fn serve_counting(root: PathBuf, hits: Hits) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            hits.0.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // the headers, up to the empty line
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split(' ').nth(1).unwrap_or("/");
            let file = root.join(path.trim_start_matches('/'));
            let mut out = &stream;
            let body = (!path.contains(".."))
                .then(|| std::fs::read(&file).ok())
                .flatten();
            let _ = match body {
                Some(b) => out
                    .write_all(
                        format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", b.len())
                            .as_bytes(),
                    )
                    .and_then(|()| out.write_all(&b)),
                None => out.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
            };
        }
    });
    format!("http://{addr}")
}

/// A release `tag` under `root/download/<tag>/` (and `root/latest/download/`): one archive per
/// target holding a `deploy` that prints its version and target, and SHA256SUMS.
pub fn release(root: &Path, tag: &str) -> PathBuf {
    let dir = root.join("download").join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let mut sums = String::new();
    for t in TARGETS {
        let stage = root.join("stage").join(t);
        std::fs::create_dir_all(&stage).unwrap();
        let bin = stage.join("deploy");
        std::fs::write(
            &bin,
            format!("#!/bin/sh\necho 'deploy {tag} (commit fake) {t}'\n"),
        )
        .unwrap();
        let mut p = std::fs::metadata(&bin).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
        std::fs::set_permissions(&bin, p).unwrap();
        let asset = format!("deploy-{t}.tar.gz");
        let ok = Command::new("tar")
            .args(["-czf", dir.join(&asset).to_str().unwrap(), "-C"])
            .arg(&stage)
            .arg("deploy")
            .status()
            .unwrap();
        assert!(ok.success());
        let hash = sha2::Sha256::digest(std::fs::read(dir.join(&asset)).unwrap());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        sums.push_str(&format!("{hex}  {asset}\n"));
    }
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
    let latest = root.join("latest/download");
    std::fs::create_dir_all(&latest).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), latest.join(e.file_name())).unwrap();
    }
    dir
}
