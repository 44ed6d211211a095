#!/usr/bin/env bash
# Builds (once) the stand-in app image: Debian trixie minbase + Django 4.2, Daphne, Celery,
# Channels, channels_redis, psycopg (all Debian packages) + the tiny `senextrader` project in
# test/hosts/app/src at /app. Cached as
#   $SENEX_CACHE/senex-app-<key>.oci.tar   an OCI archive (skopeo `oci-archive:`; pushed to the test registry)
#   $SENEX_CACHE/senex-app-<key>.tar.zst   the plain rootfs (for `zstd -dc | podman import -` over SSH)
# <key> hashes this script, the OCI helper and every file of the app. Prints the OCI archive's path on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../support/cache.sh"

APP_PACKAGES=(
  python3-django daphne python3-celery python3-django-channels python3-channels-redis
  celery python3-psycopg python3-redis ca-certificates   # celery: /usr/bin/celery (the Quadlets run `celery -A …`)
)

oci_archive="$here/../images/oci-archive.py"
key="$(senex_key "$0" "$oci_archive" $(find "$here/src" -type f | LC_ALL=C sort))"
oci="$SENEX_CACHE/senex-app-$key.oci.tar"
rootfs="$SENEX_CACHE/senex-app-$key.tar.zst"
if [ -f "$oci" ] && [ -f "$rootfs" ]; then echo "$oci"; exit 0; fi

start=$SECONDS
work="$(mktemp -d "$SENEX_CACHE/senex-app-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "build-image: building senex-app-$key" >&2
mmdebstrap --variant=minbase --format=tar --quiet \
  --include="$(IFS=,; echo "${APP_PACKAGES[*]}")" \
  --customize-hook='mkdir -p "$1/app" "$1/srv/static"' \
  --customize-hook="copy-in $here/src/manage.py $here/src/senextrader $here/src/trading /app" \
  --customize-hook='chroot "$1" python3 -m compileall -q /app' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
  trixie "$work/rootfs.tar" http://deb.debian.org/debian

# OCI archive (test/hosts/images/oci-archive.py: one gzip layer) with the commands the Quadlets
# expect (WorkingDir /app for `python3 manage.py`).
python3 "$oci_archive" "$work/rootfs.tar" "$oci.partial" '{
  "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1",
          "PYTHONDONTWRITEBYTECODE=1", "DJANGO_SETTINGS_MODULE=senextrader.settings.production"],
  "WorkingDir": "/app",
  "Cmd": ["daphne", "-b", "0.0.0.0", "-p", "8001", "senextrader.asgi:application"],
  "Labels": {"org.opencontainers.image.title": "senex-app (test stand-in)"}
}'
zstd -q -T0 -6 -o "$rootfs.partial" "$work/rootfs.tar"
mv "$rootfs.partial" "$rootfs"
mv "$oci.partial" "$oci"
for old in "$SENEX_CACHE"/senex-app-*.oci.tar "$SENEX_CACHE"/senex-app-*.tar.zst; do
  case "$old" in "$oci" | "$rootfs") ;; *) rm -f "$old" ;; esac
done
echo "build-image: built $(du -h "$oci" | cut -f1) in $((SECONDS - start)) s" >&2
echo "$oci"
