import re
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import SETTINGS, load_settings

REPO = Path(__file__).resolve().parents[1]


def names_in(path: Path) -> set[str]:
    return set(re.findall(r"\b(?:DOZOR|TG)_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("document", [".env.example", "README.md"])
def test_every_setting_is_documented(document):
    missing = [s.name for s in SETTINGS if s.name not in names_in(REPO / document)]
    assert missing == [], f"{document} misses {missing}"


def test_every_non_secret_setting_is_in_the_example_config():
    text = (REPO / "config" / "dozor.toml").read_text(encoding="utf-8")
    missing = [s.key for s in SETTINGS if not s.secret and f"# {s.key} = " not in text]
    assert missing == []


def test_example_config_loads_as_all_defaults():
    settings = load_settings(env={}, env_file=None, config_file=REPO / "config" / "dozor.toml")
    assert all(getattr(settings, s.key) == s.default for s in SETTINGS)


def test_malformed_value_names_the_setting():
    with pytest.raises(ConfigError, match="DOZOR_SWEEP_INTERVAL"):
        load_settings(env={"DOZOR_SWEEP_INTERVAL": "often"}, env_file=None, config_file=None)


def test_environment_beats_env_file_beats_config(tmp_path):
    (tmp_path / ".env").write_text("DOZOR_BACKFILL_LIMIT=20\nDOZOR_SWEEP_INTERVAL=60\n", encoding="utf-8")
    (tmp_path / "dozor.toml").write_text("backfill_limit = 10\nsweep_interval = 30\nmax_attempts = 3\n", encoding="utf-8")
    settings = load_settings(env={"DOZOR_BACKFILL_LIMIT": "40"}, env_file=tmp_path / ".env",
                             config_file=tmp_path / "dozor.toml")
    assert (settings.backfill_limit, settings.sweep_interval, settings.max_attempts) == (40, 60, 3)


def test_unknown_key_in_config_file_is_a_config_error(tmp_path):
    (tmp_path / "dozor.toml").write_text("sweep_intervall = 30\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sweep_intervall"):
        load_settings(env={}, env_file=None, config_file=tmp_path / "dozor.toml")


def test_credentials_switch_live_mode_on():
    settings = load_settings(env={"TG_API_ID": "123", "TG_API_HASH": "abc"}, env_file=None, config_file=None)
    assert settings.has_telegram and "abc" not in repr(settings)


@pytest.mark.parametrize("line", ['tg_api_hash = "0123456789abcdef"', 'tg_bot_token = "1:AAA"'])
def test_a_secret_in_the_tracked_config_file_is_refused_pointing_to_env(tmp_path, line):
    (tmp_path / "dozor.toml").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, env_file=None, config_file=tmp_path / "dozor.toml")
    message = str(info.value)
    assert ".env" in message and line.split(" = ")[0].upper() in message
    assert line.split(" = ")[1].strip('"') not in message  # the secret itself is not repeated


def test_every_secret_setting_is_refused_in_the_config_file(tmp_path):
    from bot.settings import SETTINGS as ALL

    for setting in [s for s in ALL if s.secret]:
        (tmp_path / "dozor.toml").write_text(f'{setting.key} = "x"\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=setting.name):
            load_settings(env={}, env_file=None, config_file=tmp_path / "dozor.toml")


@pytest.mark.parametrize("name, raw, expected", [
    ("DOZOR_DEDUP_THRESHOLD", "70", "from 0 to 1"),
    ("DOZOR_DEDUP_THRESHOLD", "-0.1", "from 0 to 1"),
    ("DOZOR_RATE_PER_CHAT", "-1", "more than 0"),
    ("DOZOR_RATE_PER_CHAT", "0", "more than 0"),
    ("DOZOR_LOG_LEVEL", "verbose", "one of DEBUG, INFO, WARNING, ERROR"),
    ("DOZOR_SWEEP_INTERVAL", "0", "from 5 to 86400"),
    ("DOZOR_MAX_ATTEMPTS", "0", "from 1 to 1000"),
    ("DOZOR_RATE_GLOBAL", "5000", "from 1 to 1000"),
    ("DOZOR_REGEX_BUDGET", "0", "more than 0"),
    ("DOZOR_BACKFILL_LIMIT", "-5", "from 0 to 10000"),
    ("DOZOR_INVITE_DAYS", "400", "1 to 365"),
    ("TG_API_ID", "-3", "at least 1"),
])
def test_a_value_out_of_range_is_refused_naming_the_setting_and_the_range(name, raw, expected):
    with pytest.raises(ConfigError) as info:
        load_settings(env={name: raw}, env_file=None, config_file=None)
    assert name in str(info.value) and expected in str(info.value)


@pytest.mark.parametrize("name, raw, value", [
    ("DOZOR_DEDUP_THRESHOLD", "1", 1.0), ("DOZOR_DEDUP_THRESHOLD", "0", 0.0),
    ("DOZOR_RATE_PER_CHAT", "0.5", 0.5), ("DOZOR_LOG_LEVEL", "warning", "WARNING"),
    ("DOZOR_LATE_AFTER", "0", 0),
])
def test_a_value_at_the_edge_of_its_range_is_accepted(name, raw, value):
    settings = load_settings(env={name: raw}, env_file=None, config_file=None)
    assert getattr(settings, name.lower().removeprefix("dozor_")) == value


def test_every_number_setting_has_a_range_and_every_default_lies_in_it():
    from bot.settings import _float, _int, check_range
    numbers = [s for s in SETTINGS if s.parse in (_int, _float)]
    assert numbers and all(s.low is not None for s in numbers), [s.name for s in numbers if s.low is None]
    for setting in SETTINGS:
        if setting.default is not None and (setting.low is not None or setting.choices):
            assert check_range(setting, setting.default) == setting.default
