import { OperatorSshHost, operatorKnownHostsPath, renderKnownHosts, renderSshConfig } from "../../../render/operatorSsh";

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEomy+fnvdYaZRXSlk9A0O+2sTksvO8QzBhIr5oqlkWa";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const host = (over: Partial<OperatorSshHost> = {}): OperatorSshHost => ({ name: "db-1", address: "203.0.113.10", port: 22, hostKey: KEY_A, ...over });
const OPTS = { knownHostsFile: "~/.ssh/senex-infra-production.known_hosts", stack: "production" };

describe("renderKnownHosts", () => {
    it.each<[string, OperatorSshHost[], string]>([
        ["no hosts: an empty file", [], ""],
        ["port 22: the bare address beside the name", [host()], `db-1,203.0.113.10 ${KEY_A}\n`],
        ["another port: [address]:port, as OpenSSH writes it", [host({ port: 2222 })], `db-1,[203.0.113.10]:2222 ${KEY_A}\n`],
        ["IPv6 on another port", [host({ address: "2001:db8::10", port: 2222 })], `db-1,[2001:db8::10]:2222 ${KEY_A}\n`],
        ["a DNS name (existing servers)", [host({ name: "main", address: "app.example.com" })], `main,app.example.com ${KEY_A}\n`],
        ["a key comment is dropped (it is no part of the key)", [host({ hostKey: `${KEY_A} root@db-1\n` })], `db-1,203.0.113.10 ${KEY_A}\n`],
        ["one line per host, in order", [host({ name: "web-1", hostKey: KEY_B }), host({ name: "db-1", address: "203.0.113.11" })], `web-1,203.0.113.10 ${KEY_B}\ndb-1,203.0.113.11 ${KEY_A}\n`],
    ])("%s", (_case, hosts, expected) => {
        expect(renderKnownHosts(hosts)).toBe(expected);
    });

    it.each<[string, Partial<OperatorSshHost>, RegExp]>([
        ["a name with a space (would add a pattern)", { name: "db 1" }, /host name "db 1" is not a topology name/],
        ["a name that is an ssh_config pattern", { name: "*" }, /host name "\*"/],
        ["an address with a newline (would inject a line)", { address: "203.0.113.10\nHost *" }, /address .* is not an IP address or DNS name/],
        ["an address with a comma (would add a pattern)", { address: "203.0.113.10,*" }, /is not an IP address or DNS name/],
        ["an address that looks like an option", { address: "-oProxyCommand=x" }, /is not an IP address or DNS name/],
        ["port 0", { port: 0 }, /port 0 is not a TCP port/],
        ["an RSA key (hosts pin ED25519 only)", { hostKey: "ssh-rsa AAAAB3NzaC1yc2E" }, /host key is not `ssh-ed25519 BASE64`/],
        ["a private key by mistake", { hostKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn" }, /host key is not/],
    ])("refuses %s", (_case, over, message) => {
        expect(() => renderKnownHosts([host(over)])).toThrow(message);
        expect(() => renderSshConfig([host(over)], OPTS)).toThrow(message);
    });

    it("refuses a name twice", () => {
        expect(() => renderKnownHosts([host(), host({ address: "203.0.113.11" })])).toThrow(/host db-1 appears twice/);
    });

    it("never prints a refused key's value", () => {
        const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-material";
        expect(() => renderKnownHosts([host({ hostKey: privateKey })])).toThrow(expect.objectContaining({ message: expect.not.stringContaining("secret-material") }));
    });
});

describe("renderSshConfig", () => {
    it("one Host entry per host: address, the stack's port, admin, the pinned key by name, strict checking", () => {
        const out = renderSshConfig([host({ port: 2222 }), host({ name: "web-1", address: "203.0.113.20", port: 2222, hostKey: KEY_B })], OPTS);
        expect(out).toBe(
            [
                "# senex-infra stack production: write `pulumi stack output known_hosts` to ~/.ssh/senex-infra-production.known_hosts first.",
                "# Log in as admin (sudo) with `ssh -F FILE NAME`, as senex (the containers' user) with `ssh -F FILE senex@NAME`.",
                "",
                "Host db-1",
                "  HostName 203.0.113.10",
                "  Port 2222",
                "  User admin",
                "  HostKeyAlias db-1",
                "  UserKnownHostsFile ~/.ssh/senex-infra-production.known_hosts",
                "  StrictHostKeyChecking yes",
                "  CheckHostIP no",
                "",
                "Host web-1",
                "  HostName 203.0.113.20",
                "  Port 2222",
                "  User admin",
                "  HostKeyAlias web-1",
                "  UserKnownHostsFile ~/.ssh/senex-infra-production.known_hosts",
                "  StrictHostKeyChecking yes",
                "  CheckHostIP no",
                "",
            ].join("\n"),
        );
    });

    it.each([["a path with a space", "/tmp/my hosts"], ["a path with a quote", '/tmp/"x']])("refuses %s for the known_hosts file", (_case, file) => {
        expect(() => renderSshConfig([host()], { ...OPTS, knownHostsFile: file })).toThrow(/known_hosts path .* has characters ssh_config would split on/);
    });

    it("holds no host key (those live in known_hosts only)", () => {
        expect(renderSshConfig([host()], OPTS)).not.toContain(KEY_A.split(" ")[1]);
    });
});

describe("operatorKnownHostsPath", () => {
    it.each([
        ["production", "~/.ssh/senex-infra-production.known_hosts"],
        ["org/project/staging", "~/.ssh/senex-infra-org_project_staging.known_hosts"],
    ])("%s → %s", (stack, expected) => {
        expect(operatorKnownHostsPath(stack)).toBe(expected);
    });
});
