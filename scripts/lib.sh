# Shared by scripts/dev, scripts/test and scripts/sqlx-prepare (sourced, not run).
# Finds or starts PostgreSQL. With DATABASE_URL unset, the server is 127.0.0.1:5432, user postgres.

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
export PGHOST PGPORT PGUSER

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

server_url() { echo "postgres://$PGUSER@$PGHOST:$PGPORT"; }
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres "$@"; }
psql_db() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$db" "$@"; }

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null || psql_admin -c 'SELECT 1' >/dev/null 2>&1; }

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  command -v initdb >/dev/null && dirname "$(command -v initdb)"
}

# Makes sure PostgreSQL answers at $PGHOST:$PGPORT: the machine's own cluster if it has one,
# otherwise a private cluster in .data/postgres (git-ignored).
ensure_postgres() {
  command -v psql >/dev/null || die "psql not found: install PostgreSQL (apt-get install postgresql) or set DATABASE_URL"
  pg_up && return 0
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    local v; v=$(ls /etc/postgresql | sort -V | tail -1)
    say "PostgreSQL is not running: starting the machine's cluster ($v/main)"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  fi
  local bin; bin=$(pg_bindir)
  [ -n "$bin" ] || die "nothing answers at $PGHOST:$PGPORT and PostgreSQL's server is not installed: apt-get install postgresql, or set DATABASE_URL"
  local data="$PWD/.data/postgres"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "starting a private PostgreSQL cluster in .data/postgres (port $PGPORT)"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown -R postgres "$PWD/.data"
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  else
    say "starting the private PostgreSQL cluster in .data/postgres (port $PGPORT)"
  fi
  as_postgres "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-c listen_addresses=$PGHOST -p $PGPORT -c unix_socket_directories=$data -c max_connections=300" start >/dev/null
  pg_up || die "the private cluster did not start; see .data/postgres/server.log"
}

# Makes sure DEMANDFLOW_SECRET_KEY (the operator key that seals stored secrets) is set: a key
# kept in .data/secret_key (git-ignored), made on first use. Production sets its own.
ensure_secret_key() {
  [ -n "${DEMANDFLOW_SECRET_KEY:-}" ] && return 0
  local file="$PWD/.data/secret_key"
  if [ ! -s "$file" ]; then
    mkdir -p "$PWD/.data"
    ( umask 077; printf 'dev:%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '\n')" > "$file" )
    say "made an operator key for stored secrets in .data/secret_key"
  fi
  DEMANDFLOW_SECRET_KEY=$(cat "$file")
  export DEMANDFLOW_SECRET_KEY
}
