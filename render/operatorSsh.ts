/**
 * What an operator needs to reach every host of a stack with OpenSSH, with the same pinned host keys
 * our SSH transport uses: a `known_hosts` file and an `ssh_config` whose `Host` entries are the
 * topology's host names (`ssh -F <(pulumi stack output ssh_config) db-1`). Both are stack outputs and
 * hold only public data (names, addresses, ports, user names, public host keys), so they are not
 * secrets. Pure: no Pulumi here.
 */

/** One host as an operator reaches it. */
export interface OperatorSshHost {
    /** Topology name (`main`, `db-1`): the `Host` of its ssh_config entry and its known_hosts alias. */
    readonly name: string;
    /** The address SSH connects to (public IPv4/IPv6 address or DNS name). */
    readonly address: string;
    readonly port: number;
    /** The pinned host key, `ssh-ed25519 AAAA…` (a trailing comment is dropped). */
    readonly hostKey: string;
}

/** The sudo-capable user our system layer logs in as; `senex` (the containers' user) is `senex@NAME`. */
export const OPERATOR_SSH_USER = "admin";

const NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** IPv4, IPv6 or a DNS name: nothing that could end an ssh_config line or a known_hosts pattern. */
const ADDRESS = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|[0-9A-Fa-f:.]+)$/;
const KEY = /^(ssh-ed25519) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/;
/** A path OpenSSH takes unquoted (a leading `~/` is expanded by ssh). */
const PATH = /^[A-Za-z0-9_./~+-]+$/;

/** Checks one host; a bad value is a programming or config error that must not reach a file ssh parses. */
function check(hosts: readonly OperatorSshHost[]): { name: string; address: string; port: number; keyType: string; keyBlob: string }[] {
    const seen = new Set<string>();
    return hosts.map((h) => {
        if (!NAME.test(h.name)) throw new Error(`operator ssh: host name ${JSON.stringify(h.name)} is not a topology name (lower-case letters, digits, '-')`);
        if (seen.has(h.name)) throw new Error(`operator ssh: host ${h.name} appears twice`);
        seen.add(h.name);
        if (!ADDRESS.test(h.address)) throw new Error(`operator ssh: host ${h.name}: address ${JSON.stringify(h.address)} is not an IP address or DNS name`);
        if (!Number.isInteger(h.port) || h.port < 1 || h.port > 65535) throw new Error(`operator ssh: host ${h.name}: port ${h.port} is not a TCP port`);
        const key = KEY.exec(h.hostKey.trim());
        if (!key) throw new Error(`operator ssh: host ${h.name}: host key is not \`ssh-ed25519 BASE64\``);
        return { name: h.name, address: h.address, port: h.port, keyType: key[1], keyBlob: key[2] };
    });
}

/** `addr` on port 22, `[addr]:port` otherwise: how OpenSSH names a host in known_hosts. */
function addressPattern(address: string, port: number): string {
    return port === 22 ? address : `[${address}]:${port}`;
}

/**
 * One line per host: `NAME,ADDRESS TYPE KEY`. The name matches the ssh_config's `HostKeyAlias`;
 * the address (with `[…]:port` off port 22) also lets a plain `ssh -p PORT admin@ADDRESS` check it.
 */
export function renderKnownHosts(hosts: readonly OperatorSshHost[]): string {
    return check(hosts)
        .map((h) => `${h.name},${addressPattern(h.address, h.port)} ${h.keyType} ${h.keyBlob}\n`)
        .join("");
}

/**
 * One `Host NAME` entry per host. `HostKeyAlias` makes ssh look the key up by the host's name, so a
 * new address keeps the pinned key; `StrictHostKeyChecking yes` refuses any host whose key is not
 * in `knownHostsFile` (never trust on first use, never a prompt to accept).
 */
export function renderSshConfig(hosts: readonly OperatorSshHost[], opts: { knownHostsFile: string; stack: string }): string {
    if (!PATH.test(opts.knownHostsFile)) throw new Error(`operator ssh: known_hosts path ${JSON.stringify(opts.knownHostsFile)} has characters ssh_config would split on`);
    const checked = check(hosts);
    const lines = [
        `# senex-infra stack ${opts.stack.replace(/[^\w.-]/g, "?")}: write \`pulumi stack output known_hosts\` to ${opts.knownHostsFile} first.`,
        `# Log in as ${OPERATOR_SSH_USER} (sudo) with \`ssh -F FILE NAME\`, as senex (the containers' user) with \`ssh -F FILE senex@NAME\`.`,
    ];
    for (const h of checked) {
        lines.push(
            "",
            `Host ${h.name}`,
            `  HostName ${h.address}`,
            `  Port ${h.port}`,
            `  User ${OPERATOR_SSH_USER}`,
            `  HostKeyAlias ${h.name}`,
            `  UserKnownHostsFile ${opts.knownHostsFile}`,
            `  StrictHostKeyChecking yes`,
            `  CheckHostIP no`,
        );
    }
    return lines.join("\n") + "\n";
}

/** Where the README tells operators to write a stack's known_hosts output (ssh expands `~`). */
export function operatorKnownHostsPath(stack: string): string {
    return `~/.ssh/senex-infra-${stack.replace(/[^A-Za-z0-9_.-]/g, "_")}.known_hosts`;
}
