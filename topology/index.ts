export * from "./types";
export { buildTopology, PORTS, subnetAddress } from "./build";
