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
    let s = unique();
    let (_tmp, root) = multi_repo(&env, &s, &[("one", &[("hub", "3.3.7")])]);
    let hub = format!("hub-{s}");
    let bin = tempfile::tempdir().unwrap();
    let upgrade = || {
        let mut c = deploy_cmd(&env, &root, bin.path(), bin.path());
        c.args(["upgrade-hub", "one", &hub, "--timeout", "60s"]);
        run_ok(c)
    };
    upgrade();
    // revisions 2 to 10: each rollback makes one
    for _ in 2..=10 {
        let o = env.tool("helm", &["rollback", &hub, "1", "--namespace", &hub]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    assert_eq!(env.release(&hub).unwrap()["version"], 10);
    let listed = text(
        &env.tool(
            "kubectl",
            &[
                "-n",
                &hub,
                "get",
                "secret",
                "-l",
                &format!("owner=helm,name={hub}"),
                "-o",
                "name",
            ],
        )
        .stdout,
    );
    assert!(
        listed.find(".v10").unwrap() < listed.find(".v9").unwrap(),
        "kubectl lists by name: {listed}"
    );
    upgrade();
    assert_eq!(env.release(&hub).unwrap()["version"], 11);
    let label = env.tool(
        "kubectl",
        &[
            "-n",
            &hub,
            "get",
            "secret",
            &format!("sh.helm.release.v1.{hub}.v11"),
            "-o",
            "jsonpath={.metadata.labels.deploy-revision}",
        ],
    );
    assert_eq!(text(&label.stdout), "11", "{}", text(&label.stderr));
    env.forget_release(&hub);
}
