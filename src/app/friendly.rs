//! Help for the person at the keyboard: what a mistyped chart or subcommand probably meant.

/// The subcommands (from the command line's own definition), for suggestions when a word given
/// as a legacy chart name is one of them mistyped.
pub fn subcommands() -> Vec<String> {
    <crate::cli::Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

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
    let subcommands = subcommands();
    let all = charts
        .iter()
        .copied()
        .chain(subcommands.iter().map(String::as_str));
    match closest(word, all) {
        Some(s) if subcommands.iter().any(|c| c == s) && !charts.contains(&s) => {
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
}
