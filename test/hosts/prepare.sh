#!/usr/bin/env bash
# Prepares the `hosts` tier: systemd-nspawn test hosts (see /work/shared/TESTHOSTS.md and
# test/hosts/harness/index.ts, which boots them).
#  - host tools: systemd-nspawn, mmdebstrap, uidmap, zstd, iproute2, ssh-keygen, and
#    apt-cacher-ng (the apt proxy the hosts use: they have no route off this machine);
#  - the cached trixie cloud-image rootfs (test/hosts/harness/build-rootfs.sh);
#  - the cached images tests push to the test registry: the stand-in app (test/hosts/app) and
#    senex/postgres, redis, nginx, pgbouncer (test/hosts/images), linked as
#    $SENEX_CACHE/senex-<name>-current.oci.tar;
#  - apt-cacher-ng's configuration and cache directories (the harness starts the proxy on the
#    bridge gateway only while hosts run);
#  - leftovers of a crashed earlier run are removed (hosts, cgroups, veths, bridge, proxy).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/../support/cache.sh"

senex_apt_install systemd-container mmdebstrap uidmap zstd iproute2 openssh-client apt-cacher-ng util-linux \
  docker-registry apache2-utils skopeo openssl   # the test registry (harness/registry.ts)

tarball="$(bash "$here/harness/build-rootfs.sh")"
senex_point "$SENEX_CACHE/trixie-host-current.tar.zst" "$tarball"
# The stand-in Django/Daphne/Celery app image (OCI archive + plain rootfs), pushed by tests.
app_oci="$(bash "$here/app/build-image.sh")"
senex_point "$SENEX_CACHE/senex-app-current.oci.tar" "$app_oci"
senex_point "$SENEX_CACHE/senex-app-current.tar.zst" "${app_oci%.oci.tar}.tar.zst"
# The stand-in service images (test/hosts/images/README.md): OCI archives pushed by tests.
for image in postgres redis nginx pgbouncer; do
  image_oci="$(bash "$here/images/build-$image.sh")"
  senex_point "$SENEX_CACHE/senex-$image-current.oci.tar" "$image_oci"
done

# apt-cacher-ng: Debian's default upstream (ftp.debian.org) does not resolve here; deb.debian.org
# does. Our own config dir, so the machine's /etc stays as the package left it; under /var/cache
# because the proxy runs as its own user, which cannot enter /root (keep in sync with the harness).
acng="${SENEX_APT_PROXY_DIR:-/var/cache/senex-infra/apt-cacher-ng}"
mkdir -p "$acng/cache" "$acng/log"
rm -rf "$acng/conf.partial"
cp -a /etc/apt-cacher-ng "$acng/conf.partial"
echo "http://deb.debian.org/debian/" > "$acng/conf.partial/backends_debian"
rm -rf "$acng/conf" && mv "$acng/conf.partial" "$acng/conf"
chown -R apt-cacher-ng:apt-cacher-ng "$acng/cache" "$acng/log"

source "$repo/scripts/toolchain.sh"
cd "$repo"
ts-node --transpile-only -P tsconfig.json -e 'require("./test/hosts/harness").cleanupStale().then((r) => { if (r.length) console.error("prepare: removed stale test-host leftovers: " + r.join(", ")); })'
echo "prepare: hosts tier ready (rootfs $tarball)" >&2
