"""The console's words in English and Russian, and which language a request gets.

`pick_language`: the `lang` cookie (set by the switch in the header), else the
first of Accept-Language's languages we have, else English. Templates call
`t('key')`; a key missing in Russian falls back to English.
"""
from __future__ import annotations

LANGUAGES = ("en", "ru")

WORDS: dict[str, tuple[str, str]] = {
    "alerts": ("Alerts", "Оповещения"),
    "search": ("Search", "Поиск"),
    "rules": ("Rules", "Правила"),
    "channels": ("Channels", "Каналы"),
    "digest": ("Digest", "Дайджест"),
    "people": ("People", "Люди"),
    "logout": ("Log out", "Выйти"),
    "login": ("Log in", "Войти"),
    "login_title": ("Log in to Dozor", "Вход в Дозор"),
    "login_help": ("Ask the bot for /console, or run `dozor web-login YOUR_ID`, and open the link it gives.",
                   "Отправьте боту /console или выполните `dozor web-login ВАШ_ID` и откройте ссылку."),
    "login_press": ("This one-time link logs you in once. Press the button to continue.",
                    "Эта одноразовая ссылка работает один раз. Нажмите кнопку, чтобы войти."),
    "login_failed": ("This link has expired or was already used. Ask for a new one.",
                     "Ссылка устарела или уже использована. Запросите новую."),
    "too_many": ("Too many attempts; wait a few minutes.", "Слишком много попыток; подождите несколько минут."),
    "forbidden": ("Your role does not allow this page.", "Ваша роль не даёт доступа к этой странице."),
    "session_ended": ("Your session has ended; log in again.", "Сессия закончилась; войдите снова."),
    "rule": ("Rule", "Правило"),
    "tag": ("Tag", "Метка"),
    "channel": ("Channel", "Канал"),
    "from": ("From", "С"),
    "to": ("To", "По"),
    "late": ("Late only", "Только запоздалые"),
    "any": ("any", "любое"),
    "filter": ("Filter", "Фильтр"),
    "live": ("live", "в прямом эфире"),
    "no_alerts": ("No alerts yet.", "Оповещений пока нет."),
    "more": ("More", "Ещё"),
    "open_post": ("open post", "открыть пост"),
    "also_in": ("also in", "также в"),
    "deleted": ("deleted by the channel", "удалён каналом"),
    "edited": ("edited", "изменён"),
    "earlier_text": ("earlier text", "прежний текст"),
    "relevant": ("relevant", "по делу"),
    "not_relevant": ("not relevant", "мимо"),
    "times_in": ("Times in", "Время:"),
    "query": ("Query", "Запрос"),
    "per_day": ("Per day", "По дням"),
    "no_results": ("Nothing found.", "Ничего не найдено."),
    "next_page": ("Next page", "Следующая страница"),
    "prev_page": ("Previous page", "Предыдущая страница"),
    "export": ("Export", "Выгрузить"),
    "page": ("page", "страница"),
    "stopped_after": ("The search stopped after its time budget; results may be incomplete.",
                      "Поиск остановлен по лимиту времени; результаты могут быть неполными."),
    "hits_14": ("Hits, 14 days", "Срабатывания, 14 дней"),
    "precision": ("Precision", "Точность"),
    "last_change": ("Last change", "Последнее изменение"),
    "new_rule": ("New rule", "Новое правило"),
    "edit": ("Edit", "Изменить"),
    "enabled": ("enabled", "включено"),
    "disabled": ("disabled", "выключено"),
    "title": ("Title", "Название"),
    "exclude": ("Exclude", "Исключить"),
    "tags": ("Tags (comma-separated)", "Метки (через запятую)"),
    "severity": ("Severity", "Важность"),
    "syntax_ok": ("Syntax is correct.", "Синтаксис верен."),
    "line": ("line", "строка"),
    "column": ("column", "столбец"),
    "test_text": ("Test on this text", "Проверить на тексте"),
    "test": ("Test", "Проверить"),
    "preview": ("Preview", "Предпросмотр"),
    "preview_help": ("What the rule would have matched among stored posts, against the saved version.",
                     "Что правило нашло бы среди сохранённых постов, в сравнении с сохранённой версией."),
    "draft": ("this draft", "черновик"),
    "saved": ("saved version", "сохранённая версия"),
    "new_hits": ("New hits", "Новые совпадения"),
    "lost_hits": ("Lost hits", "Потерянные совпадения"),
    "save": ("Save", "Сохранить"),
    "saved_ok": ("Saved; running Dozor picks it up within seconds. The change is in the audit log.",
                 "Сохранено; работающий Дозор применит правило в течение нескольких секунд. Изменение записано в журнал."),
    "no_change": ("Nothing changed.", "Ничего не изменилось."),
    "status": ("Status", "Состояние"),
    "last_post": ("Last post", "Последний пост"),
    "posts_per_day": ("Posts/day (7 days)", "Постов в день (7 дней)"),
    "warning": ("Warning", "Предупреждение"),
    "add_channel": ("Add channel", "Добавить канал"),
    "pause": ("Pause", "Пауза"),
    "resume": ("Resume", "Возобновить"),
    "remove": ("Remove", "Удалить"),
    "pending_channels": ("Waiting to be resolved at the next live start", "Ждут проверки при следующем запуске"),
    "day": ("Day", "День"),
    "show": ("Show", "Показать"),
    "subscribers": ("Subscribers", "Подписчики"),
    "role": ("Role", "Роль"),
    "active": ("active", "активен"),
    "inactive": ("inactive", "неактивен"),
    "invites": ("Invites", "Приглашения"),
    "new_invite": ("New invite", "Новое приглашение"),
    "invite_code": ("Invite code (shown once): send it to the person: /start", "Код приглашения (показан один раз): отправьте человеку: /start"),
    "requests": ("Access requests", "Запросы доступа"),
    "approve": ("Approve", "Одобрить"),
    "deny": ("Deny", "Отклонить"),
    "audit": ("Audit log", "Журнал изменений"),
    "when": ("When", "Когда"),
    "who": ("Who", "Кто"),
    "what": ("What", "Что"),
    "none": ("None.", "Нет."),
    "set_role": ("Set", "Назначить"),
    "bad_input": ("Check the form: ", "Проверьте форму: "),
    "not_found": ("Not found.", "Не найдено."),
    "language": ("Русский", "English"),
}


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    """The language for a request: cookie, else the browser's preference, else English."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(lang: str):
    """t(key) in `lang`; an unknown key is returned as it is."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str) -> str:
        words = WORDS.get(key)
        return key if words is None else words[index] or words[0]

    return t
