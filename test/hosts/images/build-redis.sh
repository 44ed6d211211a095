#!/usr/bin/env bash
# Builds (once) senex/redis: Valkey 8.1 from Debian trixie (BSD; never trixie's AGPL redis 8
# packages) under the redis-* names, honouring the contract of docker.io/library/redis that
# senex-infra relies on (README.md): user redis uid/gid 999, WORKDIR /data, an entrypoint that
# owns /data and drops to redis, Cmd redis-server. Prints the cached OCI archive's path on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
image_begin senex-redis "$0" "$here/redis-entrypoint.sh"

# Trixie has no package with the redis-* compatibility names for valkey: the links are ours.
# valkey-server/-sentinel/-check-* are links to one binary that picks its mode from argv[0], and
# it knows the redis-* names (checked: redis-sentinel runs Sentinel, redis-check-aof checks AOF).
# shellcheck disable=SC2016  # "$1" is the chroot, expanded by mmdebstrap's hook shell
mmdebstrap "${SLIM[@]}" \
  "$(system_user redis 999 /data /usr/sbin/nologin "Redis (valkey) server")" \
  --include=valkey-server,valkey-sentinel \
  "${SHADOW_SYNC[@]}" \
  --customize-hook="copy-in $here/redis-entrypoint.sh /usr/local/bin" \
  --customize-hook='chroot "$1" sh -ec "
    for n in server sentinel cli benchmark check-aof check-rdb; do ln -s /usr/bin/valkey-\$n /usr/local/bin/redis-\$n; done
    install -d -o redis -g redis -m 0755 /data
    test \"\$(id -u redis):\$(id -g redis)\" = 999:999
    ! dpkg-query -W redis-server redis-tools 2>/dev/null"' \
  "${CLEAN[@]}" \
  trixie "$work/rootfs.tar" "$TRIXIE_MIRROR" >&2

image_finish '{
  "Entrypoint": ["/usr/local/bin/redis-entrypoint.sh"],
  "Cmd": ["redis-server"],
  "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  "WorkingDir": "/data",
  "ExposedPorts": {"6379/tcp": {}},
  "Volumes": {"/data": {}},
  "Labels": {"org.opencontainers.image.title": "senex/redis (test stand-in for redis:7.2-bookworm: Debian trixie valkey 8.1)"}
}'
