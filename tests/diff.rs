//! `deploy diff` and `plan --diff` with the real helm on the multi-cluster example: each planned
//! release rendered at two revisions and compared object by object.
//!
//! Without helm these tests say so on stderr and pass, except in CI (`CI=true`).

mod common;

use common::{Fixture, Output};

const PROD: &str = "config/clusters/alpha/prod.values.yaml";
const PHYSICS_SECRET: &str = "config/clusters/alpha/physics.secret.values.yaml";
const ALPHA: &str = "config/clusters/alpha/cluster.yaml";
const CONFIGMAP: &str = "helm-charts/basehub/templates/hub/configmap.yaml";

/// The multi-cluster example with the real helm behind the fake one.
fn fixture(test: &str) -> Option<Fixture> {
    let helm = common::real::helm(test)?;
    let f = Fixture::multi();
    f.use_real("helm", &helm, &[]);
    Some(f)
}

fn read(f: &Fixture, rel: &str) -> String {
    std::fs::read_to_string(f.root.join(rel)).unwrap()
}

fn edit(f: &Fixture, rel: &str, from: &str, to: &str) {
    let text = read(f, rel);
    assert!(text.contains(from), "{rel} has no {from:?}");
    f.write(rel, text.replacen(from, to, 1));
}

fn diff<'f>(f: &'f Fixture, args: &[&str]) -> Output<'f> {
    f.test().arg("diff").args(args).run()
}

/// The `=== cluster/release: summary` lines.
fn summaries(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("=== "))
        .map(String::from)
        .collect()
}

/// The lines a diff adds or removes (not its `---`/`+++` headers).
fn changed_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++"))
        .filter(|l| !l.starts_with("---"))
        .collect()
}

#[test]
fn a_values_change_in_one_hub_shows_exactly_its_changed_lines() {
    let Some(f) = fixture("a_values_change_in_one_hub_shows_exactly_its_changed_lines") else {
        return;
    };
    edit(&f, PROD, "limit: 4G", "limit: 8G");
    f.commit_all("prod: more memory");
    let out = diff(&f, &["--base", "HEAD~1", "--head", "HEAD"]);
    insta::assert_snapshot!("diff_values_change", out.stdout);
    assert_eq!(
        summaries(&out.stdout),
        ["alpha/staging: no change", "alpha/prod: 1 changed"]
    );
    assert_eq!(
        changed_lines(&out.stdout),
        [
            "-    c.KubeSpawner.mem_limit = \"4G\"",
            "+    c.KubeSpawner.mem_limit = \"8G\""
        ]
    );
    // the unchanged canary is rendered once for both revisions; prod once at each, and its
    // head once more (to tell a change from what a render generates)
    assert!(
        out.stdout.contains("(4 helm template renders)"),
        "{}",
        out.stdout
    );
    // nothing in the work tree was touched, and nothing but renders ran (a chart's first render
    // twice: what differs between two renders is generated at render time)
    assert!(
        out.calls
            .iter()
            .all(|c| c.starts_with("helm template ") || c.starts_with("helm dependency update ")),
        "{:#?}",
        out.calls
    );
    assert_eq!(common::git(&f.root, &["status", "--porcelain"]), "");

    // the work tree as the head: the same difference, uncommitted
    common::git(&f.root, &["reset", "-q", "--soft", "HEAD~1"]);
    let wt = diff(&f, &["--base", "HEAD", "--format", "json"]).json();
    assert_eq!(wt["head"], "the work tree");
    let prod = &wt["releases"][1];
    assert_eq!(
        (&prod["cluster"], &prod["release"], &prod["status"]),
        (&"alpha".into(), &"prod".into(), &"changed".into())
    );
    assert_eq!(prod["objects"][0]["kind"], "ConfigMap");
    assert_eq!(prod["objects"][0]["change"], "changed");
    assert_eq!(wt["releases"][0]["status"], "unchanged");
}

