//! `deploy doctor` on this machine: each program's version probe run through the [`Runner`] (a
//! local read-only query), each credentials file looked at (present, a regular file; never
//! read), each answer judged by `plan::doctor`.

use std::path::Path;

use crate::config::legacy::is_git_crypt_locked;
use crate::plan::doctor::{self, Answer, Check, FileNeed, Needs, Status};
use crate::runner::{CmdError, Reply, Runner};

/// Every need, checked: programs first (in `needs` order), then files. Only an interruption
/// stops it (the error says which probe was running); any other failed probe is an answer.
pub fn examine(needs: &Needs, root: &Path, runner: &dyn Runner) -> Result<Vec<Check>, CmdError> {
    let mut checks = Vec::with_capacity(needs.programs.len() + needs.files.len());
    for need in &needs.programs {
        let reply = runner.run(&need.probe);
        let printed;
        let answer = match reply {
            Ok(Reply::Ran(o)) => {
                printed = format!("{}{}", o.stdout, o.stderr);
                Answer::Printed(&printed)
            }
            Ok(Reply::NotRun) => Answer::Unknown,
            Err(CmdError::NotFound { .. }) => Answer::NotFound,
            Err(e @ CmdError::Interrupted { .. }) => return Err(e),
            // it is there, but said nothing usable (a crash, a hang, a failed command)
            Err(_) => Answer::Unknown,
        };
        checks.push(doctor::judge(need, answer));
    }
    checks.extend(needs.files.iter().map(|f| file_check(root, f)));
    Ok(checks)
}

/// A credentials file: there and a regular file (followed through symlinks, as a tool reading it
/// would) that git-crypt has unlocked, or missing, saying what is there instead. Only a locked
/// file's first bytes are read, and nothing of it is shown.
fn file_check(root: &Path, need: &FileNeed) -> Check {
    let path = root.join(&need.path);
    let (status, install) = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && is_git_crypt_locked(&path) => (
            Status::Missing,
            format!(
                "still git-crypt encrypted: run `git-crypt unlock` ({})",
                need.install
            ),
        ),
        Ok(m) if m.is_file() => (Status::Found, need.install.clone()),
        Ok(m) => {
            let what = if m.is_dir() {
                "a folder"
            } else {
                "a special file"
            };
            (
                Status::Missing,
                format!("{what} is there, not a file: {}", need.install),
            )
        }
        Err(_) => (Status::Missing, need.install.clone()),
    };
    Check {
        name: need.path.clone(),
        program: false,
        status,
        version: None,
        needed_for: need.needed_for.clone(),
        install,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::doctor::{FileNeed, Needs};
    use crate::runner::{Output, RecordingRunner};

    fn needs() -> Needs {
        Needs {
            programs: ["helm", "jsonnet", "gcloud", "sops"]
                .into_iter()
                .map(|p| doctor::program_need(p, "a run".into()))
                .collect(),
            files: Vec::new(),
        }
    }

    #[test]
    fn each_probe_runs_once_through_the_runner_and_is_judged() {
        let r = RecordingRunner::new(|c| match c.program.as_str() {
            "helm" => Ok(Reply::Ran(Output::ok("v3.12.1+gabc\n"))),
            "jsonnet" => Ok(Reply::Ran(Output::ok(
                "Jsonnet commandline interpreter (Go implementation) v0.22.0\n",
            ))),
            "gcloud" => Err(CmdError::TimedOut {
                cmd: c.line(),
                after: std::time::Duration::from_secs(60),
                tail: String::new(),
            }),
            _ => Err(CmdError::NotFound {
                program: c.program.clone(),
            }),
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.json"), "{}").unwrap();
        std::fs::create_dir(dir.path().join("folder.json")).unwrap();
        let mut n = needs();
        std::fs::write(dir.path().join("locked.json"), b"\0GITCRYPT\0\x01\x02").unwrap();
        for path in ["key.json", "folder.json", "absent.json", "locked.json"] {
            n.files.push(FileNeed {
                path: path.into(),
                needed_for: "the credentials of cluster c (gcp.key)".into(),
                install: "get it".into(),
            });
        }
        let checks = examine(&n, dir.path(), &r).unwrap();
        assert_eq!(
            r.lines(),
            [
                "helm version --short",
                "jsonnet --version",
                "gcloud version",
                "sops --version --disable-version-check"
            ]
        );
        let rows: Vec<(&str, Status, Option<&str>)> = checks
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.version.as_deref()))
            .collect();
        assert_eq!(
            rows,
            [
                ("helm", Status::WrongVersion, Some("3.12.1")),
                ("jsonnet", Status::Found, Some("0.22.0")),
                ("gcloud", Status::Found, None),
                ("sops", Status::Missing, None),
                ("key.json", Status::Found, None),
                ("folder.json", Status::Missing, None),
                ("absent.json", Status::Missing, None),
                ("locked.json", Status::Missing, None),
            ]
        );
        assert_eq!(
            checks[7].install,
            "still git-crypt encrypted: run `git-crypt unlock` (get it)"
        );
        assert_eq!(checks[5].install, "a folder is there, not a file: get it");
    }

    #[test]
    fn an_interruption_stops_the_checks() {
        let r = RecordingRunner::new(|c| Err(CmdError::Interrupted { cmd: c.line() }));
        let e = examine(&needs(), Path::new("."), &r).unwrap_err();
        assert!(matches!(e, CmdError::Interrupted { .. }));
        assert_eq!(r.lines().len(), 1);
    }
}
