#!/usr/bin/env bash
# Entrypoint of senex/redis, like docker-library/redis's docker-entrypoint.sh (README.md): options
# or a *.conf as first argument run redis-server; redis-server/redis-sentinel started as root own
# /data and re-run as redis; umask 0077 unless one was set.
set -Eeuo pipefail

first="${1:-}"
if [ "${first:0:1}" = "-" ] || [ "${first%.conf}" != "$first" ]; then set -- redis-server "$@"; fi
if { [ "${1:-}" = redis-server ] || [ "${1:-}" = redis-sentinel ]; } && [ "$(id -u)" = 0 ]; then
	find /data \! -user redis -exec chown redis:redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
fi
if [ "$(umask)" = 0022 ]; then umask 0077; fi
exec "$@"