#[test]
fn a_base_chart_change_shows_in_every_hub_of_the_chart() {
    let Some(f) = fixture("a_base_chart_change_shows_in_every_hub_of_the_chart") else {
        return;
    };
    edit(
        &f,
        CONFIGMAP,
        "data:\n",
        "data:\n  banner: {{ .Values.jupyterhub.custom.banner | default \"welcome\" | quote }}\n",
    );
    f.commit_all("basehub: a banner");
    let out = diff(&f, &["--base", "HEAD~1", "--head", "HEAD"]);
    let s = summaries(&out.stdout);
    // every hub on basehub (daskhub carries basehub too) changes its hub ConfigMap
    let basehub = [
        "alpha/staging",
        "alpha/prod",
        "alpha/physics",
        "alpha/climate",
        "gamma/prod",
    ];
    for hub in basehub {
        assert!(
            s.contains(&format!("{hub}: 1 changed")),
            "{hub} in {s:#?}\n{}",
            out.stdout
        );
    }
    assert!(!s.iter().any(|l| l.starts_with("gamma/binder")), "{s:#?}");
    let added = changed_lines(&out.stdout);
    assert!(
        added.iter().all(|l| *l == "+  banner: welcome"),
        "{added:#?}"
    );
}

#[test]
fn a_hub_added_and_a_hub_removed_show_as_such() {
    let Some(f) = fixture("a_hub_added_and_a_hub_removed_show_as_such") else {
        return;
    };
    let text = read(&f, ALPHA);
    let start = text.find("  - name: climate").unwrap();
    let climate = &text[start..];
    let geo = climate
        .replace("name: climate", "name: geo")
        .replace("climate.alpha", "geo.alpha");
    f.write(ALPHA, format!("{}{geo}", &text[..start]));
    f.commit_all("alpha: geo replaces climate");
    let out = diff(&f, &["--base", "HEAD~1", "--head", "HEAD"]);
    let s = summaries(&out.stdout);
    let geo = s.iter().find(|l| l.starts_with("alpha/geo: ")).unwrap();
    let climate = s.iter().find(|l| l.starts_with("alpha/climate: ")).unwrap();
    assert!(
        geo.starts_with("alpha/geo: new release: ") && geo.ends_with(" added"),
        "{geo}"
    );
    assert!(
        climate.starts_with("alpha/climate: removed release: ") && climate.ends_with(" removed"),
        "{climate}"
    );
    assert!(
        out.stdout
            .contains("--- /dev/null\n+++ head/Deployment/hub\n")
    );
    assert!(
        out.stdout
            .contains("--- base/Deployment/hub\n+++ /dev/null\n")
    );
    // a label that deploys no hub shows no hub, removed ones included
    for label in ["deployer:skip-deploy", "deployer:skip-deploy-hubs"] {
        let out = diff(
            &f,
            &["--base", "HEAD~1", "--head", "HEAD", "--label", label],
        );
        assert!(summaries(&out.stdout).is_empty(), "{label}: {}", out.stdout);
    }
}

#[test]
fn a_secret_change_shows_changed_and_never_the_value() {
    let Some(f) = fixture("a_secret_change_shows_changed_and_never_the_value") else {
        return;
    };
    let old = "FAKE-alpha-physics-client-secret";
    let new = "PLANTED-new-physics-secret-6d2c";
    edit(&f, PHYSICS_SECRET, old, new);
    f.commit_all("physics: a new OAuth secret");
    let out = diff(&f, &["--base", "HEAD~1", "--head", "HEAD", "-v"]);
    assert_eq!(
        summaries(&out.stdout),
        ["alpha/staging: no change", "alpha/physics: 1 changed"]
    );
    assert_eq!(
        changed_lines(&out.stdout),
        [
            "-  hub.config.json: (secret)",
            "+  hub.config.json: (secret, changed)"
        ]
    );
    assert!(out.stdout.contains("  proxy.token: (secret, unchanged)\n"));
    // -v logs git's NUL-separated answers a line each: a log with NULs is binary to grep
    assert!(out.stderr.contains("+ git "), "{}", out.stderr);
    assert!(!out.stderr.contains('\0'), "{}", out.stderr);
    for s in [old, new] {
        assert!(!out.all().contains(s), "{s} leaked:\n{}", out.all());
    }
}

