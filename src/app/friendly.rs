//! Help for the person at the keyboard: what a mistyped chart or subcommand probably meant.

/// The subcommands, for suggestions when a word given as a legacy chart name is one of them
/// mistyped.
pub const SUBCOMMANDS: [&str; 9] = [
    "plan",
    "run",
    "upgrade-support",
    "upgrade-hub",
    "filter-prod",
    "validate",
    "gitops",
    "doctor",
    "completions",
];

/// The candidate closest to `word`, when it is close enough to be a typo of it.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, c)| *score >= 0.85 && *c != word)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// ` Did you mean …?` for a word that is no chart: the closest chart or subcommand.
pub fn did_you_mean(word: &str, charts: &[&str]) -> String {
    let all = charts.iter().copied().chain(SUBCOMMANDS);
    match closest(word, all) {
        Some(s) if SUBCOMMANDS.contains(&s) && !charts.contains(&s) => {
            format!(" Did you mean the subcommand `deploy {s}`?")
        }
        Some(c) => format!(" Did you mean the chart `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_what_was_meant_and_nothing_else() {
        let charts = ["staginghub", "ea-hub", "nbgrader-hub", "monitoring"];
        assert_eq!(
            did_you_mean("staginhub", &charts),
            " Did you mean the chart `staginghub`?"
        );
        assert_eq!(
            did_you_mean("pln", &charts),
            " Did you mean the subcommand `deploy plan`?"
        );
        assert_eq!(
            did_you_mean("upgrade-hubs", &charts),
            " Did you mean the subcommand `deploy upgrade-hub`?"
        );
        assert_eq!(did_you_mean("zzzz", &charts), "");
        assert_eq!(
            did_you_mean("docter", &charts),
            " Did you mean the subcommand `deploy doctor`?"
        );
    }

    #[test]
    fn every_subcommand_is_suggested() {
        use clap::CommandFactory;
        let mut names: Vec<String> = crate::cli::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .filter(|n| n != "help")
            .collect();
        let mut ours: Vec<String> = SUBCOMMANDS.iter().map(|s| s.to_string()).collect();
        names.sort();
        ours.sort();
        assert_eq!(ours, names);
    }
}
