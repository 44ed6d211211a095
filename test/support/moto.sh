#!/usr/bin/env bash
# Prepares a local S3 endpoint for tests: moto's server (Debian trixie `python3-moto`, Apache-2.0)
# in a small trixie chroot, cached under $SENEX_CACHE/trixie-moto-<key>. Prints the chroot path.
# The tests start it on 127.0.0.1 themselves (test/support/moto.ts) and stop it by PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/cache.sh"
senex_apt_install mmdebstrap zstd util-linux
key="$(senex_key "$0")"
root="$SENEX_CACHE/trixie-moto-$key"
if [ ! -d "$root" ]; then
  start=$SECONDS
  rm -rf "$root.partial"
  mmdebstrap --variant=minbase --quiet --include=python3-moto,python3-flask,python3-flask-cors,ca-certificates \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' trixie "$root.partial" http://deb.debian.org/debian >&2
  mv -T "$root.partial" "$root"
  echo "moto: built $root in $((SECONDS - start)) s" >&2
fi
senex_point "$SENEX_CACHE/trixie-moto-current" "$root"
echo "$root"
