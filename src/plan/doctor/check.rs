//! How `deploy doctor` judges what a version probe printed: the version in it (each tool prints
//! its own way), the rule it must meet, and the row it makes.

use std::fmt;

use serde::Serialize;

use crate::cmd::Cmd;

/// The oldest helm `deploy` works with: every upgrade marks its revision with `--labels`, and
/// `--live` asks `helm get metadata` and renders with `--dry-run=server`, all new in helm 3.13.
pub const HELM_MIN: Version = Version {
    major: 3,
    minor: 13,
    patch: None,
};

/// What a program's version answer must show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Any version; an answer without one is tolerated (found, version unknown).
    Any,
    /// helm 3, [`HELM_MIN`] or newer; an answer without a version is tolerated.
    Helm,
    /// The Go implementation of jsonnet: `deploy` itself refuses any other, and a `jsonnet
    /// --version` that says nothing usable (see `execute::preflight::require_jsonnet`).
    GoJsonnet,
}

/// A program a run starts.
#[derive(Clone, Debug)]
pub struct ProgramNeed {
    pub program: String,
    /// The local query that asks its version.
    pub probe: Cmd,
    pub rule: Rule,
    pub needed_for: String,
}

/// How one need was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Found,
    Missing,
    WrongVersion,
}

impl Status {
    /// As in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Found => "found",
            Status::Missing => "missing",
            Status::WrongVersion => "wrong version",
        }
    }
}

/// One row of `deploy doctor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// A program, or a credentials file's repo-relative path.
    pub name: String,
    /// Whether it is a program (with a version) or a file.
    #[serde(skip)]
    pub program: bool,
    pub status: Status,
    /// A program's version as it said it (`None`: not found, unknown, or a file).
    pub version: Option<String>,
    pub needed_for: String,
    pub install: String,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.status == Status::Found
    }
}

/// What a version probe came back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    /// The program is not on PATH.
    NotFound,
    /// It ran and printed this (stdout and stderr), whatever its exit status.
    Printed(&'a str),
    /// It is there but gave no answer (it failed to start, timed out, or was not run).
    Unknown,
}

/// A `major.minor[.patch]` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: Option<u64>,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(p) = self.patch {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

/// The first `[v]N.N[.N]` in `text` that starts a word (so `x86_64` is none): helm's
/// `v3.19.0+g3d8990f`, `Client: v2.16.1`, `aws-cli/2.15.0 Python/3.11.6`, `Google Cloud SDK
/// 460.0.0`, `git version 2.43.0`, `{"azure-cli": "2.57.0", …}`.
pub fn first_version(text: &str) -> Option<Version> {
    let b = text.as_bytes();
    let number = |mut i: usize| -> Option<(u64, usize)> {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = text.get(start..i)?.parse().ok()?;
        Some((n, i))
    };
    for start in 0..b.len() {
        // a word's start: not inside `x86` or the tail of `2.43.0`
        if start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'.') {
            continue;
        }
        let i = if b[start] == b'v' { start + 1 } else { start };
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let Some((major, i)) = number(i) else {
            continue;
        };
        if b.get(i) != Some(&b'.') || !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let Some((minor, i)) = number(i + 1) else {
            continue;
        };
        let patch = if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            number(i + 1).map(|(p, _)| p)
        } else {
            None
        };
        return Some(Version {
            major,
            minor,
            patch,
        });
    }
    None
}

/// A program's version in what its probe printed: kubectl's `clientVersion.gitVersion` (its
/// JSON also names kustomize's version), else the first version in the text.
pub fn version_in(program: &str, printed: &str) -> Option<Version> {
    if program == "kubectl"
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(printed)
        && let Some(git) = v["clientVersion"]["gitVersion"].as_str()
    {
        return first_version(git);
    }
    first_version(printed)
}

/// The row of a program, from its probe's answer.
pub fn judge(need: &ProgramNeed, answer: Answer<'_>) -> Check {
    let row = |status: Status, version: Option<String>| Check {
        name: need.program.clone(),
        program: true,
        status,
        version,
        needed_for: need.needed_for.clone(),
        install: install_hint(&need.program).to_string(),
    };
    let printed = match answer {
        Answer::NotFound => return row(Status::Missing, None),
        Answer::Printed(p) => p,
        Answer::Unknown => "",
    };
    let version = version_in(&need.program, printed);
    let shown = version.map(|v| v.to_string());
    match need.rule {
        Rule::Any => row(Status::Found, shown),
        Rule::Helm => match version {
            // any patch release of the minimum will do (`v3.13` says none)
            Some(v)
                if v.major != HELM_MIN.major
                    || (v.major, v.minor) < (HELM_MIN.major, HELM_MIN.minor) =>
            {
                row(Status::WrongVersion, shown)
            }
            _ => row(Status::Found, shown),
        },
        Rule::GoJsonnet => {
            if crate::jsonnet::check_version(printed).is_ok() {
                row(Status::Found, shown)
            } else {
                let what = shown.map_or_else(|| "unknown".to_string(), |v| v.to_string());
                row(
                    Status::WrongVersion,
                    Some(format!("{what}, not the Go implementation")),
                )
            }
        }
    }
}

