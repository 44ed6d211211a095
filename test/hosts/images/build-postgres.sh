#!/usr/bin/env bash
# Builds (once) senex/postgres: PostgreSQL 17 (contrib included: pg_stat_statements) and
# pgBackRest from Debian trixie, honouring the contract of docker.io/library/postgres that
# senex-infra relies on (README.md): user postgres uid/gid 999, PGDATA /var/lib/postgresql/data,
# the server binaries on PATH, docker-entrypoint.sh's init subset, Cmd postgres, StopSignal SIGINT.
# Prints the cached OCI archive's path on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
image_begin senex-postgres "$0" "$here/postgres-entrypoint.sh"

# shellcheck disable=SC2016  # "$1" is the chroot, expanded by mmdebstrap's hook shell
mmdebstrap "${SLIM[@]}" --skip=cleanup/run \
  "$(system_user postgres 999 /var/lib/postgresql /bin/bash "PostgreSQL administrator")" \
  --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.d/senex.conf"' \
  --include=postgresql-17,pgbackrest \
  "${SHADOW_SYNC[@]}" \
  --customize-hook="copy-in $here/postgres-entrypoint.sh /usr/local/bin" \
  --customize-hook='test ! -e "$1/etc/postgresql/17/main"' \
  --customize-hook='rm -f "$1"/etc/ssl/private/ssl-cert-snakeoil.key "$1"/etc/ssl/certs/ssl-cert-snakeoil.pem' \
  --customize-hook='chroot "$1" sh -ec "install -d -o postgres -g postgres -m 3777 /run/postgresql; install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data; install -d -o postgres -g postgres -m 0750 /var/spool/pgbackrest /var/lib/pgbackrest /var/log/pgbackrest; install -d -m 0755 /etc/pgbackrest; /usr/lib/postgresql/17/bin/postgres --version; test -f /usr/share/postgresql/17/extension/pg_stat_statements.control; test \"\$(id -u postgres):\$(id -g postgres)\" = 999:999"' \
  "${CLEAN[@]}" \
  trixie "$work/rootfs.tar" "$TRIXIE_MIRROR" >&2

image_finish '{
  "Entrypoint": ["/usr/local/bin/postgres-entrypoint.sh"],
  "Cmd": ["postgres"],
  "Env": ["PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "PG_MAJOR=17", "PGDATA=/var/lib/postgresql/data", "LANG=C.UTF-8"],
  "StopSignal": "SIGINT",
  "ExposedPorts": {"5432/tcp": {}},
  "Volumes": {"/var/lib/postgresql/data": {}},
  "Labels": {"org.opencontainers.image.title": "senex/postgres (test stand-in for postgres:16-bookworm: Debian trixie postgresql-17 + pgbackrest)"}
}'
