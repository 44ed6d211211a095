/**
 * What the host layer derives from a host's file set without SSH: which units read each podman
 * secret (they restart when its value changes) and which images the user layer pulls.
 */
import * as path from "path";
import { quadletImages, secretReaders } from "../../../components/hostServices";
import { parseStackConfig } from "../../../config/schema";
import { rawConfigFromStackFile } from "../../../plan/stackFile";
import { buildTopology } from "../../../topology";
import { hostFiles } from "../../../topology/hostFiles";

const file = path.resolve(__dirname, "../../../examples/Pulumi.existing-phase1.yaml");
const config = parseStackConfig(rawConfigFromStackFile(file), "senex-infra", "existing-phase1");
const topology = buildTopology(config);
const set = hostFiles(config, topology, topology.hosts[0]!);

describe("host layer derivations (phase 1, one host)", () => {
  it("a podman secret restarts exactly the containers that name it", () => {
    const readers = secretReaders(set.files);
    expect(readers.get("senex-db-app-password")?.sort()).toEqual(
      ["senex-celery-beat.service", "senex-celery-worker.service", "senex-collectstatic.service", "senex-daphne-8001.service", "senex-daphne-8002.service", "senex-migrate.service"].sort(),
    );
    // PostgreSQL itself never reads the app password (the roles unit applies its verifier).
    expect(readers.get("senex-db-app-password")).not.toContain("senex-postgres.service");
    expect(readers.get("senex-redis-password")).toEqual(expect.arrayContaining(["senex-redis-broker.service", "senex-redis-cache.service", "senex-daphne-8001.service"]));
    // Every secret the host creates has at least one reader, and every reader's secret is created.
    for (const name of set.podmanSecrets) expect(readers.has(name)).toBe(true);
    for (const name of readers.keys()) expect(set.podmanSecrets).toContain(name);
  });

  it("pulls each registry image once, never a .image/.build unit reference", () => {
    const images = quadletImages(set.files);
    expect(images).toEqual([config.images.app, config.images.nginx, config.images.postgres, config.images.redis].sort());
    expect(images.some((i) => /\.(image|build)$/.test(i))).toBe(false);
  });
});
