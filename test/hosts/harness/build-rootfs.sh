#!/usr/bin/env bash
# Builds (once) the Debian trixie root filesystem every test host boots from, shaped like a fresh
# Hetzner / DigitalOcean Debian 13 cloud image: cloud-init, openssh-server, sudo, curl, systemd
# with networkd — and deliberately NOT podman, nftables, fail2ban or our users: the project's own
# Day-0 bootstrap must install and configure those for real.
# Cached as $SENEX_CACHE/trixie-host-<key>.tar.zst, <key> = hash of this script (which holds the
# package list and every image tweak). Prints the tarball path on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../support/cache.sh"

HOST_PACKAGES=(
  systemd systemd-sysv dbus dbus-user-session libpam-systemd
  openssh-server sudo cloud-init
  iproute2 iputils-ping netbase ca-certificates curl gpg
  less
)

key="$(senex_key "$0")"
tarball="$SENEX_CACHE/trixie-host-$key.tar.zst"
if [ -f "$tarball" ]; then echo "$tarball"; exit 0; fi

start=$SECONDS
echo "build-rootfs: building $tarball" >&2
rm -f "$tarball.partial"
# Image tweaks, each one a failure on these machines before it was added (see TESTHOSTS.md):
#  - no SSH host keys and an empty machine-id in the image: every host gets its own;
#  - this machine's cgroup2 has no controllers, so podman's default pids limit fails;
#  - NoCloud seeds only (no network metadata service here), networkd as the renderer although
#    ifupdown is present, and network-online.target reached at boot (else every Quadlet start
#    waits 90 s on podman-user-wait-network-online.service).
mmdebstrap --variant=important --format=tar --quiet \
  --include="$(IFS=,; echo "${HOST_PACKAGES[*]}")" \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook=': > "$1"/etc/machine-id; rm -f "$1"/var/lib/dbus/machine-id' \
  --customize-hook='mkdir -p "$1"/etc/containers/containers.conf.d && printf "%s\n" "# test hosts: cgroup2 without controllers (see TESTHOSTS.md); a real VPS does not need this" "[containers]" "pids_limit = 0" > "$1"/etc/containers/containers.conf.d/50-senex-test-host.conf' \
  --customize-hook='printf "%s\n" "datasource_list: [NoCloud, None]" "system_info:" "  network:" "    renderers: [networkd]" > "$1"/etc/cloud/cloud.cfg.d/90-senex-test-host.cfg' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd.service systemd-networkd-wait-online.service' \
  --customize-hook='chroot "$1" systemctl add-wants multi-user.target network-online.target' \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
  trixie - http://deb.debian.org/debian | zstd -q -T0 -6 -o "$tarball.partial"
mv "$tarball.partial" "$tarball"
echo "build-rootfs: built $(du -h "$tarball" | cut -f1) in $((SECONDS - start)) s" >&2
for old in "$SENEX_CACHE"/trixie-host-*.tar.zst; do [ "$old" = "$tarball" ] || rm -f "$old"; done
echo "$tarball"
