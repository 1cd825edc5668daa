//! The newest revision of a release, as deploy reads it from helm's release Secrets, on the test
//! API server: past revision 9, where kubectl lists `…v10` before `…v9` (by name), the upgrade is
//! still marked with the number helm gives it.

use super::*;

#[test]
fn an_upgrade_past_ten_revisions_is_marked_with_the_revision_helm_makes() {
    let Some(env) =
        test_env("an_upgrade_past_ten_revisions_is_marked_with_the_revision_helm_makes")
    else {
        return;
    };
    let one = OneHub::new(&env, &unique());
    let hub = one.hub.clone();
    let upgrade = || run_ok(one.upgrade(&env, "60s", &[]));
    upgrade();
    // revisions 2 to 10: each rollback makes one
    for _ in 2..=10 {
        let o = env.tool("helm", &["rollback", &hub, "1", "--namespace", &hub]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    assert_eq!(env.release(&hub).unwrap()["version"], 10);
    let listed = env.helm_secrets(&hub, "", &["-o", "name"]);
    assert!(
        listed.find(".v10").unwrap() < listed.find(".v9").unwrap(),
        "kubectl lists by name: {listed}"
    );
    upgrade();
    assert_eq!(env.release(&hub).unwrap()["version"], 11);
    let label = env.helm_secrets(
        &hub,
        ",version=11",
        &["-o", "jsonpath={.items[*].metadata.labels.deploy-revision}"],
    );
    assert_eq!(label, "11");
    env.forget_release(&hub);
}
