//! The reference docs in docs/reference/ are generated from the code and must be current.
//! `DEPLOY_UPDATE_DOCS=1 cargo test --test docs` rewrites them.

mod common;

use std::path::PathBuf;

fn check(file: &str, want: String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    if std::env::var("DEPLOY_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{file} is out of date: run `DEPLOY_UPDATE_DOCS=1 cargo test --test docs`"
    );
}

fn schema(file: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
}

#[test]
fn cli_reference_is_current() {
    check("docs/reference/cli.md", deploy::docgen::cli_markdown());
}

#[test]
fn cluster_yaml_reference_is_current() {
    let f = "schemas/cluster.schema.yaml";
    check(
        "docs/reference/cluster-yaml.md",
        deploy::docgen::schema_markdown("cluster.yaml reference", f, &schema(f)),
    );
}

#[test]
fn deploy_yaml_reference_is_current() {
    let f = "schemas/deploy.schema.yaml";
    check(
        "docs/reference/deploy-yaml.md",
        deploy::docgen::schema_markdown("deploy.yaml reference", f, &schema(f)),
    );
}
