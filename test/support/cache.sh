# Sourced by test/<tier>/prepare.sh scripts: where heavy test artefacts are cached, how they are
# keyed, and how Debian packages get installed on the (bookworm) machine running the suite.
# Caches live OUTSIDE the clone because CI runs in a fresh clone on a possibly reused machine.

SENEX_CACHE="${SENEX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/senex-infra}"
mkdir -p "$SENEX_CACHE"

# senex_key FILE... [-- WORD...]: a short hash of the given files' contents and words; a cache
# named with it is rebuilt exactly when one of its inputs changes.
senex_key() {
  local files=() words=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; words=("$@"); break; fi
    files+=("$1"); shift
  done
  { cat "${files[@]}"; printf '%s\n' "${words[@]}"; } | sha256sum | cut -c1-16
}

# senex_apt_install PKG...: installs the packages that are missing, running `apt-get update`
# once per prepare run and only when something is missing (a cached run stays offline and fast).
senex_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "prepare: apt-get install ${missing[*]}" >&2
  if [ -z "${_SENEX_APT_UPDATED:-}" ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    _SENEX_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2
}

# senex_unpack TARBALL DIR: unpacks a cached rootfs tarball into DIR atomically (DIR.partial,
# then rename), keeping xattrs (file capabilities, e.g. newuidmap) and numeric owners.
senex_unpack() {
  local tarball="$1" dir="$2"
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial"
  tar --zstd -xpf "$tarball" -C "$dir.partial" --xattrs --xattrs-include='*' --numeric-owner
  mv -T "$dir.partial" "$dir"
}

# senex_point LINK TARGET: atomically (re)points the symlink LINK at TARGET, so readers never see
# a missing or half-made link.
senex_point() {
  ln -sfn "$2" "$1.new.$$"
  mv -T "$1.new.$$" "$1"
}
