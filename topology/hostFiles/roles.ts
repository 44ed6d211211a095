// PostgreSQL roles and the app database: a secret-derived psql script (SCRAM verifiers only) and
// the oneshot user unit that runs it against the local server. The unit is ordered before every
// app unit of the host, so in one restart transaction a rotation runs `ALTER ROLE` first and only
// then restarts the containers that read the new password (other hosts' app layers depend on this
// host's layer in the deployment, so they follow it).
import { renderPostgresRolesSql } from "../../render/pgroles";
import { scramVerifier } from "../../render/pgbouncer";
import { renderUnitSections } from "../../render/systemd";
import { senexFile, type HostFile } from "./file";
import { APP_DATABASE, CONFIG_ROOT, MONITOR_USER, REPLICATION_USER, USER_UNIT_DIR, type HostContext } from "./layout";
import { unitsOf } from "./quadlets";
import { secretPlaceholder, type SecretFileSource } from "./secrets";

/** The oneshot unit that applies the roles script. */
export const ROLES_UNIT = "senex-postgres-roles.service";
/** Not under the postgres config dir: that one is mounted into the container. */
export const ROLES_FILE = `${CONFIG_ROOT}/postgres-roles/roles.sql`;

/**
 * Roles and databases the primary holds (a standby receives them by replication): the one list of
 * database roles. The app's owns its database; the replication role exists with a standby; the
 * monitoring role (pg_monitor, no password: postgres-exporter logs in by peer over the socket,
 * see data.ts pg_hba/pg_ident) wherever the stack runs postgres-exporter.
 */
export function postgresRoles(ctx: HostContext): Extract<SecretFileSource, { kind: "postgres-roles" }> | undefined {
  const postgres = ctx.has("postgres");
  if (!postgres || postgres.role === "replica") return undefined;
  const exporter = ctx.topology.hosts.some((h) => h.services.some((s) => s.kind === "postgres-exporter"));
  return {
    kind: "postgres-roles",
    roles: [
      { name: APP_DATABASE.user, password: "dbAppPassword" },
      ...(ctx.topology.dbReplica ? [{ name: REPLICATION_USER, password: "dbReplicationPassword" as const, attributes: ["REPLICATION" as const] }] : []),
    ],
    ...(exporter ? { peerRoles: [{ name: MONITOR_USER, memberOf: ["pg_monitor"] }] } : {}),
    databases: [{ name: APP_DATABASE.name, owner: APP_DATABASE.user, extensions: ["pg_stat_statements"] }],
  };
}

export function roleFiles(ctx: HostContext): HostFile[] {
  const source = postgresRoles(ctx);
  if (!source) return [];
  // Display form: a stand-in verifier per role, then its placeholder.
  const stand = (i: number) => scramVerifier(`stand-in-${i}`, Buffer.alloc(16, i + 1));
  let display = renderPostgresRolesSql({ roles: [...source.roles.map((r, i) => ({ ...r, verifier: stand(i) })), ...(source.peerRoles ?? [])], databases: source.databases });
  source.roles.forEach((r, i) => (display = display.split(stand(i)).join(secretPlaceholder(r.password, "scram"))));
  const before = unitsOf(ctx, "migrate", "collectstatic", "daphne", "celery-worker", "celery-beat", "pgbouncer", "postgres-exporter");
  const unit = renderUnitSections(
    [
      {
        name: "Unit",
        entries: [
          ["Description", `senex PostgreSQL roles and databases on ${ctx.host.name} (idempotent)`],
          ["Requires", unitsOf(ctx, "postgres")],
          ["After", unitsOf(ctx, "postgres")],
          ["Before", before],
        ],
      },
      {
        name: "Service",
        entries: [
          ["Type", "oneshot"],
          ["RemainAfterExit", "yes"],
          // The script reaches psql on stdin; the local superuser over the container's socket (peer).
          ["StandardInput", `file:${ROLES_FILE}`],
          ["ExecStart", "/usr/bin/podman exec -i --user postgres senex-postgres psql -X -q -d postgres"],
        ],
      },
      { name: "Install", entries: [["WantedBy", ["default.target"]]] },
    ],
    ["Rendered by senex-infra; do not edit on the host."],
  );
  return [
    senexFile(ROLES_FILE, display, [ROLES_UNIT], { mode: "0600", fromSecrets: source }),
    senexFile(`${USER_UNIT_DIR}/${ROLES_UNIT}`, unit, [ROLES_UNIT]),
  ];
}
