//! Cluster credentials, per provider, into a PRIVATE kubeconfig in a temp dir (never the user's
//! `~/.kube/config`): clusters deployed at the same time cannot overwrite each other's context.

use std::path::{Path, PathBuf};

use super::secrets::{self, Decrypted, SecretKind};
use crate::cmd::{Arg, Cmd};
use crate::log::Log;
use crate::plan::run_plan::{Access, ClusterPlan, KeyFile};
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::{cloud, gcloud};

/// Access to one cluster: the environment every helm/kubectl command for it gets.
pub struct ClusterAccess {
    /// Private folder (0700) holding the kubeconfig, tool configs and decrypted keys.
    _dir: Option<crate::signals::TempDir>,
    _decrypted: Decrypted,
    pub kubeconfig: PathBuf,
    pub env: Vec<(String, Arg)>,
}

impl ClusterAccess {
    /// `cmd` with this cluster's environment.
    pub fn apply(&self, mut cmd: Cmd) -> Cmd {
        cmd.env.push((
            "KUBECONFIG".into(),
            Arg::Plain(self.kubeconfig.display().to_string()),
        ));
        cmd.env.extend(self.env.iter().cloned());
        cmd
    }

    /// For `deploy <chart>` with setup (legacy): a private folder whose kubeconfig and gcloud
    /// config `gcloud auth activate-service-account` and `get-credentials` fill, so the
    /// operator's own `~/.kube/config` and gcloud account are never changed. Removed when
    /// dropped. (`--no-setup` uses no ClusterAccess: the operator's current context.)
    pub fn private(name: &str) -> Result<ClusterAccess, CmdError> {
        let dir = private_dir(name)?;
        let env = vec![(
            "CLOUDSDK_CONFIG".to_string(),
            Arg::Plain(dir.path().join("gcloud").display().to_string()),
        )];
        Ok(ClusterAccess {
            kubeconfig: dir.path().join("kubeconfig"),
            _dir: Some(dir),
            _decrypted: Decrypted::default(),
            env,
        })
    }
}

/// A temp folder `deploy-<name>-…` only its owner can enter (0700: tempfile's default follows
/// the umask, which leaves it world-readable).
fn private_dir(name: &str) -> Result<crate::signals::TempDir, CmdError> {
    crate::signals::TempDir::new(&format!("deploy-{name}-"))
        .map_err(|e| spawn_err("creating a private credentials folder", e))
}

fn spawn_err(what: &str, e: std::io::Error) -> CmdError {
    CmdError::Spawn {
        cmd: what.to_string(),
        reason: e.to_string(),
    }
}

/// Run the provider's login into a private folder.
pub fn connect(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    cluster: &ClusterPlan,
) -> Result<ClusterAccess, CmdError> {
    let dir = private_dir(&cluster.name)?;
    let kubeconfig = dir.path().join("kubeconfig");
    let kube = kubeconfig.display().to_string();
    // as a tool's argument: shown the same on every run (the path is a new temp folder each time)
    let kube_arg = Arg::Shown {
        value: kube.clone(),
        shown: "<private-kubeconfig>".into(),
    };
    let mut decrypted = Decrypted::default();
    let mut env: Vec<(String, Arg)> = Vec::new();
    let run = |cmd: Cmd, env: &[(String, Arg)]| -> Result<Reply, CmdError> {
        let mut c = cmd.env("KUBECONFIG", kube.as_str());
        c.env.extend(env.iter().cloned());
        runner.run(&c)
    };
    let mut key_path = |k: &KeyFile| {
        secrets::plain_path(
            runner,
            log,
            root,
            &k.path,
            SecretKind::Credentials,
            &mut decrypted,
        )
    };
    match &cluster.access {
        Access::Gcp {
            key,
            project,
            cluster: name,
            location,
        } => {
            let key = key_path(key)?;
            // A private gcloud config: parallel clusters must not switch each other's account.
            env.push((
                "CLOUDSDK_CONFIG".into(),
                Arg::Plain(dir.path().join("gcloud").display().to_string()),
            ));
            run(gcloud::activate_service_account(&key), &env)?;
            run(gcloud::get_credentials_at(name, location, project), &env)?;
        }
        Access::Aws {
            key,
            cluster: name,
            region,
        } => {
            let key = key_path(key)?;
            env.extend(aws_env(&key, root));
            for (_, v) in &env {
                if let Arg::Secret(s) = v {
                    log.mask(s);
                }
            }
            run(cloud::aws_update_kubeconfig(name, region, &kube_arg), &env)?;
        }
        Access::Azure {
            key,
            resource_group,
            cluster: name,
        } => {
            let key = key_path(key)?;
            env.push((
                "AZURE_CONFIG_DIR".into(),
                Arg::Plain(dir.path().join("azure").display().to_string()),
            ));
            let sp = read_json(&key, root);
            let field = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| sp.get(*n).and_then(|v| v.as_str()).map(String::from))
                    .unwrap_or_default()
            };
            let (app, tenant) = (
                field(&["service_principal_id", "appId"]),
                field(&["tenant_id", "tenant"]),
            );
            let secret = field(&["service_principal_password", "password"]);
            log.mask(&secret);
            let secret_file = decrypted
                .keep(&secret, ".txt")
                .map_err(|e| spawn_err("az secret file", e))?;
            run(cloud::az_login(&app, &tenant, &secret_file), &env)?;
            run(
                cloud::az_aks_get_credentials(resource_group, name, &kube_arg),
                &env,
            )?;
        }
        Access::Kubeconfig { file } => {
            let plain = key_path(file)?;
            let src = if Path::new(&plain).is_absolute() {
                PathBuf::from(&plain)
            } else {
                root.join(&plain)
            };
            // A copy in the private folder: kubectl may write to its kubeconfig.
            if src.exists() {
                std::fs::copy(&src, &kubeconfig)
                    .map_err(|e| spawn_err(&format!("copying {}", file.path), e))?;
            } else {
                return Ok(ClusterAccess {
                    _dir: Some(dir),
                    _decrypted: decrypted,
                    kubeconfig: PathBuf::from(plain),
                    env,
                });
            }
        }
        Access::Flux(_) => {
            return Err(CmdError::Spawn {
                cmd: format!("credentials for {}", cluster.name),
                reason: "Flux applies this cluster's releases: deploy does not connect to it"
                    .into(),
            });
        }
    }
    Ok(ClusterAccess {
        _dir: Some(dir),
        _decrypted: decrypted,
        kubeconfig,
        env,
    })
}

fn read_json(path: &str, root: &Path) -> serde_json::Value {
    let p = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        root.join(path)
    };
    std::fs::read_to_string(p)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// 2i2c's AWS key files are `{"AccessKey": {"AccessKeyId", "SecretAccessKey"}}`; anything else is
/// taken as a shared credentials file.
fn aws_env(key: &str, root: &Path) -> Vec<(String, Arg)> {
    let v = read_json(key, root);
    let ak = &v["AccessKey"];
    match (ak["AccessKeyId"].as_str(), ak["SecretAccessKey"].as_str()) {
        (Some(id), Some(secret)) => vec![
            ("AWS_ACCESS_KEY_ID".into(), Arg::Secret(id.into())),
            ("AWS_SECRET_ACCESS_KEY".into(), Arg::Secret(secret.into())),
        ],
        _ => vec![(
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            Arg::Plain(key.to_string()),
        )],
    }
}
