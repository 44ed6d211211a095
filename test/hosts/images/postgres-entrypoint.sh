#!/usr/bin/env bash
# Entrypoint of senex/postgres: the subset of docker-library/postgres's docker-entrypoint.sh that
# senex-infra uses (README.md). `postgres …` (or `-…`): as root, own PGDATA and the socket dir,
# then re-run as postgres; initdb an empty PGDATA from POSTGRES_* variables; exec the server.
set -Eeuo pipefail

# file_env VAR [DEFAULT]: VAR from the environment or from the file VAR_FILE names, not both.
file_env() {
	local var="$1" file="$1_FILE" value="${2:-}"
	if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then
		echo "error: both $var and $file are set (but are exclusive)" >&2
		exit 1
	fi
	if [ -n "${!var:-}" ]; then value="${!var}"; elif [ -n "${!file:-}" ]; then value="$(<"${!file}")"; fi
	export "$var=$value"
	unset "$file"
}

first="${1:-}"
if [ "${first:0:1}" = "-" ]; then set -- postgres "$@"; fi
if [ "${1:-}" != postgres ]; then exec "$@"; fi

# Read secrets first: a POSTGRES_PASSWORD_FILE may be readable by root only (a podman secret).
file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
export POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-}" PGDATA="${PGDATA:-/var/lib/postgresql/data}"
mkdir -p "$PGDATA"
mkdir -p /var/run/postgresql || :
chmod 00700 "$PGDATA" || :
chmod 03775 /var/run/postgresql || :
if [ "$(id -u)" = 0 ]; then
	find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOE'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.
		EOE
		exit 1
	fi
	# initdb refuses an empty --pwfile, hence the newline (as docker-library does).
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"
	printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
	if [ "$POSTGRES_DB" != postgres ]; then
		echo "CREATE DATABASE \"${POSTGRES_DB//\"/\"\"}\"" | postgres --single -D "$PGDATA" postgres >/dev/null
	fi
	echo "PostgreSQL init process complete; ready for start up."
fi
unset POSTGRES_PASSWORD
exec "$@"
