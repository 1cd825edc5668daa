//! `deploy diff`'s output: text for a terminal, JSON, and the Markdown a pull request comment
//! carries (`plan --diff`), kept under GitHub's comment limit.

use std::fmt::Write as _;

use crate::execute::diff::Report;
use crate::plan::diff::{Outcome, ReleaseDiff};

/// GitHub refuses a comment longer than this (characters; counted here in bytes, which are
/// never fewer).
pub const COMMENT_LIMIT: usize = 65_536;

/// What `plan --diff` lets the comment body take: under [`COMMENT_LIMIT`] with room for the
/// marker the comment workflow adds, and at its own safety cut (60,000 bytes).
pub const COMMENT_BUDGET: usize = 60_000;

/// Past this many bytes, the releases whose render did not change are counted, not named.
const UNCHANGED_LIST_MAX: usize = 4_000;

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
        let list = unchanged.join(", ");
        let list = if list.len() > UNCHANGED_LIST_MAX {
            format!("{} releases", unchanged.len())
        } else {
            list
        };
        let _ = writeln!(out, "No change in the rendered manifests: {list}.\n");
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
        // the last one needs no room for the closing note
        let after = if i + 1 == changed.len() { 0 } else { reserve };
        if out.len() + whole.len() + after <= budget {
            out.push_str(&whole);
            continue;
        }
        // as much of this one as fits, cut at a line; the later ones by summary only
        let lines = body.lines().count();
        let overhead = details(d, "", Some(lines)).len();
        let room = budget.saturating_sub(out.len() + reserve + overhead);
        let mut shown = String::new();
        for line in body.split_inclusive('\n') {
            if shown.len() + line.len() > room {
                break;
            }
            shown.push_str(line);
        }
        next = i;
        if !shown.is_empty() {
            out.push_str(&details(d, &shown, Some(lines - shown.lines().count())));
            cut = 1;
            next = i + 1;
        }
        break;
    }
    let listed = &changed[next..];
    let mut omitted = 0;
    for (k, d) in listed.iter().enumerate() {
        let line = format!("- `{}`: {} (diff not shown)\n", d.label(), d.summary());
        if out.len() + line.len() + footer.len() + 80 > budget {
            omitted = listed.len() - k;
            break;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::diff::{Change, ObjectChange, Presence};
    use crate::plan::jobs::Kind;
    use crate::plan::objects::ObjectKey;

    fn release(name: &str, lines: usize) -> ReleaseDiff {
        let diff: String =
            std::iter::once("--- base/ConfigMap/c\n+++ head/ConfigMap/c\n".to_string())
                .chain((0..lines).map(|i| format!("+  line {i}: {}\n", "x".repeat(40))))
                .collect();
        ReleaseDiff {
            kind: Kind::Prod,
            cluster: "alpha".into(),
            release: name.into(),
            presence: Presence::Both,
            chart: None,
            notes: vec![],
            outcome: if lines == 0 {
                Outcome::Unchanged
            } else {
                Outcome::Changed {
                    objects: vec![ObjectChange {
                        change: Change::Changed,
                        key: ObjectKey {
                            api_version: "v1".into(),
                            kind: "ConfigMap".into(),
                            namespace: String::new(),
                            name: "c".into(),
                        },
                        diff,
                    }],
                }
            },
        }
    }

    fn report(releases: Vec<ReleaseDiff>) -> Report {
        Report {
            base: "base main".into(),
            head: "head pr".into(),
            releases,
            renders: 0,
        }
    }

    #[test]
    fn everything_fits_exactly_at_the_limit_and_one_byte_less_cuts() {
        let r = report(vec![release("a", 40), release("b", 0), release("c", 200)]);
        let full = markdown(&r, usize::MAX, "FULL");
        assert!(!full.contains("not shown"), "{full}");
        assert_eq!(markdown(&r, full.len(), "FULL"), full);
        let cut = markdown(&r, full.len() - 1, "FULL");
        assert!(cut.len() < full.len(), "{}", cut.len());
        assert!(cut.contains("more line(s) of this release's diff not shown"));
        assert!(cut.ends_with("characters). FULL\n"), "{cut}");
        assert!(cut.contains("**1 of 2 release diff(s) cut or not shown**"));
    }

    #[test]
    fn a_huge_diff_stays_under_githubs_limit_with_counts_and_the_pointer() {
        let releases: Vec<ReleaseDiff> =
            (0..40).map(|i| release(&format!("hub{i}"), 3000)).collect();
        let r = report(releases);
        let md = markdown(&r, COMMENT_BUDGET, "See the artifact.");
        assert!(md.len() <= COMMENT_BUDGET && COMMENT_BUDGET < COMMENT_LIMIT);
        assert!(md.contains("<code>alpha/hub0</code>"));
        assert!(md.contains("- `alpha/hub1`: 1 changed (diff not shown)"));
        assert!(md.contains("cut or not shown**"));
        assert!(md.ends_with("See the artifact.\n"));
        // a budget too small for any diff: summaries and counts only, still within it
        let small = markdown(&r, 2_000, "X");
        assert!(small.len() <= 2_000, "{}", small.len());
        assert!(small.contains("- … and "), "{small}");
        assert!(small.contains("**40 of 40"), "{small}");
    }

    #[test]
    fn a_fence_is_longer_than_any_backticks_in_the_diff() {
        assert_eq!(fence("a ``` b"), "````");
        assert_eq!(fence("plain"), "```");
    }
}
