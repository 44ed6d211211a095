import { catalogs, serverTypeMonthlyUsd } from "../catalog";
import type { StackConfig } from "../config/types";
import type { Topology } from "../topology/types";

export interface CostLine {
    item: string;
    quantity: number;
    unitMonthlyUsd: number;
    monthlyUsd: number;
}

export interface CostEstimate {
    lines: CostLine[];
    totalMonthlyUsd: number;
    /** Where the prices come from, and their date; empty for existing servers. */
    source?: { url: string; retrieved: string; note: string; currencyNote: string };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The monthly bill of a stack: servers (with Hetzner's separately billed IPv4), data volumes, the
 * load balancer and object storage, from the cloud catalog. Existing servers cost nothing here:
 * they are already paid for. Pure.
 */
export function estimateCost(config: StackConfig, topology: Topology): CostEstimate {
    if (config.cloud === "existing") return { lines: [], totalMonthlyUsd: 0 };
    const catalog = catalogs[config.cloud];
    const region = config.region!;
    const lines: CostLine[] = [];
    const add = (item: string, quantity: number, unit: number) => {
        const existing = lines.find((l) => l.item === item);
        if (existing) {
            existing.quantity += quantity;
            existing.monthlyUsd = round2(existing.quantity * existing.unitMonthlyUsd);
        } else lines.push({ item, quantity, unitMonthlyUsd: round2(unit), monthlyUsd: round2(quantity * unit) });
    };
    for (const host of topology.hosts) {
        const price = serverTypeMonthlyUsd(config.cloud, host.size!, region);
        if (price === undefined) throw new Error(`no price for ${config.cloud} ${host.size} in ${region}`);
        add(`server ${host.size} (${host.groups.join("+")})`, 1, price);
    }
    if (catalog.primaryIpv4MonthlyUsd > 0) add("primary IPv4", topology.hosts.length, catalog.primaryIpv4MonthlyUsd);
    const volumeGb = topology.hosts.reduce((sum, h) => sum + (h.dataVolumeGb ?? 0), 0);
    if (volumeGb > 0) add("data volumes (GB)", volumeGb, catalog.blockStorage.perGbMonthlyUsd);
    if (topology.loadBalancer?.kind === "cloud") add(`load balancer ${catalog.loadBalancer.type}`, 1, catalog.loadBalancer.monthlyUsd);
    if (config.backups.enabled) add(`object storage (${catalog.objectStorage.includedGb} GB included)`, 1, catalog.objectStorage.monthlyUsd);
    return {
        lines,
        totalMonthlyUsd: round2(lines.reduce((s, l) => s + l.monthlyUsd, 0)),
        source: { ...catalog.source, currencyNote: catalog.currencyNote },
    };
}
