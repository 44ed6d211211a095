// The host firewall, narrowed to the exact peers of this host (the Day-0 bootstrap writes the same
// file, with the whole subnet where the cloud assigns addresses; this replaces it in place).
import { renderNftables } from "../../render/nftables";
import { hostFirewall } from "../firewall";
import type { HostFile } from "./file";
import { FIREWALL_FILE, FIREWALL_UNIT, type HostContext } from "./layout";

export function firewallFiles(ctx: HostContext): HostFile[] {
  const spec = hostFirewall(ctx.config, ctx.topology, ctx.host, ctx.addressOf);
  // Owned by root: the admin layer writes it, and the system unit reloads only our nft table. The
  // bootstrap owns the file too: a destroy leaves it (and the firewall) in place.
  return [{ path: FIREWALL_FILE, mode: "0600", owner: "root", content: renderNftables(spec), restarts: [FIREWALL_UNIT], keepOnDelete: true }];
}
