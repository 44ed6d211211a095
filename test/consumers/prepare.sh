#!/usr/bin/env bash
# Prepares the `consumers` tier: every rendered file goes through its real consumer.
#  - A Debian trixie chroot with the consumers (trixie because bookworm's podman has no Quadlet,
#    and the hosts run trixie), built once with mmdebstrap, cached as
#    $SENEX_CACHE/trixie-tools-<key>.tar.zst and unpacked next to it; <key> hashes this script
#    (which holds the package list), so editing the list rebuilds it.
#    test/support/trixie.ts finds it through the symlink $SENEX_CACHE/trixie-tools-current.
#  - On this (bookworm) machine: redis-server 7.0.15 + redis-sentinel, the seeds' Redis major
#    under its BSD licence. Never trixie's redis 8 (AGPL): it is not in the chroot either.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../support/cache.sh"

# The consumers. valkey 8.1 (BSD) stands in where a Redis of the hosts' release is needed.
TOOLS_PACKAGES=(
  podman systemd                        # /usr/libexec/podman/quadlet, systemd-analyze
  nginx
  postgresql-17 pgbouncer pgbackrest
  prometheus prometheus-alertmanager    # promtool, amtool
  prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter
  nftables
  cloud-init
  shellcheck
  valkey-server valkey-sentinel valkey-tools
  openssh-server sudo fail2ban          # sshd -t, visudo -c, fail2ban-client -t for the bootstrap
  openssl ca-certificates
  python3-yaml python3-jsonschema jq    # schema checks of files whose real consumer is AGPL
  procps iproute2
  lego pebble haproxy                   # ACME issuance end to end (pebble is a real ACME test server), the phase-3 balancer of existing servers
)

senex_apt_install mmdebstrap zstd util-linux redis-server redis-sentinel

key="$(senex_key "$0")"
tarball="$SENEX_CACHE/trixie-tools-$key.tar.zst"
root="$SENEX_CACHE/trixie-tools-$key"

# One build at a time: a second prepare (another jest run, another clone) waits, then finds it.
exec 8>"$SENEX_CACHE/trixie-tools.lock"
flock 8

if [ ! -f "$tarball" ]; then
  start=$SECONDS
  echo "prepare: building $tarball (mmdebstrap trixie, ${#TOOLS_PACKAGES[@]} packages)" >&2
  rm -f "$tarball.partial"
  # --format=tar with an explicit zstd pipe: the .partial name hides the extension from
  # mmdebstrap's format guess.
  mmdebstrap --variant=apt --format=tar --quiet \
    --include="$(IFS=,; echo "${TOOLS_PACKAGES[*]}")" \
    --customize-hook='rm -rf "$1"/var/lib/postgresql/17/main "$1"/etc/postgresql/17/main' \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
    trixie - http://deb.debian.org/debian | zstd -q -T0 -6 -o "$tarball.partial"
  mv "$tarball.partial" "$tarball"
  echo "prepare: built $(du -h "$tarball" | cut -f1) in $((SECONDS - start)) s" >&2
fi

if [ ! -d "$root" ]; then
  start=$SECONDS
  senex_unpack "$tarball" "$root"
  mkdir -p "$root/senex-work"
  echo "prepare: unpacked to $root in $((SECONDS - start)) s" >&2
fi
senex_point "$SENEX_CACHE/trixie-tools-current" "$root"

# Older keys are dead weight once the current one is in place.
for old in "$SENEX_CACHE"/trixie-tools-*; do
  case "$old" in
    "$tarball" | "$root" | "$SENEX_CACHE/trixie-tools-current") ;;
    *) rm -rf "$old" ;;
  esac
done
echo "prepare: trixie tools root $root" >&2

# A local S3 endpoint (moto, from trixie) for the S3 lifecycle provider test.
bash "$here/../support/moto.sh" >/dev/null
