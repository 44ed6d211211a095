// TLS certificates with lego (Debian's ACME client, a single Go binary installed by the bootstrap
// on web hosts), HTTP-01 through the webroot nginx serves. Runs as `senex` (systemd --user
// service + timer), like nginx itself, so no root step is involved in renewals.
//
// The script has two entry points:
// - `placeholder`: nginx's ExecStartPre. Puts a short-lived self-signed certificate where nginx
//   reads its certificate if none is there yet, so nginx starts (and serves the ACME challenge)
//   before the first real certificate exists.
// - `renew`: issues on first run, renews later (lego skips certificates with > 30 days left),
//   then deploys: copies lego's files over nginx's atomically and sends nginx SIGHUP (reload).
// Test stacks point `directoryUrl` at pebble and `caBundle` at pebble's CA.

import { shellWord } from "./shell-words";
import { renderUnitSections, unitCommandLine } from "./systemd";

/** What lego needs. All paths are on the host. */
export interface AcmeSpec {
  /** Certificate names: the domain and www.<domain>. */
  readonly domain: string;
  /** ACME account e-mail. */
  readonly email: string;
  /** ACME directory URL (Let's Encrypt in production, pebble in tests). */
  readonly directoryUrl: string;
  /** CA bundle that signs the ACME server's TLS certificate (tests: pebble's), passed as LEGO_CA_CERTIFICATES. */
  readonly caBundle?: string;
  /** Directory nginx serves at /.well-known/acme-challenge/ (its parent of `.well-known`). */
  readonly webroot: string;
  /** Directory where nginx reads fullchain.pem / privkey.pem. */
  readonly tlsDir: string;
  /** lego's own state directory (account, certificates). */
  readonly legoPath: string;
  /** Where this script lives on the host (units call it). */
  readonly scriptPath: string;
  /** Container name of nginx (for the reload signal). */
  readonly nginxContainer: string;
  /** Unit name of nginx (the renewal waits for it: the challenge must be served). */
  readonly nginxUnit: string;
}

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;


function validate(spec: AcmeSpec): void {
  const problems: string[] = [];
  if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(spec.domain)) problems.push(`\`domain\` ${JSON.stringify(spec.domain)} is not a DNS name`);
  if (!/^[^\s@'"]+@[^\s@'"]+$/.test(spec.email)) problems.push(`\`email\` ${JSON.stringify(spec.email)} is not an e-mail address`);
  if (!/^https:\/\/[^\s'"]+$/.test(spec.directoryUrl)) problems.push(`\`directoryUrl\` must be an https URL`);
  for (const [key, value] of [["caBundle", spec.caBundle], ["webroot", spec.webroot], ["tlsDir", spec.tlsDir], ["legoPath", spec.legoPath], ["scriptPath", spec.scriptPath]] as const) {
    if (value !== undefined && !(value.startsWith("/") && PLAIN.test(value))) problems.push(`\`${key}\` must be an absolute path of plain characters`);
  }
  if (!PLAIN.test(spec.nginxContainer) || !PLAIN.test(spec.nginxUnit)) problems.push("`nginxContainer`/`nginxUnit` must be plain names");
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

/** The renewal script (bash; shellcheck-clean). */
export function renderAcmeScript(spec: AcmeSpec): string {
  validate(spec);
  return `#!/bin/bash
# ACME certificates for ${spec.domain} with lego (HTTP-01 webroot); rendered by senex-infra.
set -euo pipefail

domain=${spec.domain}
tls_dir=${spec.tlsDir}
webroot=${spec.webroot}
lego_path=${spec.legoPath}
nginx_container=${spec.nginxContainer}
${spec.caBundle ? `export LEGO_CA_CERTIFICATES=${spec.caBundle}\n` : ""}
lego_args=(--accept-tos --email ${shellWord(spec.email)} --server ${shellWord(spec.directoryUrl)}
  --path "$lego_path" --http --http.webroot "$webroot" --key-type ec256
  --domains "$domain" --domains "www.$domain")

placeholder() {
  install -d -m 0755 "$webroot/.well-known/acme-challenge"
  install -d -m 0700 "$tls_dir"
  if [ -s "$tls_dir/fullchain.pem" ] && [ -s "$tls_dir/privkey.pem" ]; then
    return 0
  fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \\
    -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain,DNS:www.$domain" \\
    -keyout "$tls_dir/privkey.pem.new" -out "$tls_dir/fullchain.pem.new" 2>/dev/null
  chmod 0600 "$tls_dir/privkey.pem.new" "$tls_dir/fullchain.pem.new"
  mv -f "$tls_dir/privkey.pem.new" "$tls_dir/privkey.pem"
  mv -f "$tls_dir/fullchain.pem.new" "$tls_dir/fullchain.pem"
}

deploy() {
  local crt="$lego_path/certificates/$domain.crt" key="$lego_path/certificates/$domain.key"
  if [ ! -s "$crt" ] || [ ! -s "$key" ]; then
    echo "acme: lego produced no certificate for $domain" >&2
    return 1
  fi
  if cmp -s "$crt" "$tls_dir/fullchain.pem" && cmp -s "$key" "$tls_dir/privkey.pem"; then
    return 0
  fi
  install -m 0600 "$key" "$tls_dir/privkey.pem.new"
  install -m 0600 "$crt" "$tls_dir/fullchain.pem.new"
  mv -f "$tls_dir/privkey.pem.new" "$tls_dir/privkey.pem"
  mv -f "$tls_dir/fullchain.pem.new" "$tls_dir/fullchain.pem"
  # SIGHUP: nginx re-reads its configuration and certificates without dropping connections.
  if podman container exists "$nginx_container"; then
    podman kill --signal HUP "$nginx_container" >/dev/null
  fi
}

renew() {
  placeholder
  if [ -s "$lego_path/certificates/$domain.crt" ]; then
    lego "\${lego_args[@]}" renew --days 30 --no-random-sleep
  else
    lego "\${lego_args[@]}" run
  fi
  deploy
}

case "\${1:-}" in
  placeholder) placeholder ;;
  renew) renew ;;
  deploy) deploy ;;
  *) echo "usage: $0 placeholder|renew|deploy" >&2; exit 2 ;;
esac
`;
}

/** systemd --user units for renewal: `{ "senex-acme.service": …, "senex-acme.timer": … }`. */
export function renderAcmeUnits(spec: AcmeSpec): Record<string, string> {
  validate(spec);
  return {
    "senex-acme.service": renderUnitSections([
      { name: "Unit", entries: [["Description", `ACME certificate for ${spec.domain} (lego)`], ["Wants", [spec.nginxUnit]], ["After", [spec.nginxUnit, "network-online.target"]]] },
      {
        name: "Service",
        entries: [
          ["Type", "oneshot"],
          ["ExecStart", unitCommandLine(["/bin/bash", spec.scriptPath, "renew"])],
          // The ACME server may be briefly unreachable; the timer retries twice a day anyway.
          ["TimeoutStartSec", 600],
        ],
      },
    ]),
    "senex-acme.timer": renderUnitSections([
      { name: "Unit", entries: [["Description", `Renew the ACME certificate for ${spec.domain}`]] },
      { name: "Timer", entries: [["OnBootSec", "2min"], ["OnCalendar", "*-*-* 03,15:17:00"], ["RandomizedDelaySec", "1h"], ["Persistent", true]] },
      { name: "Install", entries: [["WantedBy", ["timers.target"]]] },
    ]),
  };
}
