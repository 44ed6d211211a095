// Grafana Loki config: single binary (monolithic), filesystem storage, retention by the compactor.
// Loki is AGPL and is never run here; tests check the documented schema (ARCHITECTURE: Pitfalls).
import { stringify } from "yaml";
import { absolutePath, intInRange, ipAddress } from "./conf-syntax";

/** Typed input of loki.yaml. */
export interface LokiSpec {
  /** Address Loki listens on (the monitoring host's private address; Alloy on every host pushes here). */
  readonly listenAddress: string;
  /** HTTP port. Default 3100. */
  readonly httpPort?: number;
  /** gRPC port (internal to the single binary). Default 9096. */
  readonly grpcPort?: number;
  /** Storage root for chunks, index, rules and compactor state. */
  readonly dataDirectory: string;
  /** Days logs are kept before the compactor deletes them. */
  readonly retentionDays: number;
  /** First day of the schema (YYYY-MM-DD); must never change once logs exist. */
  readonly schemaFrom: string;
}

/** Renders loki.yaml. */
export function renderLokiConfig(spec: LokiSpec): string {
  const dir = absolutePath("dataDirectory", spec.dataDirectory);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(spec.schemaFrom)) throw new Error("`schemaFrom` must be YYYY-MM-DD");
  const days = intInRange("retentionDays", spec.retentionDays, 1, 3650);
  const doc = {
    // Single tenant: only Alloy on our private network reaches it; Grafana queries it via proxy.
    auth_enabled: false,
    server: {
      http_listen_address: ipAddress("listenAddress", spec.listenAddress),
      http_listen_port: intInRange("httpPort", spec.httpPort ?? 3100, 1, 65535),
      grpc_listen_address: "127.0.0.1",
      grpc_listen_port: intInRange("grpcPort", spec.grpcPort ?? 9096, 1, 65535),
      log_level: "warn",
    },
    common: {
      instance_addr: "127.0.0.1",
      path_prefix: dir,
      storage: { filesystem: { chunks_directory: `${dir}/chunks`, rules_directory: `${dir}/rules` } },
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
    },
    schema_config: {
      configs: [
        { from: spec.schemaFrom, store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } },
      ],
    },
    limits_config: {
      retention_period: `${days * 24}h`,
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
    },
    compactor: {
      working_directory: `${dir}/compactor`,
      // Without retention_enabled the compactor only compacts and retention_period is ignored.
      retention_enabled: true,
      delete_request_store: "filesystem",
    },
    analytics: { reporting_enabled: false },
  };
  return "# Rendered by senex-infra; do not edit on the host.\n" + stringify(doc, { lineWidth: 0 });
}
