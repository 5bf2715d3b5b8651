"""Bad input and bad configuration: one line, non-zero exit, never a traceback."""

import pytest
from conftest import simulate


@pytest.mark.parametrize(
    "args, message",
    [
        (["--events", "-5"], "--events: must be >= 0"),
        (["--rate", "fast"], "--rate: invalid non_negative_float value"),
        (["--target", "postgres"], "--target: invalid choice"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(args, message, tmp_path):
    result = simulate(*args, "--home", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_snowflake_settings_name_what_is_missing(tmp_path):
    result = simulate(
        "--target",
        "snowflake",
        "--events",
        "1",
        "--home",
        str(tmp_path),
        SNOWFLAKE_ACCOUNT="",
        SNOWFLAKE_USER="someone",
        SNOWFLAKE_PASSWORD="",
        SNOWFLAKE_PRIVATE_KEY_PATH="",
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: missing Snowflake setting(s): SNOWFLAKE_ACCOUNT, "
        "SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH (see profiles.example.yml)"
    )


def test_unusable_home_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = simulate("--events", "1", "--home", str(blocker / "home"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot use ")
    assert "Traceback" not in result.stderr
