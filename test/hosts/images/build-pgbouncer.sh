#!/usr/bin/env bash
# Builds (once) senex/pgbouncer: PgBouncer 1.24 from Debian trixie plus the PostgreSQL 17 client
# (pg_isready is the rendered Quadlet's health check, psql reaches the admin console). Runs as
# uid 1001, gid 0 like bitnami/pgbouncer (image User; render/quadlet-host.ts CONTAINER_USERS
# chowns PgBouncer's files to it; PgBouncer refuses to run as root), so the rendered
# `Exec=pgbouncer /etc/senex/pgbouncer/pgbouncer.ini` starts as is; /var/run/pgbouncer (the
# rendered unix_socket_dir) is writable by it (README.md). Prints the cached OCI archive's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
image_begin senex-pgbouncer "$0"

# shellcheck disable=SC2016  # "$1" is the chroot, expanded by mmdebstrap's hook shell
mmdebstrap "${SLIM[@]}" --skip=cleanup/run \
  "$(system_user postgres 999 /var/lib/postgresql /bin/bash "PostgreSQL administrator")" \
  --essential-hook='echo "pgbouncer:x:1001:0:PgBouncer:/var/lib/pgbouncer:/usr/sbin/nologin" >> "$1/etc/passwd"' \
  --include=pgbouncer,postgresql-client-17 \
  "${SHADOW_SYNC[@]}" \
  --customize-hook='rm -f "$1"/etc/ssl/private/ssl-cert-snakeoil.key "$1"/etc/ssl/certs/ssl-cert-snakeoil.pem' \
  --customize-hook='chroot "$1" sh -ec "
    install -d -o pgbouncer -g root -m 0775 /run/pgbouncer /run/postgresql /var/log/postgresql /var/lib/pgbouncer
    chown -R pgbouncer:root /etc/pgbouncer
    test \"\$(id -u pgbouncer):\$(id -g pgbouncer)\" = 1001:0
    pgbouncer --version; pg_isready --version"' \
  "${CLEAN[@]}" \
  trixie "$work/rootfs.tar" "$TRIXIE_MIRROR" >&2

image_finish '{
  "Cmd": ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
  "Env": ["PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  "User": "1001:0",
  "WorkingDir": "/var/lib/pgbouncer",
  "ExposedPorts": {"6432/tcp": {}},
  "Labels": {"org.opencontainers.image.title": "senex/pgbouncer (test stand-in for bitnami/pgbouncer:1.24.1: Debian trixie pgbouncer 1.24)"}
}'
