#!/usr/bin/env bash
# Prepares bench/converge: the Ansible side runs from Debian trixie's own packages — `ansible` 12
# (the collections bundle, containers.podman 1.17 among them) on `ansible-core` — in a small
# trixie chroot of its own, built once with mmdebstrap and cached as
# $SENEX_CACHE/trixie-ansible-<key> (key = hash of this script, which holds the package list).
# Prints the chroot path last. The benchmark runs `ansible-playbook` in it with plain `chroot` in
# this machine's network namespace, so it reaches the test hosts on the bridge.
# Also the caches both sides share: test hosts + images (test/hosts/prepare.sh), pebble
# (test/consumers/prepare.sh) and the Pulumi engine (test/engine/prepare.sh runs both).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$repo/test/support/cache.sh"

ANSIBLE_PACKAGES=(
  ansible ansible-core        # ansible 12.x with containers.podman 1.17 (verified at build time below)
  openssh-client              # the ssh connection plugin
  python3-jmespath python3-passlib
  ca-certificates
)

senex_apt_install mmdebstrap zstd util-linux
key="$(senex_key "$0")"
root="$SENEX_CACHE/trixie-ansible-$key"
exec 8>"$SENEX_CACHE/trixie-ansible.lock"
flock 8
if [ ! -d "$root" ]; then
  start=$SECONDS
  rm -rf "$root.partial"
  echo "converge prepare: building $root (mmdebstrap trixie: ${ANSIBLE_PACKAGES[*]})" >&2
  mmdebstrap --variant=minbase --quiet --include="$(IFS=,; echo "${ANSIBLE_PACKAGES[*]}")" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
    trixie "$root.partial" http://deb.debian.org/debian >&2
  # What the benchmark claims it runs: fail the build if Debian moved on.
  chroot "$root.partial" dpkg-query -W -f='${Package} ${Version}\n' ansible ansible-core > "$root.partial/senex-versions"
  chroot "$root.partial" sh -c 'ansible-galaxy collection list containers.podman 2>/dev/null | grep -E "^containers\.podman"' >> "$root.partial/senex-versions"
  grep -Eq '^ansible 12\.' "$root.partial/senex-versions" || { cat "$root.partial/senex-versions" >&2; echo "converge prepare: expected ansible 12" >&2; exit 1; }
  grep -Eq '^containers\.podman +1\.17\.' "$root.partial/senex-versions" || { cat "$root.partial/senex-versions" >&2; echo "converge prepare: expected containers.podman 1.17" >&2; exit 1; }
  mv -T "$root.partial" "$root"
  echo "converge prepare: built $root in $((SECONDS - start)) s" >&2
fi
senex_point "$SENEX_CACHE/trixie-ansible-current" "$root"
for old in "$SENEX_CACHE"/trixie-ansible-*; do
  case "$old" in "$root" | "$SENEX_CACHE/trixie-ansible-current" | "$SENEX_CACHE/trixie-ansible.lock") ;; *) rm -rf "$old" ;; esac
done
sed 's/^/converge prepare: /' "$root/senex-versions" >&2
echo "$root"
