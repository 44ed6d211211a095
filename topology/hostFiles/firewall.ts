// The host firewall, narrowed to the exact peers of this host (the Day-0 bootstrap writes the same
// file, with the whole subnet where the cloud assigns addresses; this replaces it in place).
import { FIREWALL_CHECK } from "../../render/cloudinit";
import { renderNftables } from "../../render/nftables";
import { hostFirewall } from "../firewall";
import type { HostFile } from "./file";
import { FIREWALL_FILE, FIREWALL_UNIT, type HostContext } from "./layout";

export function firewallFiles(ctx: HostContext): HostFile[] {
  const spec = hostFirewall(ctx.config, ctx.topology, ctx.host, ctx.addressOf);
  // Owned by root: the admin layer writes it, and the system unit reloads only our nft table. The
  // bootstrap owns the file too: a destroy leaves it (and the firewall) in place.
  // Checked by nft before it is written, and RELOADED, never restarted: the unit's stop drops the
  // table, so a restart would leave the host open for a moment, and for good if the load failed.
  return [{ path: FIREWALL_FILE, mode: "0600", owner: "root", content: renderNftables(spec), restarts: [], reloads: [FIREWALL_UNIT], check: FIREWALL_CHECK, keepOnDelete: true }];
}
