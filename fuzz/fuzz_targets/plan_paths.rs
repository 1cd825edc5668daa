//! The planner on the shipped multi-cluster example, for arbitrary changed paths and labels
//! (one per line; lines starting with `label:` are labels): it never panics, and the plan is
//! the same whatever the order of the input.
#![no_main]

use std::sync::LazyLock;

use deploy::config::multi::MultiRepo;
use deploy::plan::multi::{Changes, plan};
use libfuzzer_sys::fuzz_target;

static REPO: LazyLock<MultiRepo> = LazyLock::new(|| {
    MultiRepo::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/multi-cluster"),
    )
    .expect("the example loads")
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut paths = Vec::new();
    let mut labels = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("label:") {
            Some(l) => labels.push(l.to_string()),
            None => paths.push(line.to_string()),
        }
    }
    let a = plan(&REPO, &Changes::new(paths.clone(), labels.clone()));
    paths.reverse();
    let b = plan(&REPO, &Changes::new(paths, labels));
    if let (Ok(a), Ok(b)) = (a, b) {
        assert_eq!(
            (a.support, a.staging, a.prod),
            (b.support, b.staging, b.prod),
            "order of input changed the plan"
        );
    }
});
