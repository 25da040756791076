"""`learnapp quiz` input checks."""

from learnapp.cli import build_parser
from learnapp.srs import NEW_PER_DAY


def test_unknown_topic_is_one_line_and_nothing_starts(run_cli):
    result = run_cli("quiz", "--topic", "style-transfer")
    assert result.returncode == 2
    assert result.stderr.startswith("learnapp: error: unknown topic style-transfer (known: ")
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_negative_new_card_limit_is_refused(run_cli):
    result = run_cli("quiz", "--new", "-1")
    assert (result.returncode, result.stderr.strip()) == (2, "learnapp: error: --new must be 0 or more, not -1")


def test_help_states_the_real_daily_limit():
    quiz = build_parser()._subparsers._group_actions[0].choices["quiz"]
    assert f"default: {NEW_PER_DAY}," in quiz.format_help()
