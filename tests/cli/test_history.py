"""`dozor backtest` against a real database."""
from bot.__main__ import main


def test_backtest_cli_prints_the_figures(cli_env, capsys):
    assert main(["rules", "import", "rules.toml"]) == 0
    assert main(["backtest", "mobilization", "--days", "7"]) == 0
    assert "Backtest of rule mobilization: 0 posts in the last 7 days" in capsys.readouterr().out
