// The server certificate of PostgreSQL and PgBouncer (both run `ssl = on`): a self-signed
// certificate + key made on the host, once, by the unit's ExecStartPre (like render/acme.ts's
// `placeholder` step for nginx), with openssl from the bootstrap's base packages.
//
// Why self-signed and unverified: every client of these servers (the app, PgBouncer towards
// PostgreSQL, the standby's replication) connects with sslmode=require: the private network
// traffic is encrypted, but no client verifies the certificate (no CA to distribute or rotate).
// A stack that wants verify-ca later replaces the files; the script never overwrites existing ones.
//
// Why `podman unshare chown`: the containers are rootless, so a file the `senex` user owns is
// root:root inside them. PostgreSQL refuses a key it cannot read, and one that is readable by group
// or others unless root owns it; the service user (postgres 999, pgbouncer 1001) must own it with
// mode 0600. In senex's user namespace uid 0 is senex and uid N maps to a subordinate id, so the
// chown runs there, with the container's numbers.
//
// Usage: server-tls.sh DIR UID GID COMMON-NAME [IP-ADDRESS...]
// (render/quadlet-host.ts `serverTlsPaths`/ExecStartPre passes them; the script itself holds no spec,
// so one copy serves every service of a host).

/** The script (bash; shellcheck-clean). Pure: the same text for every host. */
export function renderServerTlsScript(): string {
  return `#!/bin/bash
# Server TLS for PostgreSQL/PgBouncer: a self-signed certificate + key, made once, owned by the
# service's uid inside its rootless container. Rendered by senex-infra (render/server-tls.ts).
# Usage: $0 DIR UID GID COMMON-NAME [IP-ADDRESS...]
set -euo pipefail

usage() {
  echo "usage: $0 DIR UID GID COMMON-NAME [IP-ADDRESS...]" >&2
  exit 64
}

[ "$#" -ge 4 ] || usage
dir="$1" uid="$2" gid="$3" cn="$4"
shift 4
case "$uid:$gid" in
  *[!0-9:]* | :* | *:) usage ;;
esac
case "$dir" in
  /*) ;;
  *) usage ;;
esac

san="DNS:$cn"
for ip in "$@"; do
  san="$san,IP:$ip"
done

# The directory stays senex's (0755: PostgreSQL must traverse it); the key inside is 0600.
install -d -m 0755 "$dir"
if [ ! -s "$dir/server.key" ] || [ ! -s "$dir/server.crt" ]; then
  tmp="$(mktemp -d "$dir/.new.XXXXXX")"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \\
    -subj "/CN=$cn" -addext "subjectAltName=$san" \\
    -keyout "$tmp/server.key" -out "$tmp/server.crt" 2>/dev/null
  chmod 0600 "$tmp/server.key"
  chmod 0644 "$tmp/server.crt"
  podman unshare chown "$uid:$gid" "$tmp/server.key" "$tmp/server.crt"
  # Certificate first: a key without its certificate is never left in place.
  mv -f "$tmp/server.crt" "$dir/server.crt"
  mv -f "$tmp/server.key" "$dir/server.key"
  rmdir "$tmp"
fi

# Re-asserted on every start (cheap): a restored or hand-copied key gets the right owner again.
podman unshare chown "$uid:$gid" "$dir/server.key" "$dir/server.crt"
`;
}
