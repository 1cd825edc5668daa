//! The harness itself: what it does not simulate fails loudly, and GitHub's file commands are
//! read as GitHub reads them.

use super::steps::parse_file_commands;
use super::world::World;
use crate::common::Fixture;

/// A push run of a one-job workflow made of `steps` (YAML, indented as a job's steps).
fn run_steps(steps: &str) -> super::runner::Run {
    let mut w = World::copied(Fixture::multi(), "multi-cluster");
    let wf = format!(
        "name: t\non:\n  push:\n    branches: [main]\npermissions: {{}}\njobs:\n  t:\n    runs-on: ubuntu-22.04\n    timeout-minutes: 5\n    steps:\n{steps}"
    );
    w.commit(&[(".github/workflows/t.yaml", &wf)], "a test workflow");
    let e = w.push_main();
    w.run("t.yaml", &e)
}

#[test]
#[should_panic(expected = "unsupported function hashfiles()")]
fn an_unsupported_expression_fails_the_test() {
    run_steps("      - run: echo \"$X\"\n        env:\n          X: ${{ hashFiles('x') }}\n");
}

#[test]
#[should_panic(expected = "`uses: actions/setup-node@")]
fn an_unsimulated_action_fails_the_test() {
    run_steps(
        "      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0\n",
    );
}

#[test]
fn steps_see_outputs_env_path_and_the_event() {
    let run = run_steps(concat!(
        "      - id: a\n",
        "        run: |\n",
        "          echo \"one=1\" >>\"$GITHUB_OUTPUT\"\n",
        "          printf 'many<<EOF\\nx\\ny\\nEOF\\n' >>\"$GITHUB_OUTPUT\"\n",
        "          echo \"FROM_ENV=yes\" >>\"$GITHUB_ENV\"\n",
        "          mkdir -p \"$RUNNER_TEMP/more\" && echo \"$RUNNER_TEMP/more\" >>\"$GITHUB_PATH\"\n",
        "      - env:\n",
        "          ONE: ${{ steps.a.outputs.one }}\n",
        "          MANY: ${{ steps.a.outputs.many }}\n",
        "        run: |\n",
        "          test \"$ONE\" = 1 && test \"$MANY\" = $'x\\ny' && test \"$FROM_ENV\" = yes\n",
        "          case :$PATH: in *\"$RUNNER_TEMP/more\"*) ;; *) exit 1 ;; esac\n",
        "          test \"$(jq -r .after \"$GITHUB_EVENT_PATH\")\" = \"$GITHUB_SHA\"\n",
        "          ! command -v deploy\n",
        "      - run: exit 3\n",
        "      - if: failure()\n",
        "        run: echo after the failure\n",
        "      - run: echo never\n",
    ));
    run.assert("failure");
    let outcomes: Vec<&str> = run.job("t").legs[0]
        .steps
        .iter()
        .map(|s| s.outcome)
        .collect();
    assert_eq!(
        outcomes,
        ["success", "success", "failure", "success", "skipped"],
        "{}",
        run.log()
    );
}

#[test]
fn file_commands_are_read_as_github_reads_them() {
    assert_eq!(
        parse_file_commands("a=1\nb<<X\nl1\nl2\nX\nc=x<<y\n"),
        [("a", "1"), ("b", "l1\nl2"), ("c", "x<<y")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
}
