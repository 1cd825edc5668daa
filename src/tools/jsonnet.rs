//! jsonnet (the Go implementation, as 2i2c's deployer requires): rendering a values file into a
//! JSON file, and the version check. What to render with which variables is `crate::jsonnet`'s.

use std::time::Duration;

use super::seconds_from_env;
use crate::cmd::{Arg, Cmd};
use crate::jsonnet::{PROGRAM, Render};

/// Watchdog for a render (local work; 2i2c's files take milliseconds): 2 minutes, or
/// `DEPLOY_JSONNET_TIMEOUT` seconds. A program that never ends is killed, not waited for.
pub fn render_timeout() -> Duration {
    static T: std::sync::LazyLock<Duration> =
        std::sync::LazyLock::new(|| seconds_from_env("DEPLOY_JSONNET_TIMEOUT", 120));
    *T
}

/// How a render's output file is shown in printed commands: it is a per-run private temp file.
pub const OUTPUT_SHOWN: &str = "<rendered-values.json>";

/// Stack frames an error shows ([`MAX_TRACE`] / 2 innermost, `...`, the outermost), so that the
/// message (the first line) and the innermost location stay within the last lines of output an
/// error message quotes (jsonnet's default, 20, pushes them out).
pub const MAX_TRACE: u32 = 12;

/// `jsonnet --jpath <dir>… --ext-str K=V… <file> --output-file <output> --max-trace 12`: 2i2c's
/// argv (the cluster variable first, then the hub's, then provider and account id, as
/// [`Render::ext_str`] lists them; the file as given, symlinks kept) plus `--max-trace`, which
/// only shortens error traces. The output file should be a private temp file: what a render of a
/// decrypted file writes is secret. A local query (it reads files and writes only `output`),
/// with private output and a watchdog.
pub fn render(r: &Render, output: &str) -> Cmd {
    let mut c = Cmd::new(PROGRAM);
    for dir in &r.jpath {
        c = c.arg("--jpath").arg(dir.display().to_string());
    }
    for (k, v) in &r.ext_str {
        c = c.arg("--ext-str").arg(format!("{k}={v}"));
    }
    c.arg(r.file.display().to_string())
        .arg("--output-file")
        .arg(Arg::Shown {
            value: output.to_string(),
            shown: OUTPUT_SHOWN.to_string(),
        })
        .args(["--max-trace".to_string(), MAX_TRACE.to_string()])
        .local_query()
        .private_output()
        .timeout(render_timeout())
}

/// `jsonnet --version`: its output goes to `crate::jsonnet::check_version`.
pub fn version() -> Cmd {
    Cmd::new(PROGRAM)
        .arg("--version")
        .local_query()
        .timeout(super::network_timeout())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Effect;
    use std::path::PathBuf;

    #[test]
    fn a_render_is_2i2cs_command_line() {
        let r = Render {
            file: PathBuf::from("/repo/helm-charts/daskhub/values.jsonnet"),
            jpath: vec![PathBuf::from("/repo/helm-charts/daskhub")],
            ext_str: vec![
                ("VARS_2I2C_CLUSTER_NAME".into(), "eks".into()),
                ("VARS_2I2C_HUB_NAME".into(), "staging".into()),
                ("VARS_2I2C_HUB_DOMAIN".into(), "s.example.org".into()),
                ("VARS_2I2C_PROVIDER".into(), "aws".into()),
                ("VARS_2I2C_ACCOUNT_ID".into(), "790657130469".into()),
            ],
        };
        let c = render(&r, "/tmp/private/x.json");
        assert_eq!(
            c.argv_clear(),
            [
                "--jpath",
                "/repo/helm-charts/daskhub",
                "--ext-str",
                "VARS_2I2C_CLUSTER_NAME=eks",
                "--ext-str",
                "VARS_2I2C_HUB_NAME=staging",
                "--ext-str",
                "VARS_2I2C_HUB_DOMAIN=s.example.org",
                "--ext-str",
                "VARS_2I2C_PROVIDER=aws",
                "--ext-str",
                "VARS_2I2C_ACCOUNT_ID=790657130469",
                "/repo/helm-charts/daskhub/values.jsonnet",
                "--output-file",
                "/tmp/private/x.json",
                "--max-trace",
                "12",
            ]
        );
        assert_eq!(c.program, "jsonnet");
        assert!(
            c.line()
                .ends_with("values.jsonnet --output-file <rendered-values.json> --max-trace 12")
        );
        assert_eq!(c.effect, Effect::LocalQuery);
        assert!(c.private_output);
        assert_eq!(c.timeout, Some(render_timeout()));
    }

    #[test]
    fn the_version_is_a_local_query() {
        let c = version();
        assert_eq!(c.line(), "jsonnet --version");
        assert_eq!(c.effect, Effect::LocalQuery);
    }
}
