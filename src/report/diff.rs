//! `deploy diff`'s output: text for a terminal, JSON, and the Markdown a pull request comment
//! carries (`plan --diff`), kept under GitHub's comment limit.

use std::fmt::Write as _;

use crate::execute::diff::Report;
use crate::plan::diff::{Outcome, ReleaseDiff};

/// GitHub refuses a comment longer than this (characters; counted here in bytes, which are
/// never fewer).
pub const COMMENT_LIMIT: usize = 65_536;

fn headline(r: &Report) -> String {
    let changed = r.releases.iter().filter(|d| d.changed()).count() - r.failed();
    let unchanged = r.releases.len() - changed - r.failed();
    let mut s = format!(
        "{} → {}: {} release(s), {changed} changed, {unchanged} unchanged",
        r.base,
        r.head,
        r.releases.len()
    );
    if r.failed() > 0 {
        let _ = write!(s, ", {} failed to render", r.failed());
    }
    s
}

/// The text output: a headline, then each release's summary and diff.
pub fn text(r: &Report) -> String {
    let mut out = format!("{} ({} helm template renders)\n", headline(r), r.renders);
    for d in &r.releases {
        let _ = writeln!(out, "\n=== {}: {}", d.label(), d.summary());
        for n in &d.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out.push_str(&d.text());
    }
    out
}

/// A fence longer than any run of backticks in `body`.
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn details(d: &ReleaseDiff, body: &str, cut: Option<usize>) -> String {
    let lang = if matches!(d.outcome, Outcome::Failed { .. }) {
        "text"
    } else {
        "diff"
    };
    let f = fence(body);
    let mut s = format!(
        "<details><summary><code>{}</code>: {}</summary>\n\n",
        d.label(),
        html(&d.summary())
    );
    for n in &d.notes {
        let _ = writeln!(s, "> {}\n", n.replace('\n', " "));
    }
    let _ = write!(s, "{f}{lang}\n{body}");
    if !body.ends_with('\n') {
        s.push('\n');
    }
    let _ = writeln!(s, "{f}");
    if let Some(more) = cut {
        let _ = writeln!(
            s,
            "\n*… {more} more line(s) of this release's diff not shown.*"
        );
    }
    s.push_str("\n</details>\n\n");
    s
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Markdown section: a headline, each changed release in a collapsed `<details>` with its
/// diff, the unchanged ones in one line. At most `budget` bytes: past it, a release's diff is cut
/// at a line and the rest are listed by summary only, with counts and `full` (where the whole
/// diff is) said at the end.
pub fn markdown(r: &Report, budget: usize, full: &str) -> String {
    let mut out = format!("### Rendered changes\n\n{}.\n\n", headline(r));
    let unchanged: Vec<String> = r
        .releases
        .iter()
        .filter(|d| !d.changed())
        .map(|d| format!("`{}`", d.label()))
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(
            out,
            "No change in the rendered manifests: {}.\n",
            unchanged.join(", ")
        );
    }
    // what the closing note and a cut release's extra lines may take
    let footer = format!(
        "**{{n}} of {{m}} release diff(s) cut or not shown** (a comment holds at most \
         {COMMENT_LIMIT} characters). {full}\n"
    );
    let reserve = footer.len() + 600;
    let changed: Vec<&ReleaseDiff> = r.releases.iter().filter(|d| d.changed()).collect();
    let mut cut = 0;
    let mut next = changed.len();
    for (i, d) in changed.iter().enumerate() {
        let body = d.text();
        let whole = details(d, &body, None);
        if out.len() + whole.len() + reserve <= budget {
            out.push_str(&whole);
            continue;
        }
        // as much of this one as fits, cut at a line; the later ones by summary only
        let room = budget.saturating_sub(out.len() + reserve + 400);
        let mut shown = String::new();
        for line in body.split_inclusive('\n') {
            if shown.len() + line.len() > room {
                break;
            }
            shown.push_str(line);
        }
        next = i;
        if !shown.is_empty() {
            let more = body.lines().count() - shown.lines().count();
            out.push_str(&details(d, &shown, Some(more)));
            cut = 1;
            next = i + 1;
        }
        break;
    }
    let listed = &changed[next..];
    let mut omitted = 0;
    for d in listed {
        let line = format!("- `{}`: {} (diff not shown)\n", d.label(), d.summary());
        if out.len() + line.len() + footer.len() + 80 > budget {
            omitted += 1;
            continue;
        }
        out.push_str(&line);
    }
    if omitted > 0 {
        let _ = writeln!(out, "- … and {omitted} more release(s)");
    }
    let n = cut + listed.len();
    if n > 0 {
        out.push('\n');
        out.push_str(
            &footer
                .replace("{n}", &n.to_string())
                .replace("{m}", &changed.len().to_string()),
        );
    }
    out
}