#[test]
fn a_secret_a_template_escapes_or_a_short_one_is_never_shown() {
    let Some(f) = fixture("a_secret_a_template_escapes_or_a_short_one_is_never_shown") else {
        return;
    };
    // the chart writes singleuser.extraEnv with toJson, which escapes & < > as \u0026 …
    let secret = read(&f, PHYSICS_SECRET)
        + "  singleuser:\n    extraEnv: {SHORT_TOKEN: \"Zq9x7\", API_KEY: \"pa&ss<LEAKPROBE>w0rd\"}\n";
    f.write(PHYSICS_SECRET, secret);
    f.commit_all("physics: secret environment");
    let out = diff(&f, &["--base", "HEAD~1", "--head", "HEAD", "-v"]);
    assert_eq!(
        summaries(&out.stdout),
        ["alpha/staging: no change", "alpha/physics: 1 changed"]
    );
    assert!(
        changed_lines(&out.stdout)
            .iter()
            .all(|l| l.ends_with("(secret)") || l.ends_with("(secret, changed)")),
        "{}",
        out.stdout
    );
    for s in ["LEAKPROBE", "Zq9x7"] {
        assert!(!out.all().contains(s), "{s} leaked:\n{}", out.all());
    }
}

/// gamma/prod gets an encrypted values file, then a new ciphertext of it.
fn encrypted_change(f: &Fixture) -> (String, String) {
    f.encrypt_gamma_prod_values();
    f.commit_all("gamma/prod: secrets");
    let rel = "config/clusters/gamma/enc-prod.secret.values.yaml";
    let before = read(f, rel);
    edit(f, rel, "data:abc=", "data:abd=");
    f.commit_all("gamma/prod: a new cookie secret");
    (before, read(f, rel))
}

