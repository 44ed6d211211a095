# Sourced by test/hosts/images/build-*.sh: what every stand-in service image shares.
# One mmdebstrap run (trixie minbase, no Recommends, no docs/man/translations/apt lists) makes the
# rootfs tarball; oci-archive.py turns it into an OCI archive cached as
# $SENEX_CACHE/<name>-<key>.oci.tar, <key> = senex_key of the build script, this file, the OCI
# helper and the image's own files. Older keys of the same image are removed.
# shellcheck shell=bash disable=SC2034  # the arrays and variables are used by the sourcing scripts
images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$images_dir/../../support/cache.sh"

TRIXIE_MIRROR=http://deb.debian.org/debian

# mmdebstrap options of every image (the rootfs goes to "$work/rootfs.tar").
# shellcheck disable=SC2016  # "$1" is expanded by mmdebstrap's hook shell, not here
SLIM=(
  --variant=minbase --format=tar --quiet
  --aptopt='APT::Install-Recommends "false"'
  # Later package installs into the image skip docs too (like Debian's own slim images).
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo' --dpkgopt='path-exclude=/usr/share/lintian/*'
)
# shellcheck disable=SC2016
CLEAN=(
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/* "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log "$1"/var/cache/debconf/*-old "$1"/run/adduser "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/lintian/*'
  --customize-hook='find "$1"/usr/share/doc -type f ! -name copyright -delete; find "$1"/usr/share/doc -depth -type d -empty -delete; find "$1"/usr/share/locale -name "*.mo" -delete'
)

# system_user NAME ID HOME SHELL GECOS: an --essential-hook that creates user and group NAME with
# uid = gid = ID before any package is configured, so a maintainer script's `adduser --system`
# finds it instead of picking a free uid (passwd/shadow are synced by pwconv/grpconv later).
system_user() {
  # shellcheck disable=SC2016  # "$1" is the chroot, expanded by mmdebstrap's hook shell
  printf -- '--essential-hook=echo "%s:x:%s:%s:%s:%s:%s" >> "$1/etc/passwd"; echo "%s:x:%s:" >> "$1/etc/group"' \
    "$1" "$2" "$2" "$5" "$3" "$4" "$1" "$2"
}
# shellcheck disable=SC2016
SHADOW_SYNC=(--customize-hook='chroot "$1" pwconv && chroot "$1" grpconv')

# image_begin NAME FILE...: computes the key from FILE... (the build script and the image's own
# files) plus this file and the OCI helper. A cached archive is printed and the script exits 0;
# otherwise a work directory is made (removed on exit) and the build serialised with a lock.
image_begin() {
  image_name="$1"
  shift
  key="$(senex_key "$@" "$images_dir/lib.sh" "$images_dir/oci-archive.py")"
  oci="$SENEX_CACHE/$image_name-$key.oci.tar"
  if [ -f "$oci" ]; then echo "$oci"; exit 0; fi
  exec {image_lock}>"$SENEX_CACHE/$image_name.lock"
  flock "$image_lock"
  if [ -f "$oci" ]; then echo "$oci"; exit 0; fi   # built meanwhile by another prepare run
  image_start=$SECONDS
  work="$(mktemp -d "$SENEX_CACHE/$image_name-build.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  echo "build-image: building $image_name-$key" >&2
}

# image_finish CONFIG_JSON: the OCI archive from "$work/rootfs.tar" with the image config object
# CONFIG_JSON; removes older keys of this image; prints the archive's path.
image_finish() {
  python3 "$images_dir/oci-archive.py" "$work/rootfs.tar" "$oci" "$1"
  local old
  for old in "$SENEX_CACHE/$image_name"-????????????????.oci.tar; do
    [ "$old" = "$oci" ] || rm -f "$old"
  done
  echo "build-image: built $image_name-$key ($(du -h "$oci" | cut -f1) archive, $(du -h "$work/rootfs.tar" | cut -f1) unpacked) in $((SECONDS - image_start)) s" >&2
  echo "$oci"
}
