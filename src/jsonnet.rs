//! jsonnet values, as 2i2c's deployer renders them: which file, which library path, which
//! external variables. Rendering is done by the Go `jsonnet` program (the argv is built by
//! `tools::jsonnet`, run by `execute` through its `Runner`); docs/jsonnet.md says why a program and
//! not an in-process Rust implementation.
//!
//! A release's values start with its chart's own `values.jsonnet` (rendered first), then each
//! `helm_chart_values_files` entry in order, a `.jsonnet` entry replaced by its rendering. Every
//! render gets the cluster's variables; hub renders also get the hub's name and domain.

use std::path::{Path, PathBuf};

use crate::config::cluster::{Cluster, Provider};

pub const CLUSTER_NAME: &str = "VARS_2I2C_CLUSTER_NAME";
pub const HUB_NAME: &str = "VARS_2I2C_HUB_NAME";
pub const HUB_DOMAIN: &str = "VARS_2I2C_HUB_DOMAIN";
pub const PROVIDER: &str = "VARS_2I2C_PROVIDER";
pub const ACCOUNT_ID: &str = "VARS_2I2C_ACCOUNT_ID";

/// The chart's own values file, rendered before any other values file of a hub or support
/// release.
pub const CHART_VALUES: &str = "values.jsonnet";

/// The program and the one implementation accepted: the C++ `jsonnet` has a bug 2i2c's files hit
/// (google/jsonnet#1109), and renders may differ between implementations.
pub const PROGRAM: &str = "jsonnet";

/// One render: `jsonnet --jpath <dir>… --ext-str <K=V>… <file> --output-file <out>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Render {
    /// Absolute but not canonicalized: jsonnet's `std.thisFile` is this path, and a symlinked
    /// chart file (2i2c's `daskhub/values.jsonnet` → `../basehub/values.jsonnet`) renders
    /// differently from its target because of it. Relative imports resolve from its folder too.
    pub file: PathBuf,
    /// Library folders, searched right-most first after the file's own folder.
    pub jpath: Vec<PathBuf>,
    /// `std.extVar` strings, in the order they are passed.
    pub ext_str: Vec<(String, String)>,
}

impl Render {
    /// How 2i2c's deployer renders `file`: made absolute against the current folder without
    /// resolving symlinks (`..` is kept, `.` dropped), the file's folder as the only jpath, and
    /// `ext_str` (see [`ext_vars`]).
    pub fn new(file: &Path, ext_str: Vec<(String, String)>) -> std::io::Result<Render> {
        let file = std::path::absolute(file)?;
        let folder = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Render {
            file,
            jpath: vec![folder],
            ext_str,
        })
    }

    /// The chart's own `values.jsonnet` in `chart_dir` (the chart folder as the release uses
    /// it: `helm-charts/daskhub`, not the folder its values.jsonnet links to).
    pub fn chart_values(
        chart_dir: &Path,
        ext_str: Vec<(String, String)>,
    ) -> std::io::Result<Render> {
        Render::new(&chart_dir.join(CHART_VALUES), ext_str)
    }
}

/// Whether a `helm_chart_values_files` entry is rendered by jsonnet: its extension is exactly
/// `.jsonnet` (Python's `splitext`, as their deployer checks: a file named `.jsonnet` has none).
pub fn is_jsonnet(values_file: &str) -> bool {
    Path::new(values_file)
        .extension()
        .is_some_and(|e| e == "jsonnet")
}

/// The external variables 2i2c's deployer gives a render of `cluster`'s support values
/// (`hub: None`) or of a hub's values (`Some((name, domain))`), in their order:
///
/// - `VARS_2I2C_CLUSTER_NAME`: `aws.clusterName` for aws, else cluster.yaml's `name` (also for
///   gcp: not `gcp.cluster`);
/// - `VARS_2I2C_HUB_NAME`, `VARS_2I2C_HUB_DOMAIN`: hub renders only; the domain is the one the
///   caller passes (a `domain_override_file`'s domain in the deploy step). A hub without a
///   domain gets no `VARS_2I2C_HUB_DOMAIN` (their deployer refuses such a hub: their schema
///   requires `domain`), so a file that reads it fails with jsonnet's "Undefined external
///   variable" at the line that reads it;
/// - `VARS_2I2C_PROVIDER`: `provider`;
/// - `VARS_2I2C_ACCOUNT_ID`: `aws.account` (as decimal text) for aws, `gcp.project` for gcp,
///   else the text `None` (Python's `None` formatted). An aws cluster without `aws.account`
///   gets no `VARS_2I2C_ACCOUNT_ID` (their schema requires it; their deployer would stop with a
///   KeyError), so a file that reads it fails at that line instead of rendering `None`.
pub fn ext_vars(cluster: &Cluster, hub: Option<(&str, Option<&str>)>) -> Vec<(String, String)> {
    let file = &cluster.file;
    let aws = file.aws.as_ref().filter(|_| file.provider == Provider::Aws);
    let cluster_name = match aws {
        Some(a) => a.cluster_name.clone(),
        None => file.name.clone(),
    };
    let account_id = match file.provider {
        Provider::Aws => aws.and_then(|a| a.account).map(|n| n.to_string()),
        Provider::Gcp => file.gcp.as_ref().map(|g| g.project.clone()),
        Provider::Azure | Provider::Kubeconfig => Some("None".to_string()),
    };
    let mut vars = vec![(CLUSTER_NAME.to_string(), cluster_name)];
    if let Some((name, domain)) = hub {
        vars.push((HUB_NAME.to_string(), name.to_string()));
        if let Some(d) = domain {
            vars.push((HUB_DOMAIN.to_string(), d.to_string()));
        }
    }
    vars.push((PROVIDER.to_string(), file.provider.as_str().to_string()));
    if let Some(a) = account_id {
        vars.push((ACCOUNT_ID.to_string(), a));
    }
    vars
}

