from bot.models import RuleDef
from bot.storage.rules import delete_rule, get_rule, load_rule_defs, seed_rules_if_empty, upsert_rule


async def test_seed_fills_only_an_empty_table(store):
    rules = [RuleDef(id="a", query="мобилизация", tags=("mobilization",))]
    assert await seed_rules_if_empty(store, rules) == 1
    assert await seed_rules_if_empty(store, [RuleDef(id="b", query="x")]) == 0
    assert [r.id for r in await load_rule_defs(store)] == ["a"]
    assert (await get_rule(store, "a")).tags == ("mobilization",)


async def test_every_rule_change_is_audited(store):
    async def change(conn):
        await upsert_rule(conn, RuleDef(id="r", query="a"), actor="tg:42")
        await upsert_rule(conn, RuleDef(id="r", query="b"), actor="tg:42")
        await delete_rule(conn, "r", actor="cli")

    await store.write(change)
    rows = await store.fetchall("SELECT actor, action, before, after FROM audit_log ORDER BY id")
    assert [(r["actor"], r["action"]) for r in rows] == [("tg:42", "rule.add"), ("tg:42", "rule.edit"), ("cli", "rule.del")]
    assert '"query": "a"' in rows[1]["before"] and '"query": "b"' in rows[1]["after"]
    assert rows[2]["after"] is None
