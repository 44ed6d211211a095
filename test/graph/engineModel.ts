import type { RecordedResource } from "../../plan/mockEngine";

/**
 * What the engine does with aliases, for comparing two runs (a phase change): a resource of the new
 * run continues one of the old run when its URN, one of its own aliases, or an alias inherited
 * from an aliased parent (child named `${parent}-x` follows its parent's old name) names it.
 */
export function aliasUrns(r: RecordedResource, byUrn: ReadonlyMap<string, RecordedResource>): Set<string> {
    const out = new Set<string>();
    const urnOf = (name: string, type: string, parentUrn: string | undefined): string => {
        const [prefix, , parentType] = [r.urn.split("::").slice(0, 2).join("::"), null, parentUrn?.split("::")[2]];
        const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
        return `${prefix}::${qualified}::${name}`;
    };
    const parent = byUrn.get(r.parent);
    for (const a of r.aliases) {
        const u = urnOf(a.name ?? r.name, a.type ?? r.type, a.parentUrn ?? r.parent);
        if (u) out.add(u);
    }
    if (parent) {
        for (const parentAlias of aliasUrns(parent, byUrn)) {
            const parentAliasName = parentAlias.split("::").pop()!;
            const name = r.name.startsWith(parent.name) ? parentAliasName + r.name.slice(parent.name.length) : r.name;
            const u = urnOf(name, r.type, parentAlias);
            if (u) out.add(u);
        }
    }
    return out;
}

export interface Transition {
    created: string[];
    kept: string[];
    deleted: string[];
}

/** Which resources a phase change creates, keeps (same or aliased URN) and deletes. */
export function transition(before: readonly RecordedResource[], after: readonly RecordedResource[]): Transition {
    const beforeUrns = new Set(before.map((r) => r.urn));
    const byUrn = new Map(after.map((r) => [r.urn, r] as const));
    const matched = new Set<string>();
    const created: string[] = [];
    const kept: string[] = [];
    for (const r of after) {
        const hit = beforeUrns.has(r.urn) ? r.urn : [...aliasUrns(r, byUrn)].find((u) => beforeUrns.has(u));
        if (hit) {
            matched.add(hit);
            kept.push(r.urn);
        } else created.push(r.urn);
    }
    return { created, kept, deleted: before.map((r) => r.urn).filter((u) => !matched.has(u)) };
}
