"""Live rule loading (bot/app/rules.py): the file seeds an empty table, the table is the live set."""
from pathlib import Path

import pytest

from bot.app.rules import load_live_rules, rules_reloader
from bot.models import RuleDef
from bot.pipeline import Pipeline
from bot.rules import RuleSyntaxError
from bot.settings import load_settings
from bot.storage.rules import load_rule_defs, upsert_rule

RULES = '[[rule]]\nid = "mob"\ntitle = "Mobilization"\nquery = "военкомат OR повестка"\n'


def settings_with(tmp_path: Path, rules: str):
    path = tmp_path / "rules.toml"
    path.write_text(rules, encoding="utf-8")
    return load_settings(env={"DOZOR_DATA_DIR": str(tmp_path), "DOZOR_RULES": str(path)},
                         env_file=None, config_file=None)


async def test_the_rule_file_seeds_an_empty_table_once(tmp_path, store):
    ruleset = await load_live_rules(store, settings_with(tmp_path, RULES))
    assert [d.id for d in ruleset.defs] == ["mob"]
    other = settings_with(tmp_path, RULES.replace('"mob"', '"other"'))
    assert [d.id for d in (await load_live_rules(store, other)).defs] == ["mob"]  # the table is the live set


async def test_a_broken_rule_file_stops_before_the_database_pointing_into_the_file(tmp_path, store):
    settings = settings_with(tmp_path, RULES.replace("военкомат OR", "(военкомат OR"))
    with pytest.raises(RuleSyntaxError, match=r"rule 'mob', .*rules.toml line 4, column"):
        await load_live_rules(store, settings)
    assert await load_rule_defs(store) == []


async def test_rules_that_fail_to_compile_keep_the_live_set(tmp_path, store):
    pipeline = Pipeline(store, await load_live_rules(store, settings_with(tmp_path, RULES)))
    before = pipeline.rules
    broken = RuleDef(id="mob", title="Mobilization", query="(военкомат OR")  # the one rule, broken
    await store.write(lambda c: upsert_rule(c, broken, "test"))
    await rules_reloader(store, pipeline)()
    assert pipeline.rules is before


async def test_a_changed_rule_is_picked_up_by_the_running_pipeline(tmp_path, store):
    pipeline = Pipeline(store, await load_live_rules(store, settings_with(tmp_path, RULES)))
    await store.write(lambda c: upsert_rule(c, RuleDef(id="new", query="дезертир"), "test"))
    await rules_reloader(store, pipeline)()
    assert sorted(d.id for d in pipeline.rules.defs) == ["mob", "new"]


async def test_every_rule_change_bumps_the_rules_version(store):
    from bot.storage.rules import delete_rule, rules_version
    assert await rules_version(store) == 0
    await store.write(lambda c: upsert_rule(c, RuleDef(id="a", query="x"), "test"))
    await store.write(lambda c: upsert_rule(c, RuleDef(id="a", query="y"), "test"))
    await store.write(lambda c: delete_rule(c, "a", "test"))
    assert await rules_version(store) == 3


async def test_a_rule_saved_by_another_process_is_reloaded(tmp_path):
    """The watcher of one connection sees a change written through another (the console, `dozor rules import`)."""
    from bot.app.rules import RulesWatcher
    from bot.storage import Store
    running = await Store.open(tmp_path / "dozor.db")
    other = await Store.open(tmp_path / "dozor.db")
    try:
        pipeline = Pipeline(running, await load_live_rules(running, settings_with(tmp_path, RULES)))
        watcher = RulesWatcher(running, pipeline)
        await watcher.prime()
        assert not await watcher.check_once()
        await other.write(lambda c: upsert_rule(c, RuleDef(id="desertion", query="дезертир*"), "web:7"))
        assert await watcher.check_once()
        assert [d.id for d in pipeline.rules.defs] == ["desertion", "mob"]
        assert not await watcher.check_once()
    finally:
        await other.close()
        await running.close()


async def test_the_watcher_polls_until_stopped(tmp_path, store):
    import asyncio
    from bot.app.rules import RulesWatcher
    pipeline = Pipeline(store, await load_live_rules(store, settings_with(tmp_path, RULES)))
    watcher = RulesWatcher(store, pipeline, every=0.01)
    await watcher.prime()
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    await store.write(lambda c: upsert_rule(c, RuleDef(id="new", query="дезертир*"), "test"))
    for _ in range(200):
        if "new" in [d.id for d in pipeline.rules.defs]:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert "new" in [d.id for d in pipeline.rules.defs]