/// Where to get a program.
pub fn install_hint(program: &str) -> &'static str {
    match program {
        "helm" => {
            "https://helm.sh/docs/intro/install/ (3.13 or newer), or deploy's scripts/install-tools \
             (helm 3, Go jsonnet)"
        }
        "jsonnet" => {
            "https://github.com/google/go-jsonnet/releases (v0.22, as 2i2c pins it), or deploy's \
             scripts/install-tools (helm 3, Go jsonnet)"
        }
        "kubectl" => "https://kubernetes.io/docs/tasks/tools/",
        "sops" => "https://github.com/getsops/sops/releases",
        "gcloud" => "https://cloud.google.com/sdk/docs/install",
        "aws" => "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
        "az" => "https://learn.microsoft.com/cli/azure/install-azure-cli",
        "docker" => "https://docs.docker.com/engine/install/",
        "git" => "https://git-scm.com/downloads",
        _ => "your distribution's packages",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u64, minor: u64, patch: Option<u64>) -> Option<Version> {
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    #[test]
    fn versions_are_read_from_what_each_tool_prints() {
        let cases = [
            ("helm", "v3.19.0+g3d8990f\n", v(3, 19, Some(0))),
            (
                "helm",
                "Client: v2.16.1+gbbdfe5e\nError: could not find tiller\n",
                v(2, 16, Some(1)),
            ),
            ("helm", "v3.12\n", v(3, 12, None)),
            (
                "kubectl",
                r#"{"clientVersion": {"major": "1", "minor": "29", "gitVersion": "v1.29.1"}, "kustomizeVersion": "v5.0.4-0.20230601165947-6ce0bf390ce3"}"#,
                v(1, 29, Some(1)),
            ),
            (
                "kubectl",
                "Client Version: v1.28.2\nKustomize Version: v5.0.4\n",
                v(1, 28, Some(2)),
            ),
            ("sops", "sops 3.9.0\n", v(3, 9, Some(0))),
            (
                "gcloud",
                "Google Cloud SDK 460.0.0\nalpha 2024.01.12\nbq 2.0.101\ncore 2024.01.12\n",
                v(460, 0, Some(0)),
            ),
            (
                "aws",
                "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-1015-azure exe/x86_64.ubuntu.22 prompt/off\n",
                v(2, 15, Some(0)),
            ),
            (
                "az",
                "{\n  \"azure-cli\": \"2.57.0\",\n  \"azure-cli-core\": \"2.57.0\",\n  \"extensions\": {}\n}\n",
                v(2, 57, Some(0)),
            ),
            (
                "docker",
                "Docker version 24.0.7, build afdd53b\n",
                v(24, 0, Some(7)),
            ),
            ("git", "git version 2.43.0\n", v(2, 43, Some(0))),
            (
                "jsonnet",
                "Jsonnet commandline interpreter (Go implementation) v0.22.0\n",
                v(0, 22, Some(0)),
            ),
            ("aws", "exe/x86_64 and nothing else", None),
            ("git", "", None),
            ("git", "version 2", None),
            ("git", "release12.5", None),
        ];
        for (program, printed, want) in cases {
            assert_eq!(version_in(program, printed), want, "{program}: {printed:?}");
        }
        assert_eq!(v(3, 13, Some(0)).unwrap().to_string(), "3.13.0");
        assert_eq!(v(3, 12, None).unwrap().to_string(), "3.12");
    }

    fn need(program: &str) -> ProgramNeed {
        let rule = match program {
            "helm" => Rule::Helm,
            "jsonnet" => Rule::GoJsonnet,
            _ => Rule::Any,
        };
        ProgramNeed {
            program: program.into(),
            probe: Cmd::new(program),
            rule,
            needed_for: "a run".into(),
        }
    }

    #[test]
    fn helm_must_be_3_13_or_newer_3() {
        let status = |printed: &str| judge(&need("helm"), Answer::Printed(printed)).status;
        assert_eq!(status("v3.19.0+g3d8990f"), Status::Found);
        assert_eq!(status("v3.13.0+g825e86f"), Status::Found);
        assert_eq!(status("v3.13"), Status::Found);
        assert_eq!(status("v3.12.3+g3a31588"), Status::WrongVersion);
        assert_eq!(status("Client: v2.17.0+ga690bad"), Status::WrongVersion);
        assert_eq!(status("v4.0.0+g4e1f5e0"), Status::WrongVersion);
        // tolerated: found, version unknown
        let c = judge(&need("helm"), Answer::Unknown);
        assert_eq!((c.status, c.version), (Status::Found, None));
        assert_eq!(status("something new"), Status::Found);
        let c = judge(&need("helm"), Answer::NotFound);
        assert_eq!((c.status, c.version), (Status::Missing, None));
        assert!(c.install.contains("scripts/install-tools"), "{}", c.install);
    }

    #[test]
    fn jsonnet_must_be_the_go_implementation() {
        let c = judge(
            &need("jsonnet"),
            Answer::Printed("Jsonnet commandline interpreter (Go implementation) v0.22.0\n"),
        );
        assert_eq!(
            (c.status, c.version.as_deref()),
            (Status::Found, Some("0.22.0"))
        );
        let c = judge(
            &need("jsonnet"),
            Answer::Printed("Jsonnet commandline interpreter v0.20.0\n"),
        );
        assert_eq!(
            (c.status, c.version.as_deref()),
            (
                Status::WrongVersion,
                Some("0.20.0, not the Go implementation")
            )
        );
        let c = judge(&need("jsonnet"), Answer::Unknown);
        assert_eq!(c.status, Status::WrongVersion);
    }

    #[test]
    fn other_programs_need_only_be_there() {
        let c = judge(&need("gcloud"), Answer::Unknown);
        assert_eq!((c.status, c.version), (Status::Found, None));
        let c = judge(&need("aws"), Answer::Printed("aws-cli/1.32.0 Python/3.11"));
        assert_eq!(
            (c.status, c.version.as_deref()),
            (Status::Found, Some("1.32.0"))
        );
        assert_eq!(judge(&need("az"), Answer::NotFound).status, Status::Missing);
    }
}
