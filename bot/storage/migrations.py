"""Named, append-only migrations. Never edit one that has run anywhere: add the next.

Each entry is (name, sql). Applied in order inside one transaction each and
recorded in the `migrations` table. Times are ISO 8601 text in UTC
("2024-05-01T09:30:00+00:00"); JSON columns hold compact JSON text.
"""
from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        CREATE TABLE channels (
            id            INTEGER PRIMARY KEY,      -- marked id (-100…) or a source's id
            username      TEXT UNIQUE COLLATE NOCASE,
            title         TEXT,
            access_hash   INTEGER,                  -- cached so a name is resolved once
            account       TEXT,                     -- session name that watches it
            last_seen_id  INTEGER NOT NULL DEFAULT 0,
            last_post_at  TEXT,
            status        TEXT NOT NULL DEFAULT 'active',  -- active | paused | private | banned | removed
            joined        INTEGER NOT NULL DEFAULT 0,
            warned_at     TEXT,                     -- last operator warning (silence, private, banned)
            added_at      TEXT NOT NULL,
            added_by      TEXT
        );

        CREATE TABLE posts (
            id                  INTEGER PRIMARY KEY,
            channel_id          INTEGER NOT NULL,
            message_id          INTEGER NOT NULL,
            date                TEXT NOT NULL,
            text                TEXT NOT NULL,
            link                TEXT,
            views               INTEGER,
            forwards            INTEGER,
            fwd_from_channel_id INTEGER,
            fwd_from_message_id INTEGER,
            has_media           INTEGER NOT NULL DEFAULT 0,
            grouped_id          INTEGER,
            lang                TEXT,
            late                INTEGER NOT NULL DEFAULT 0,
            edit_date           TEXT,
            deleted_at          TEXT,               -- marked, never erased
            stored_at           TEXT NOT NULL,
            UNIQUE (channel_id, message_id)
        );
        CREATE INDEX posts_date ON posts(date);
        CREATE INDEX posts_grouped ON posts(channel_id, grouped_id) WHERE grouped_id IS NOT NULL;

        CREATE TABLE post_edits (               -- earlier texts of edited posts
            id          INTEGER PRIMARY KEY,
            post_id     INTEGER NOT NULL REFERENCES posts(id),
            text        TEXT NOT NULL,          -- the text before the edit
            edit_date   TEXT,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX post_edits_post ON post_edits(post_id);

        CREATE VIRTUAL TABLE posts_fts USING fts5(
            text, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
            INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
            INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
        END;

        CREATE TABLE matches (
            post_id    INTEGER NOT NULL REFERENCES posts(id),
            rule_id    TEXT NOT NULL,
            tags       TEXT NOT NULL DEFAULT '[]',   -- JSON list
            spans      TEXT NOT NULL DEFAULT '[]',   -- JSON [[start, end], …] into posts.text
            severity   TEXT NOT NULL DEFAULT 'high',
            created_at TEXT NOT NULL,
            PRIMARY KEY (post_id, rule_id)
        );
        CREATE INDEX matches_rule ON matches(rule_id, created_at);

        CREATE TABLE subscribers (
            id          INTEGER PRIMARY KEY,
            chat_id     INTEGER NOT NULL UNIQUE,   -- Telegram chat id; local sinks use 0, -1, …
            kind        TEXT NOT NULL DEFAULT 'user',   -- user | group | channel | local
            title       TEXT NOT NULL DEFAULT '',
            tz          TEXT NOT NULL DEFAULT 'Europe/Moscow',
            digest_time TEXT NOT NULL DEFAULT '09:00',
            active      INTEGER NOT NULL DEFAULT 1,
            role        TEXT NOT NULL DEFAULT 'subscriber',  -- admin | operator | subscriber
            muted_until TEXT,
            created_at  TEXT NOT NULL
        );

        CREATE TABLE subscriptions (            -- no rows = nothing; kind 'all' = every rule
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
            kind          TEXT NOT NULL,        -- all | tag | rule
            value         TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (subscriber_id, kind, value)
        );

        CREATE TABLE outbox (                   -- one alert per (subscriber, post), ever
            id              INTEGER PRIMARY KEY,
            subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id),
            post_id         INTEGER NOT NULL REFERENCES posts(id),
            rules           TEXT NOT NULL DEFAULT '[]',   -- JSON list of rule ids
            silent          INTEGER NOT NULL DEFAULT 0,
            edited          INTEGER NOT NULL DEFAULT 0,   -- matched only after an edit
            status          TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | parked | skipped
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error      TEXT,
            created_at      TEXT NOT NULL,
            sent_at         TEXT,
            sent_message_id INTEGER,
            UNIQUE (subscriber_id, post_id)
        );
        CREATE INDEX outbox_pending ON outbox(status, next_attempt_at) WHERE status = 'pending';

        CREATE TABLE rules (
            id         TEXT PRIMARY KEY,
            title      TEXT NOT NULL DEFAULT '',
            query      TEXT NOT NULL,
            exclude    TEXT,
            tags       TEXT NOT NULL DEFAULT '[]',
            channels_include TEXT NOT NULL DEFAULT '[]',
            channels_exclude TEXT NOT NULL DEFAULT '[]',
            langs      TEXT NOT NULL DEFAULT '[]',
            severity   TEXT NOT NULL DEFAULT 'high',
            enabled    INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT NOT NULL,
            updated_by TEXT
        );

        CREATE TABLE audit_log (
            id          INTEGER PRIMARY KEY,
            at          TEXT NOT NULL,
            actor       TEXT NOT NULL,        -- "tg:<user id>", "cli", "system"
            action      TEXT NOT NULL,        -- e.g. rule.add, rule.edit, channel.add, role.set
            object_kind TEXT NOT NULL,
            object_id   TEXT NOT NULL,
            before      TEXT,                 -- JSON or NULL
            after       TEXT
        );
        CREATE INDEX audit_object ON audit_log(object_kind, object_id);

        CREATE TABLE scheduler_state (
            key        TEXT PRIMARY KEY,
            value      TEXT,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE digests_sent (
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
            day           TEXT NOT NULL,        -- local date the digest covers up to, YYYY-MM-DD
            sent_at       TEXT NOT NULL,
            PRIMARY KEY (subscriber_id, day)
        );
        """,
    ),
    (
        "0002_access",
        """
        CREATE TABLE rule_mutes (               -- "mute this rule for a day" from an alert's button
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
            rule_id       TEXT NOT NULL,
            until         TEXT NOT NULL,
            PRIMARY KEY (subscriber_id, rule_id)
        );

        CREATE TABLE invites (
            code       TEXT PRIMARY KEY,
            role       TEXT NOT NULL DEFAULT 'subscriber',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            used_by    INTEGER,                 -- chat id that redeemed it
            used_at    TEXT
        );

        CREATE TABLE access_requests (
            chat_id      INTEGER PRIMARY KEY,
            title        TEXT NOT NULL DEFAULT '',
            requested_at TEXT NOT NULL,
            decided_by   TEXT,
            decision     TEXT                  -- approved | denied | NULL while pending
        );

        CREATE TABLE feedback (                 -- "relevant" / "not relevant" under an alert
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
            post_id       INTEGER NOT NULL REFERENCES posts(id),
            rule_id       TEXT NOT NULL,
            relevant      INTEGER NOT NULL,
            at            TEXT NOT NULL,
            PRIMARY KEY (subscriber_id, post_id, rule_id)
        );
        """,
    ),
    (
        "0003_channel_watch",
        """
        CREATE TABLE channel_requests (         -- added by name offline; resolved at next live start
            ref        TEXT PRIMARY KEY COLLATE NOCASE,  -- username without @
            added_at   TEXT NOT NULL,
            added_by   TEXT,
            last_error TEXT
        );
        ALTER TABLE channels ADD COLUMN warning TEXT;          -- what warned_at was about
        ALTER TABLE channels ADD COLUMN warning_sent_at TEXT;  -- routed to admins (NULL = pending)
        """,
    ),
    (
        "0004_lemma_index",
        """
        -- lemmas of posts.text (bot.text.lemma_text), rowid = posts.id; filled lazily by
        -- bot/storage/lemma_index.py (last indexed id in scheduler_state 'lemma_index.last_id')
        CREATE VIRTUAL TABLE posts_lemmas USING fts5(
            lemmas, content='', tokenize='unicode61 remove_diacritics 0'
        );
        """,
    ),
    (
        "0005_alert_log",
        """
        CREATE TABLE alert_messages (           -- every alert message sent, for grouping and follow-ups
            id            INTEGER PRIMARY KEY,
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
            chat_id       INTEGER NOT NULL,
            message_id    INTEGER NOT NULL,         -- Telegram id of the alert message
            post_id       INTEGER,                  -- posts.id of the first post of the story
            snapshot      TEXT NOT NULL,            -- JSON: what the alert showed (kept as evidence)
            state         TEXT NOT NULL DEFAULT '{}',  -- JSON: deleted_at, no_longer_matches, edited_at
            sent_at       TEXT NOT NULL,
            updated_at    TEXT
        );
        CREATE INDEX alert_messages_post ON alert_messages(post_id);

        CREATE TABLE alert_posts (              -- posts shown in an alert: its first and those grouped in
            alert_id      INTEGER NOT NULL REFERENCES alert_messages(id) ON DELETE CASCADE,
            subscriber_id INTEGER NOT NULL,
            channel_id    INTEGER NOT NULL,
            message_id    INTEGER NOT NULL,
            date          TEXT NOT NULL,            -- the post's date (the dedup window is over these)
            channel       TEXT,                     -- username without @
            channel_title TEXT,
            link          TEXT,
            fwd_from_channel_id INTEGER,
            fwd_from_message_id INTEGER,
            shingles      BLOB,                     -- packed word-shingle hashes (bot/dedup.py)
            added_at      TEXT NOT NULL,
            PRIMARY KEY (alert_id, channel_id, message_id)
        );
        CREATE INDEX alert_posts_recent ON alert_posts(subscriber_id, date);
        CREATE INDEX alert_posts_post ON alert_posts(channel_id, message_id);
        """,
    ),
    (
        "0006_outbox_parked_notice",
        """
        ALTER TABLE outbox ADD COLUMN reported_at TEXT;  -- a parked row told to the admins (bot/live_app.py)
        """,
    ),
    (
        "0007_channel_access_and_account_outages",
        """
        CREATE TABLE channel_access (           -- access hashes belong to the account that resolved them
            account     TEXT NOT NULL,
            channel_id  INTEGER NOT NULL,
            access_hash INTEGER,                -- NULL: this account cannot read the channel
            error       TEXT,                   -- why not (private, banned, not_found, invalid)
            resolved_at TEXT NOT NULL,
            PRIMARY KEY (account, channel_id)
        );

        CREATE TABLE account_notices (          -- an account offline for long, and back (for the admins)
            id       INTEGER PRIMARY KEY,
            account  TEXT NOT NULL,
            kind     TEXT NOT NULL,             -- offline | back
            since    TEXT NOT NULL,             -- when the connection was lost
            at       TEXT NOT NULL,
            sent_at  TEXT
        );
        """,
    ),
    (
        "0008_state_kv",
        """
        -- scheduler_state becomes the named key-value store of bot/storage/kv.py
        -- (keys such as 'lemma_index.last_id', 'search:<chat id>'); rows without a value are dropped
        CREATE TABLE state (
            key        TEXT PRIMARY KEY,
            value      TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        INSERT INTO state(key, value, updated_at)
            SELECT key, value, updated_at FROM scheduler_state WHERE value IS NOT NULL;
        DROP TABLE scheduler_state;
        """,
    ),
    (
        "0009_outbox_reason",
        """
        -- why a row ended without a delivery error: status 'cancelled' (its post was edited and no
        -- longer matches) or 'parked' because its subscriber was removed (bot/storage/outbox.py)
        ALTER TABLE outbox ADD COLUMN reason TEXT;
        """,
    ),
    (
        "0010_outbox_actions",
        """
        -- follow-ups go through the outbox too (bot/storage/outbox.py): a row's action is 'send' (a new
        -- alert, still one per (subscriber, post)), 'edit' (the post was edited) or 'mark_deleted' (the
        -- channel deleted it); a follow-up row re-renders the alert message `alert_id` (alert_messages.id)
        -- from the alert log, so several follow-ups of one post may exist. The table is rebuilt to turn
        -- UNIQUE (subscriber_id, post_id) into a unique index over 'send' rows only.
        CREATE TABLE outbox_new (
            id              INTEGER PRIMARY KEY,
            subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id),
            post_id         INTEGER NOT NULL REFERENCES posts(id),
            rules           TEXT NOT NULL DEFAULT '[]',   -- JSON list of rule ids
            silent          INTEGER NOT NULL DEFAULT 0,
            edited          INTEGER NOT NULL DEFAULT 0,   -- matched only after an edit
            status          TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | parked | cancelled
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error      TEXT,
            created_at      TEXT NOT NULL,
            sent_at         TEXT,
            sent_message_id INTEGER,
            reported_at     TEXT,
            reason          TEXT,
            action          TEXT NOT NULL DEFAULT 'send',  -- send | edit | mark_deleted
            alert_id        INTEGER                        -- follow-ups: the alert message to re-render
        );
        INSERT INTO outbox_new(id, subscriber_id, post_id, rules, silent, edited, status, attempts,
                               next_attempt_at, last_error, created_at, sent_at, sent_message_id,
                               reported_at, reason)
            SELECT id, subscriber_id, post_id, rules, silent, edited, status, attempts, next_attempt_at,
                   last_error, created_at, sent_at, sent_message_id, reported_at, reason FROM outbox;
        DROP TABLE outbox;
        ALTER TABLE outbox_new RENAME TO outbox;
        CREATE UNIQUE INDEX outbox_one_alert ON outbox(subscriber_id, post_id) WHERE action = 'send';
        CREATE INDEX outbox_pending ON outbox(status, next_attempt_at) WHERE status = 'pending';
        CREATE INDEX outbox_alert ON outbox(alert_id, status) WHERE alert_id IS NOT NULL;
        """,
    ),
    (
        "0011_invite_hashes_and_expiry",
        """
        -- invite codes are kept only as a SHA-256 hash (dozor_sha256, registered by bot/storage/db.py)
        -- and expire (existing ones 7 days after creation). The audit log names an invite by the
        -- first 12 hex digits of its hash. An access request records who asked (per-user caps).
        CREATE TABLE invites_hashed (
            code_hash  TEXT PRIMARY KEY,        -- sha256 hex of the code, never the code
            role       TEXT NOT NULL DEFAULT 'subscriber',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_by    INTEGER,
            used_at    TEXT
        );
        INSERT INTO invites_hashed(code_hash, role, created_by, created_at, expires_at, used_by, used_at)
            SELECT dozor_sha256(code), role, created_by, created_at,
                   strftime('%Y-%m-%dT%H:%M:%S+00:00', created_at, '+7 days'), used_by, used_at
            FROM invites;
        DROP TABLE invites;
        ALTER TABLE invites_hashed RENAME TO invites;
        UPDATE audit_log SET object_id = substr(dozor_sha256(object_id), 1, 12) WHERE object_kind = 'invite';
        UPDATE audit_log SET actor = substr(actor, 1, instr(actor, '(invite:') + 7)
            || substr(dozor_sha256(substr(actor, instr(actor, '(invite:') + 8,
                                          length(actor) - instr(actor, '(invite:') - 8)), 1, 12) || ')'
            WHERE actor LIKE '%(invite:%)';
        ALTER TABLE access_requests ADD COLUMN requested_by INTEGER;
        """,
    ),
    (
        "0012_channel_private_confirmation",
        """
        -- a private group or channel (no username) is watched only after an admin confirms it
        -- (status 'unconfirmed' until then): who confirmed, also in the audit log
        ALTER TABLE channels ADD COLUMN confirmed_by TEXT;
        """,
    ),
    (
        "0013a_matches_found_by_rematch",
        """
        -- a match `dozor rematch` recorded after its post was stored (bot/history/rematch.py): 1 until
        -- a rematch --alert queued its alerts, so looking first and alerting later still alerts
        ALTER TABLE matches ADD COLUMN rematched INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        "0015a_rule_comments",
        """
        -- the comment lines a rule file has about a rule, so `rules export` writes them back
        ALTER TABLE rules ADD COLUMN comment TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        "0015b_subscriber_calendar_day_digest",
        """
        -- 1: the subscriber's digest covers the last calendar day (00:00 to 24:00 in its zone)
        -- instead of the 24 hours up to its digest time (`dozor subscribers set CHAT_ID --calendar-day on`)
        ALTER TABLE subscribers ADD COLUMN digest_calendar_day INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        "0016a_web_login_links",
        """
        -- one-time links into the web console (bot/storage/web_sessions.py): only the SHA-256 of
        -- the token is kept; a link works once (used_at) and until expires_at (10 minutes)
        CREATE TABLE web_login_links (
            token_hash TEXT PRIMARY KEY,
            user_id    INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at    TEXT
        );
        """,
    ),
    (
        "0016b_web_alert_indexes",
        """
        -- the console's alerts page (bot/storage/web_alerts.py): delivered alerts newest first, and
        -- "is there an earlier delivery of this post" (one row per post for operators)
        CREATE INDEX outbox_sent_at ON outbox(sent_at, id) WHERE action = 'send' AND status = 'sent';
        CREATE INDEX outbox_sent_post ON outbox(post_id, id) WHERE action = 'send' AND status = 'sent';
        """,
    ),
    (
        "0016c_posts_late_index",
        """
        -- the console's "late only" filter (bot/storage/web_alerts.py): the few posts found late
        CREATE INDEX posts_late ON posts(date) WHERE late = 1;
        """,
    ),
    (
        "0018_delivery_targets",
        """
        -- a subscriber of kind 'webhook' or 'apprise' delivers outside Telegram: its URL (and the
        -- webhook's HMAC secret) live here, never in subscribers.title (shown masked) or the audit log;
        -- failures/failing_since/last_error: how the target is doing (an operator notice once
        -- failures reach a threshold: noticed_at)
        CREATE TABLE delivery_targets (
            subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers(id) ON DELETE CASCADE,
            url           TEXT NOT NULL,
            secret        TEXT,
            failures      INTEGER NOT NULL DEFAULT 0,  -- failed attempts in a row
            failing_since TEXT,
            last_error    TEXT,
            noticed_at    TEXT
        );
        CREATE UNIQUE INDEX delivery_targets_url ON delivery_targets(url);
        """,
    ),
    (
        "0019_telegram_reach",
        """
        -- issue 17 (Telegram): a subscriber may be one topic of a forum group (its top message id;
        -- NULL = the chat itself / the General topic) and chooses its alert style (full | compact)
        ALTER TABLE subscribers ADD COLUMN topic_id INTEGER;
        ALTER TABLE subscribers ADD COLUMN alert_style TEXT NOT NULL DEFAULT 'full';
        -- a watched public group: members are shown by name only when an admin turns this on
        ALTER TABLE channels ADD COLUMN show_authors INTEGER NOT NULL DEFAULT 0;
        -- a group member's message: the author's numeric id, and a name only while show_authors is on
        ALTER TABLE posts ADD COLUMN author_id INTEGER;
        ALTER TABLE posts ADD COLUMN author_name TEXT;
        """,
    ),
    (
        "0020a_shared_store",
        """
        -- several dozor processes on one store (PostgreSQL; bot/storage/leases.py): who is alive, which
        -- process holds which Telegram account, outbox rows claimed by a process until a time, and
        -- when each channel was last swept (for `dozor status`)
        CREATE TABLE processes (
            id           TEXT PRIMARY KEY,          -- host:pid:random, one per running process
            host         TEXT NOT NULL,
            pid          INTEGER NOT NULL,
            accounts     TEXT NOT NULL DEFAULT '[]', -- JSON list of the session names it may use
            started_at   TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL
        );
        CREATE TABLE account_leases (
            account     TEXT PRIMARY KEY,
            holder      TEXT NOT NULL,              -- processes.id
            acquired_at TEXT NOT NULL,
            expires_at  TEXT NOT NULL
        );
        ALTER TABLE outbox ADD COLUMN claimed_by TEXT;     -- processes.id delivering it (PostgreSQL)
        ALTER TABLE outbox ADD COLUMN claimed_until TEXT;  -- the claim lapses then; another may take it
        ALTER TABLE channels ADD COLUMN last_sweep_at TEXT;
        """,
    ),
    (
        "0022_target_recovery",
        """
        -- issue 17: a target the operators were told is failing and that delivers again is told as
        -- "back" once (bot/app/housekeeping.py): when it recovered and since when it had been failing;
        -- both cleared once an admin got the notice
        ALTER TABLE delivery_targets ADD COLUMN recovered_at TEXT;
        ALTER TABLE delivery_targets ADD COLUMN recovered_from TEXT;
        """,
    ),
]
