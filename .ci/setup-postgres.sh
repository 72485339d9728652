# Sourced by .ci/run: a throwaway PostgreSQL 15 for the storage suite's PostgreSQL half.
#
# Finds /usr/lib/postgresql/15/bin (installs postgresql-15 with apt-get when missing and root),
# runs initdb in a temporary folder owned by the `postgres` user (the server refuses root),
# listens on 127.0.0.1 only on a free port, creates the database `dozor_test`, exports
# DOZOR_TEST_PG (a DSN) and registers stopping the server and removing the folder.
# Standalone: `source .ci/setup-postgres.sh` defines a no-op ci_on_exit if none exists.

declare -F ci_on_exit >/dev/null || ci_on_exit() { echo "ci: run on exit: $1"; }

pg_setup_main() {
    local bin=/usr/lib/postgresql/15/bin
    if [ ! -x "$bin/initdb" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
        fi
    fi
    if [ ! -x "$bin/initdb" ]; then
        echo "ci: PostgreSQL 15 not found at $bin; DOZOR_TEST_PG not set" >&2
        return 0
    fi
    local run_as=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        run_as=(runuser -u postgres --)
    fi
    local dir port
    dir=$(mktemp -d /tmp/dozor-pg.XXXXXX)
    chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${run_as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    ci_on_exit "${run_as[*]} $bin/pg_ctl -D $dir/data -m immediate stop >/dev/null; rm -rf $dir"
    "${run_as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres dozor_test
    export DOZOR_TEST_PG="postgresql://postgres@127.0.0.1:$port/dozor_test"
    echo "ci: PostgreSQL 15 on 127.0.0.1:$port (DOZOR_TEST_PG)"
}

pg_setup_main
unset -f pg_setup_main