fn sha16(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn an_encrypted_secret_is_decrypted_with_keys_and_shown_only_as_changed() {
    let Some(f) = fixture("an_encrypted_secret_is_decrypted_with_keys_and_shown_only_as_changed")
    else {
        return;
    };
    let (before, after) = encrypted_change(&f);
    let (old, new) = ("PLANTED-cookie-old-4411aa", "PLANTED-cookie-new-4411bb");
    for (text, value) in [(&before, old), (&after, new)] {
        f.sops_output(
            &sha16(text),
            &format!("jupyterhub:\n  hub:\n    cookieSecret: {value}\n"),
        );
    }
    let out = diff(&f, &["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(summaries(&out.stdout), ["gamma/prod: 1 changed"]);
    assert_eq!(
        changed_lines(&out.stdout),
        [
            "-  hub.cookie-secret: (secret)",
            "+  hub.cookie-secret: (secret, changed)"
        ]
    );
    assert!(!out.stdout.contains("note:"), "{}", out.stdout);
    for s in [old, new] {
        assert!(!out.all().contains(s), "{s} leaked:\n{}", out.all());
    }
}

#[test]
fn without_keys_an_encrypted_file_is_compared_by_ciphertext_and_says_so() {
    let Some(f) = fixture("without_keys_an_encrypted_file_is_compared_by_ciphertext_and_says_so")
    else {
        return;
    };
    encrypted_change(&f);
    let out = f
        .test()
        .args(["diff", "--base", "HEAD~1", "--head", "HEAD"])
        .env("FAKE_FAIL", "sops --decrypt")
        .env("FAKE_FAIL_TEXT", "no key could decrypt the data key")
        .run();
    assert_eq!(summaries(&out.stdout), ["gamma/prod: 1 changed"]);
    assert!(
        out.stdout.contains(
            "note: config/clusters/gamma/enc-prod.secret.values.yaml could not be decrypted here \
         (sops: Error: no key could decrypt the data key): its values are compared by their \
         ciphertext"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        changed_lines(&out.stdout),
        [
            "-  hub.cookie-secret: (secret)",
            "+  hub.cookie-secret: (secret, changed)"
        ]
    );
    assert!(!out.all().contains("sops-encrypted-"), "{}", out.all());
}

#[test]
fn a_render_error_is_reported_for_its_release_and_the_others_are_shown() {
    let Some(f) = fixture("a_render_error_is_reported_for_its_release_and_the_others_are_shown")
    else {
        return;
    };
    f.write(
        "helm-charts/basehub/templates/fail.yaml",
        "{{- if .Values.failRender }}{{ fail \"failRender is set\" }}{{- end }}\n",
    );
    f.commit_all("basehub: can fail");
    f.write(PROD, format!("{}failRender: true\n", read(&f, PROD)));
    edit(
        &f,
        "config/clusters/alpha/physics.values.yaml",
        "timeout: 28800",
        "timeout: 36000",
    );
    f.commit_all("prod breaks, physics changes");
    let out = f
        .test()
        .args(["diff", "--base", "HEAD~1", "--head", "HEAD"])
        .status(1)
        .run();
    let s = summaries(&out.stdout);
    assert!(
        s.contains(&"alpha/prod: render failed at head".to_string()),
        "{s:#?}"
    );
    assert!(
        s.contains(&"alpha/physics: 1 changed".to_string()),
        "{s:#?}"
    );
    assert!(out.stdout.contains("failRender is set"), "{}", out.stdout);
    assert!(out.stdout.contains("36000"), "{}", out.stdout);
    assert!(
        s.contains(&"alpha/staging: no change".to_string()),
        "{s:#?}"
    );
    assert!(
        out.stderr
            .contains("1 release(s) could not be rendered; the others are shown"),
        "{}",
        out.stderr
    );
    // broken at both revisions: the change's failure all the same
    edit(&f, PROD, "limit: 4G", "limit: 8G");
    f.commit_all("prod: more memory, still broken");
    let both = f
        .test()
        .args(["diff", "--base", "HEAD~1", "--head", "HEAD"])
        .status(1)
        .run();
    assert!(
        summaries(&both.stdout).contains(&"alpha/prod: render failed at head".to_string()),
        "{}",
        both.stdout
    );
    // the next commit mends prod: the base cannot render it, which is no failure of the change
    f.write(PROD, read(&f, PROD).replace("failRender: true\n", ""));
    f.commit_all("prod mended");
    let mended = f
        .test()
        .args(["diff", "--base", "HEAD~1", "--head", "HEAD"])
        .run();
    assert!(
        summaries(&mended.stdout).contains(&"alpha/prod: render failed at base".to_string()),
        "{}",
        mended.stdout
    );
    assert!(
        mended
            .stderr
            .contains("1 release(s) could not be rendered at the base"),
        "{}",
        mended.stderr
    );
}

#[test]
fn plan_diff_puts_collapsed_diffs_in_the_comment_and_the_whole_diff_in_a_file() {
    let Some(f) =
        fixture("plan_diff_puts_collapsed_diffs_in_the_comment_and_the_whole_diff_in_a_file")
    else {
        return;
    };
    edit(&f, PROD, "limit: 4G", "limit: 8G");
    f.commit_all("prod: more memory");
    let out = f
        .test()
        .args([
            "plan",
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--format",
            "github",
            "--diff",
            "--diff-file",
            "deploy-diff.txt",
        ])
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "org/hub-ops")
        .env("GITHUB_RUN_ID", "42")
        .run();
    let body = read(&f, "comment-body.txt");
    assert!(body.starts_with("<!-- deployment-plan -->"), "{body}");
    assert!(body.contains(
        "<details><summary><code>alpha/prod</code>: 1 changed</summary>\n\n```diff\n--- base/ConfigMap/hub\n"
    ), "{body}");
    assert!(body.contains("No change in the rendered manifests: `alpha/staging`."));
    let whole = read(&f, "deploy-diff.txt");
    assert!(
        whole.contains("+    c.KubeSpawner.mem_limit = \"8G\""),
        "{whole}"
    );
    // the JSON matrix on stdout is unchanged by --diff
    assert!(
        out.stdout.starts_with("{\"support-jobs\":[]"),
        "{}",
        out.stdout
    );

    let md = f
        .test()
        .args([
            "plan", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown", "--diff",
        ])
        .run();
    insta::assert_snapshot!("plan_diff_markdown", md.stdout);
}

#[test]
fn values_a_chart_generates_at_each_render_are_not_a_change() {
    let Some(f) = fixture("values_a_chart_generates_at_each_render_are_not_a_change") else {
        return;
    };
    // as the JupyterHub chart makes a token when `lookup` finds none (always, offline)
    f.write(
        "helm-charts/basehub/templates/generated.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: generated\ndata:\n  token: {{ randAlphaNum 32 | quote }}\n  fixed: \"1\"\n",
    );
    f.commit_all("basehub: a generated token");
    more_memory_is_the_one_change(&f, &[]);
}

/// prod's memory limit raised in a commit: the diff of that commit shows only it.
fn more_memory_is_the_one_change(f: &Fixture, extra: &[&str]) {
    edit(f, PROD, "limit: 4G", "limit: 8G");
    f.commit_all("prod: more memory");
    let args = [&["--base", "HEAD~1", "--head", "HEAD"], extra].concat();
    let out = diff(f, &args);
    assert_eq!(
        summaries(&out.stdout),
        ["alpha/staging: no change", "alpha/prod: 1 changed"],
        "{}",
        out.stdout
    );
    assert_eq!(changed_lines(&out.stdout).len(), 2, "{}", out.stdout);
}

#[test]
fn a_value_generated_only_in_the_changed_release_is_not_a_change() {
    let Some(f) = fixture("a_value_generated_only_in_the_changed_release_is_not_a_change") else {
        return;
    };
    // only prod has the generated object: the chart's first render (staging's, with --jobs 1)
    // cannot tell that its token is made at each render
    f.write(
        "helm-charts/basehub/templates/generated.yaml",
        "{{- if .Values.genToken }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: generated\ndata:\n  token: {{ randAlphaNum 32 | quote }}\n{{- end }}\n",
    );
    let prod = read(&f, PROD) + "genToken: true\n";
    f.write(PROD, prod);
    f.commit_all("prod: a generated token");
    more_memory_is_the_one_change(&f, &["--jobs", "1"]);
    // and again (a second run renders anew)
    let again = diff(&f, &["--base", "HEAD~1", "--head", "HEAD", "--jobs", "1"]);
    assert_eq!(changed_lines(&again.stdout).len(), 2, "{}", again.stdout);
}

#[test]
fn paths_and_changed_from_select_the_releases_as_for_plan() {
    let Some(f) = fixture("paths_and_changed_from_select_the_releases_as_for_plan") else {
        return;
    };
    edit(&f, PROD, "limit: 4G", "limit: 8G");
    edit(
        &f,
        PHYSICS_SECRET,
        "FAKE-alpha-physics-client-secret",
        "PLANTED-new-physics-secret-6d2c",
    );
    f.commit_all("prod: more memory; physics: a new secret");
    let all = diff(&f, &["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(summaries(&all.stdout).len(), 3, "{}", all.stdout);
    // only prod's file: prod and its staging canary, not physics
    let want = ["alpha/staging: no change", "alpha/prod: 1 changed"];
    let one = diff(&f, &["--base", "HEAD~1", "--head", "HEAD", PROD]);
    assert_eq!(summaries(&one.stdout), want, "{}", one.stdout);
    f.write("changed.txt", format!("{PROD}\n"));
    let from = diff(
        &f,
        &[
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--changed-from",
            "changed.txt",
        ],
    );
    assert_eq!(summaries(&from.stdout), want, "{}", from.stdout);
}

#[test]
fn a_deleted_file_given_as_a_path_is_planned_as_deleted() {
    let Some(f) = fixture("a_deleted_file_given_as_a_path_is_planned_as_deleted") else {
        return;
    };
    let gone = "helm-charts/basehub/templates/user-serviceaccount.yaml";
    std::fs::remove_file(f.root.join(gone)).unwrap();
    f.commit_all("basehub: no user service account");
    let out = diff(&f, &["--base", "HEAD~1", "--head", "HEAD", gone]);
    let s = summaries(&out.stdout);
    assert!(
        !s.is_empty(),
        "the chart's hubs are planned: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("+++ /dev/null"),
        "the service account shows as removed: {}",
        out.stdout
    );
}