/// Checks what `jsonnet --version` printed: only the Go implementation renders 2i2c's files as
/// their deployer does (it makes the same check). The error says what to install.
pub fn check_version(version_output: &str) -> Result<(), String> {
    if version_output.contains("Go implementation") {
        return Ok(());
    }
    let first = version_output.lines().next().unwrap_or("").trim();
    Err(format!(
        "`{PROGRAM} --version` says `{first}`: the Go implementation of jsonnet is required \
         (github.com/google/go-jsonnet, v0.22 as 2i2c pins it; the C++ one renders some files \
         differently)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(folder: &str, yaml: &str) -> Cluster {
        Cluster::parse(folder, yaml).unwrap()
    }

    fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    const AWS: &str = "name: c-aws\nprovider: aws\naws:\n  account: 790657130469\n  key: k.json\n  clusterType: eks\n  clusterName: eks-name\n  region: us-west-2\nhubs:\n- name: staging\n  domain: staging.example.org\n  helm_chart: daskhub\n  helm_chart_values_files: [a.yaml]\n";
    const GCP: &str = "name: c-gcp\nprovider: gcp\ngcp:\n  key: k.json\n  project: my-project\n  cluster: gke-name\n  zone: us-central1\n";

    #[test]
    fn aws_uses_the_eks_cluster_name_and_the_account_as_text() {
        let c = cluster("c-aws", AWS);
        assert_eq!(
            pairs(&ext_vars(
                &c,
                Some(("staging", Some("staging.example.org")))
            )),
            [
                (CLUSTER_NAME, "eks-name"),
                (HUB_NAME, "staging"),
                (HUB_DOMAIN, "staging.example.org"),
                (PROVIDER, "aws"),
                (ACCOUNT_ID, "790657130469"),
            ]
        );
    }

    #[test]
    fn gcp_uses_the_cluster_yaml_name_not_the_gke_cluster_and_the_project() {
        let c = cluster("c-gcp", GCP);
        assert_eq!(
            pairs(&ext_vars(&c, None)),
            [
                (CLUSTER_NAME, "c-gcp"),
                (PROVIDER, "gcp"),
                (ACCOUNT_ID, "my-project"),
            ]
        );
    }

    #[test]
    fn other_providers_get_the_text_none_as_account() {
        let k = "name: c-k\nprovider: kubeconfig\nkubeconfig: {file: k.yaml}\n";
        let z =
            "name: c-z\nprovider: azure\nazure: {key: k.json, resource_group: g, cluster: aks}\n";
        for (folder, yaml, provider) in [("c-k", k, "kubeconfig"), ("c-z", z, "azure")] {
            assert_eq!(
                pairs(&ext_vars(&cluster(folder, yaml), None)),
                [
                    (CLUSTER_NAME, folder),
                    (PROVIDER, provider),
                    (ACCOUNT_ID, "None")
                ]
            );
        }
    }

    #[test]
    fn a_provider_block_that_is_not_the_provider_is_ignored() {
        let yaml = format!("{GCP}aws: {{key: k, clusterName: eks, region: r, account: 1}}\n");
        let c = cluster("c-gcp", &yaml);
        assert_eq!(ext_vars(&c, None)[0].1, "c-gcp");
        assert_eq!(ext_vars(&c, None)[2].1, "my-project");
    }

    #[test]
    fn missing_values_leave_their_variable_out_instead_of_inventing_one() {
        let c = cluster("c-aws", &AWS.replace("  account: 790657130469\n", ""));
        let vars = ext_vars(&c, Some(("staging", None)));
        assert_eq!(
            pairs(&vars),
            [
                (CLUSTER_NAME, "eks-name"),
                (HUB_NAME, "staging"),
                (PROVIDER, "aws")
            ]
        );
    }

    #[test]
    fn a_render_keeps_the_path_it_is_given_and_searches_its_folder() {
        let r = Render::chart_values(Path::new("/repo/helm-charts/daskhub"), vec![]).unwrap();
        assert_eq!(
            r.file,
            Path::new("/repo/helm-charts/daskhub/values.jsonnet")
        );
        assert_eq!(r.jpath, [Path::new("/repo/helm-charts/daskhub")]);
        let r = Render::new(Path::new("/repo/a/../b/./x.jsonnet"), vec![]).unwrap();
        assert_eq!(r.file, Path::new("/repo/a/../b/x.jsonnet"));
        let rel = Render::new(Path::new("c/v.jsonnet"), vec![]).unwrap();
        assert_eq!(
            rel.file,
            std::env::current_dir().unwrap().join("c/v.jsonnet")
        );
    }

    #[test]
    fn only_a_jsonnet_extension_is_rendered() {
        for (f, want) in [
            ("hub.jsonnet", true),
            ("dir/a.b.jsonnet", true),
            (".jsonnet", false),
            ("dir/.jsonnet", false),
            ("x.libsonnet", false),
            ("x.JSONNET", false),
            ("x.jsonnet.yaml", false),
            ("x.values.yaml", false),
        ] {
            assert_eq!(is_jsonnet(f), want, "{f}");
        }
    }

    #[test]
    fn only_the_go_implementation_is_accepted() {
        let go = "Jsonnet commandline interpreter (Go implementation) v0.22.0\n";
        assert_eq!(check_version(go), Ok(()));
        let cpp = "Jsonnet commandline interpreter v0.20.0\n";
        let e = check_version(cpp).unwrap_err();
        assert!(
            e.contains("says `Jsonnet commandline interpreter v0.20.0`"),
            "{e}"
        );
        assert!(
            e.contains("Go implementation of jsonnet is required"),
            "{e}"
        );
    }
}
