#!/usr/bin/env bash
# Builds (once) senex/nginx: nginx 1.26 from Debian trixie, honouring the contract of
# docker.io/library/nginx that senex-infra relies on (README.md): nginx on PATH, user nginx
# uid/gid 101 (the default config's `user`), logs to stdout/stderr, /etc/nginx/mime.types,
# Cmd nginx -g 'daemon off;', StopSignal SIGQUIT. Prints the cached OCI archive's path on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
image_begin senex-nginx "$0" "$here/nginx.conf" "$here/nginx-default.conf"

# shellcheck disable=SC2016  # "$1" is the chroot, expanded by mmdebstrap's hook shell
mmdebstrap "${SLIM[@]}" \
  "$(system_user nginx 101 /nonexistent /usr/sbin/nologin "nginx user")" \
  --include=nginx,ca-certificates \
  "${SHADOW_SYNC[@]}" \
  --customize-hook='rm -f "$1"/etc/nginx/sites-enabled/default; mkdir -p "$1/etc/nginx/conf.d"' \
  --customize-hook="copy-in $here/nginx.conf /etc/nginx" \
  --customize-hook="copy-in $here/nginx-default.conf /etc/nginx/conf.d" \
  --customize-hook='chroot "$1" sh -ec "
    mv /etc/nginx/conf.d/nginx-default.conf /etc/nginx/conf.d/default.conf
    ln -sf /dev/stdout /var/log/nginx/access.log; ln -sf /dev/stderr /var/log/nginx/error.log
    test -f /usr/share/nginx/html/index.html
    test \"\$(id -u nginx):\$(id -g nginx)\" = 101:101
    nginx -t -q"' \
  "${CLEAN[@]}" \
  trixie "$work/rootfs.tar" "$TRIXIE_MIRROR" >&2

image_finish '{
  "Cmd": ["nginx", "-g", "daemon off;"],
  "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  "StopSignal": "SIGQUIT",
  "ExposedPorts": {"80/tcp": {}},
  "Labels": {"org.opencontainers.image.title": "senex/nginx (test stand-in for nginx:1.26-bookworm: Debian trixie nginx)"}
}'
