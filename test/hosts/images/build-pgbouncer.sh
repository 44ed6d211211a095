#!/usr/bin/env bash
# Builds (once) senex/pgbouncer: PgBouncer 1.24 from Debian trixie plus the PostgreSQL 17 client
# (pg_isready is the rendered Quadlet's health check, psql reaches the admin console). Runs as
# user postgres uid/gid 999 (image User; PgBouncer refuses to run as root), so the rendered
# `Exec=pgbouncer /etc/senex/pgbouncer/pgbouncer.ini` starts as is; /var/run/pgbouncer (the
# rendered unix_socket_dir) is writable by it (README.md). Prints the cached OCI archive's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
image_begin senex-pgbouncer "$0"

# shellcheck disable=SC2016  # "$1" is the chroot, expanded by mmdebstrap's hook shell
mmdebstrap "${SLIM[@]}" --skip=cleanup/run \
  "$(system_user postgres 999 /var/lib/postgresql /bin/bash "PostgreSQL administrator")" \
  --include=pgbouncer,postgresql-client-17 \
  "${SHADOW_SYNC[@]}" \
  --customize-hook='rm -f "$1"/etc/ssl/private/ssl-cert-snakeoil.key "$1"/etc/ssl/certs/ssl-cert-snakeoil.pem' \
  --customize-hook='chroot "$1" sh -ec "
    install -d -o postgres -g postgres -m 2775 /run/pgbouncer /run/postgresql /var/log/postgresql
    test \"\$(id -u postgres):\$(id -g postgres)\" = 999:999
    pgbouncer --version; pg_isready --version"' \
  "${CLEAN[@]}" \
  trixie "$work/rootfs.tar" "$TRIXIE_MIRROR" >&2

image_finish '{
  "Cmd": ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
  "Env": ["PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  "User": "999:999",
  "WorkingDir": "/var/lib/postgresql",
  "ExposedPorts": {"6432/tcp": {}},
  "Labels": {"org.opencontainers.image.title": "senex/pgbouncer (test stand-in for bitnami/pgbouncer:1.24.1: Debian trixie pgbouncer 1.24)"}
}'
