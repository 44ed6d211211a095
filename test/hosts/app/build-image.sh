#!/usr/bin/env bash
# Builds (once) the stand-in app image: Debian trixie minbase + Django 4.2, Daphne, Celery,
# Channels, channels_redis, psycopg (all Debian packages) + the tiny `senextrader` project in
# test/hosts/app/src at /app. Cached as
#   $SENEX_CACHE/senex-app-<key>.oci.tar   an OCI archive (skopeo `oci-archive:`; pushed to the test registry)
#   $SENEX_CACHE/senex-app-<key>.tar.zst   the plain rootfs (for `zstd -dc | podman import -` over SSH)
# <key> hashes this script and every file of the app. Prints the OCI archive's path on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../support/cache.sh"

APP_PACKAGES=(
  python3-django daphne python3-celery python3-django-channels python3-channels-redis
  celery python3-psycopg python3-redis ca-certificates   # celery: /usr/bin/celery (the Quadlets run `celery -A …`)
)

key="$(senex_key "$0" $(find "$here/src" -type f | LC_ALL=C sort))"
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

# OCI image layout by hand: one gzip layer (what registry 2.8 and every podman read), a config
# with the commands the Quadlets expect (WorkingDir /app for `python3 manage.py`), then an archive.
mkdir -p "$work/oci/blobs/sha256"
gzip -n -1 -c "$work/rootfs.tar" > "$work/layer.tar.gz"
python3 - "$work" <<'PY'
import hashlib, json, os, sys
work = sys.argv[1]
blobs = os.path.join(work, "oci/blobs/sha256")
def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
diff_id = sha(os.path.join(work, "rootfs.tar"))
layer_digest = sha(os.path.join(work, "layer.tar.gz"))
os.rename(os.path.join(work, "layer.tar.gz"), os.path.join(blobs, layer_digest))
config = {
    "architecture": "amd64", "os": "linux",
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1",
                "PYTHONDONTWRITEBYTECODE=1", "DJANGO_SETTINGS_MODULE=senextrader.settings.production"],
        "WorkingDir": "/app",
        "Cmd": ["daphne", "-b", "0.0.0.0", "-p", "8001", "senextrader.asgi:application"],
        "Labels": {"org.opencontainers.image.title": "senex-app (test stand-in)"},
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
}
cfg = put(json.dumps(config, sort_keys=True).encode())
manifest = {
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + layer_digest,
                "size": os.path.getsize(os.path.join(blobs, layer_digest))}],
}
man = put(json.dumps(manifest, sort_keys=True).encode())
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **man,
          "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
open(os.path.join(work, "oci/index.json"), "w").write(json.dumps(index))
open(os.path.join(work, "oci/oci-layout"), "w").write(json.dumps({"imageLayoutVersion": "1.0.0"}))
PY
tar -cf "$oci.partial" -C "$work/oci" .
zstd -q -T0 -6 -o "$rootfs.partial" "$work/rootfs.tar"
mv "$rootfs.partial" "$rootfs"
mv "$oci.partial" "$oci"
for old in "$SENEX_CACHE"/senex-app-*.oci.tar "$SENEX_CACHE"/senex-app-*.tar.zst; do
  case "$old" in "$oci" | "$rootfs") ;; *) rm -f "$old" ;; esac
done
echo "build-image: built $(du -h "$oci" | cut -f1) in $((SECONDS - start)) s" >&2
echo "$oci"
