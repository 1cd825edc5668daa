//! Reference docs generated from the code, so they cannot drift: the command line from clap,
//! cluster.yaml and deploy.yaml from the shipped schemas. `tests/docs.rs` checks the files in
//! `docs/reference/` are current (`DEPLOY_UPDATE_DOCS=1 cargo test --test docs` rewrites them).

use std::fmt::Write as _;

use clap::CommandFactory;
use serde_json::Value;

fn args_table(out: &mut String, cmd: &clap::Command) {
    let args: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| !a.is_hide_set()).collect();
    if args.is_empty() {
        return;
    }
    out.push_str("| argument | meaning |\n|---|---|\n");
    for a in args {
        let value = a
            .get_value_names()
            .map(|v| v.iter().map(|n| format!(" <{n}>")).collect::<String>())
            .unwrap_or_default();
        let takes_value = a.get_num_args().is_some_and(|n| n.takes_values());
        let name = match (a.get_short(), a.get_long()) {
            (Some(s), Some(l)) => {
                format!("`-{s}`, `--{l}{}`", if takes_value { &value } else { "" })
            }
            (None, Some(l)) => format!("`--{l}{}`", if takes_value { &value } else { "" }),
            (Some(s), None) => format!("`-{s}{value}`"),
            (None, None) => format!("`{}`", value.trim().replace(['<', '>'], "")),
        };
        let mut help = a
            .get_help()
            .map(|h| h.to_string())
            .unwrap_or_default()
            .replace('\n', " ");
        let defaults: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() && takes_value {
            let _ = write!(help, " (default: `{}`)", defaults.join(","));
        }
        let choices: Vec<String> = a
            .get_possible_values()
            .iter()
            .filter(|p| !p.is_hide_set())
            .map(|p| format!("`{}`", p.get_name()))
            .collect();
        if !choices.is_empty() && a.get_action().takes_values() {
            let _ = write!(help, " (one of {})", choices.join(", "));
        }
        let _ = writeln!(out, "| {name} | {} |", help.replace('|', "\\|"));
    }
    out.push('\n');
}

/// `docs/reference/cli.md`: every command and flag, from the clap definitions.
pub fn cli_markdown() -> String {
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let mut out = String::from(
        "<!-- generated from src/cli.rs by src/docgen.rs; do not edit (tests/docs.rs checks it) -->\n# Command-line reference\n\n",
    );
    // the package version only: the commit `deploy --version` also names changes with every
    // commit, and this file would never be current
    let _ = writeln!(out, "`deploy` {}\n", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        out,
        "{}\n",
        cmd.get_long_about()
            .or(cmd.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    out.push_str("## deploy <chart> (the legacy form)\n\n");
    args_table(&mut out, &cmd);
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let _ = writeln!(out, "## deploy {}\n", sub.get_name());
        let _ = writeln!(
            out,
            "{}\n",
            sub.get_long_about()
                .or(sub.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default()
                .replace('\n', " ")
        );
        args_table(&mut out, sub);
    }
    out
}

fn schema_rows(out: &mut String, prefix: &str, schema: &Value, required: &[&str]) {
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    for (key, s) in props {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let mut ty = s["type"].as_str().map(String::from).unwrap_or_default();
        if let Some(e) = s["enum"].as_array() {
            ty = e
                .iter()
                .filter_map(Value::as_str)
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(" \\| ");
        }
        let req = if required.contains(&key.as_str()) {
            "yes"
        } else {
            ""
        };
        let desc = s["description"]
            .as_str()
            .unwrap_or("")
            .replace('\n', " ")
            .trim()
            .to_string();
        let _ = writeln!(
            out,
            "| `{path}` | {ty} | {req} | {} |",
            desc.replace('|', "\\|")
        );
        let req_of = |v: &Value| -> Vec<String> {
            v["required"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        if s["type"] == "object" {
            let r = req_of(s);
            schema_rows(
                out,
                &path,
                s,
                &r.iter().map(String::as_str).collect::<Vec<_>>(),
            );
        }
        if s["type"] == "array" && s["items"]["type"] == "object" {
            let r = req_of(&s["items"]);
            schema_rows(
                out,
                &format!("{path}[]"),
                &s["items"],
                &r.iter().map(String::as_str).collect::<Vec<_>>(),
            );
        }
    }
}

/// A Markdown reference of a shipped schema.
pub fn schema_markdown(title: &str, file: &str, text: &str) -> String {
    let schema: Value = serde_yaml::from_str(text).unwrap_or_default();
    let mut out = format!(
        "<!-- generated from {file} by src/docgen.rs; do not edit (tests/docs.rs checks it) -->\n# {title}\n\n\
         Every key, from [`{file}`](../../{file}). Unknown keys are errors.\n\n\
         | key | type | required | meaning |\n|---|---|---|---|\n"
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema_rows(&mut out, "", &schema, &required);
    out
}
