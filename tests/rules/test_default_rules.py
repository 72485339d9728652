"""The shipped config/rules.toml: valid, scores on the dev set, matches the seed."""
import json
from pathlib import Path

import pytest

from bot.rules import compile_rules, load_rule_file
from tests.factories import shared_file as shared_path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules.toml"


@pytest.fixture(scope="module")
def default_rules():
    return compile_rules(load_rule_file(RULES))


def labels(ruleset, text):
    return {x for m in ruleset.match_text(text) for x in (m.rule_id, *m.tags)}


def test_default_rules_have_both_topics(default_rules):
    assert {"mobilization", "refusals"} <= {d.id for d in default_rules.defs}


def test_seed_article_matches_both_topics(default_rules):
    [seed] = sorted(shared_path("seeds").glob("*.txt"))
    assert {"mobilization", "refusals"} <= labels(default_rules, seed.read_text(encoding="utf-8"))


def f1(gold, pred):
    tp = len(gold & pred)
    return 2 * tp / (len(gold) + len(pred)) if gold or pred else 1.0


def test_dev_set_f1_is_at_least_090_for_relevance_and_each_topic(default_rules):
    rows = [json.loads(x) for x in shared_path("eval", "dev.jsonl").read_text(encoding="utf-8").splitlines() if x]
    predicted = {r["id"]: labels(default_rules, r["text"]) for r in rows}
    relevant = f1({r["id"] for r in rows if r["topics"]}, {i for i, p in predicted.items() if p})
    assert relevant >= 0.9
    for topic in ("mobilization", "refusals"):
        gold = {r["id"] for r in rows if topic in r["topics"]}
        assert f1(gold, {i for i, p in predicted.items() if topic in p}) >= 0.9, topic


@pytest.mark.parametrize("text", [
    "Глава района отказался от комментариев.",
    "Губернатор призвал жителей не выходить на лёд.",
    "В повестке дня — бюджет города.",
    "Мобильная связь в центре работает с перебоями.",
    "Покупатель отказался от заказа и кредита.",
])
def test_ordinary_news_sharing_the_words_raises_nothing(default_rules, text):
    assert default_rules.match_text(text) == []


@pytest.mark.parametrize("text,topic", [
    ("Мужчинам в Пскове начали вручать повестки прямо у метро.", "mobilization"),
    ("Военнослужащие отказались возвращаться на передовую.", "refusals"),
    ("Суд приговорил контрактника за СОЧ к пяти годам.", "refusals"),
    ("ТЦК затримали чоловіка на вулиці й вручили повістку.", "mobilization"),
    ("Soldiers refused to deploy to the front line.", "refusals"),
    ("Reservists received draft notices this week.", "mobilization"),
])
def test_typical_posts_match_their_topic(default_rules, text, topic):
    assert topic in labels(default_rules, text)


# Sentences written for these tests, not taken from the dev set (a small held-out check).
@pytest.mark.parametrize("text,topic", [
    ("В Петербурге начали раздавать повестки в метро", "mobilization"),
    ("Минобороны: осенний призыв продлится до 31 декабря", "mobilization"),
    ("Призывникам запретят выезд за границу", "mobilization"),
    ("Мужчин ловят на улицах и везут в военкомат", "mobilization"),
    ("Putin signs decree on autumn conscription of 133,000 men", "mobilization"),
    ("Russia announces partial mobilization", "mobilization"),
    ("Ukraine lowers mobilisation age to 25", "mobilization"),
    ("ТЦК затримали чоловіка біля супермаркету", "mobilization"),
    ("Повістки вручатимуть на блокпостах", "mobilization"),
    ("Мобилизация 2.0: власти готовят новую волну", "mobilization"),
    ("ВОЕНКОМАТ вызывает всех мужчин", "mobilization"),
    ("Срочников отправили охранять границу в Курской области", "mobilization"),
    ("Мобилизованных из Курской области не отпускают домой", "mobilization"),
    ("Reservists called up for military training", "mobilization"),
    ("В Україні посилили відповідальність за ухилення від мобілізації", "mobilization"),
    ("Повестку принесли прямо домой — что делать?", "mobilization"),
    ("Жёны мобилизованных вышли на протест у здания администрации", "mobilization"),
    ("Протесты против мобилизации прошли в Дагестане", "mobilization"),
    ("Мобилизация в Вооружённые силы продолжается, заявили в Минобороны", "mobilization"),
    ("Мобилизованные из Курской области отказываются воевать", "refusals"),
    ("Десантники отказались ехать на Украину", "refusals"),
    ("Рядовой получил 5 лет за СОЧ", "refusals"),
    ("Суд в Пскове приговорил военного за самовольное оставление части", "refusals"),
    ("Дезертира задержали в Ростове", "refusals"),
    ("Военный сбежал из части с автоматом", "refusals"),
    ("Отказников держат в подвалах под Луганском", "refusals"),
    ("Солдаты написали рапорты об отказе участвовать в СВО", "refusals"),
    ("Бойцы отказались выполнять боевую задачу", "refusals"),
    ("Soldiers who refuse to fight face prison terms", "refusals"),
    ("A Russian soldier deserted and fled to Kazakhstan", "refusals"),
    ("Two marines went AWOL from their base", "refusals"),
    ("Військові самовільно залишили позиції під Покровськом", "refusals"),
    ("Кількість справ про СЗЧ зросла вдвічі", "refusals"),
    ("Мобілізовані відмовилися виконувати наказ командира", "refusals"),
    ("#СОЧ #отказники новые приговоры", "refusals"),
])
def test_written_posts_match_their_topic(default_rules, text, topic):
    assert topic in labels(default_rules, text)


@pytest.mark.parametrize("text", [
    "Футболист отказался от участия в сборах сборной",
    "Городские службы мобилизованы на ликвидацию последствий урагана",
    "Мобилизовать все силы на уборку урожая",
    "Мы мобилизовали все наши силы на международной арене",
    "Президент призвал к мобилизации экономики",
    "Теннисист отказался выйти на корт",
    "Банк отказал в кредите пенсионеру",
    "Водитель отказался от медосвидетельствования",
    "Компания мобилизовала все ресурсы на стройку",
    "Мобилизация сторонников перед выборами прошла успешно",
    "Отдых в Сочи подорожал",
    "Губернатор призвал к миру и согласию",
    "NBA draft: top rookies announced",
    "Volunteers mobilized to help flood victims",
    "The army refused to comment on the report",
    "Ukraine refuses to hold elections during war",
    "Hungary refuses to send weapons to Ukraine",
    "Israel refuses to withdraw troops from the border",
    "Депутат отказался голосовать за выплаты участникам СВО",
    "The draft resolution on the war was rejected",
    "Domestic resource mobilization is key for Africa",
    "Мобильный оператор повысил тарифы",
    "Повестка дня саммита: климат и торговля",
    "Кандидат снялся с выборов, отказавшись от борьбы",
    "Министр отказался от поездки на форум",
    "Суд отказал в иске военному пенсионеру",
    "Restaurant refused to serve the customer",
    "Player called up to the national squad",
])
def test_written_traps_raise_nothing(default_rules, text):
    assert default_rules.match_text(text) == []
