//! deploy.yaml: the typed loader, the schema check and the locator never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = deploy::config::yaml::from_str::<deploy::config::deploy_yaml::DeployYaml>(
        "deploy.yaml",
        text,
    );
    let mut problems = Vec::new();
    deploy::validate::schema::check(
        &deploy::validate::schema::DEPLOY,
        "deploy.yaml",
        text,
        &mut problems,
    );
    let _ = deploy::validate::locate::Locations::of(text).find("/helm/timeout");
});
