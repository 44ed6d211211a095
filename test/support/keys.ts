import { utils } from "ssh2";

/**
 * An ED25519 key pair for test logins. ssh2's own generator emits, about once in 250 keys, a
 * private key that its parser then rejects ("Malformed OpenSSH private key"; measured 2/500):
 * draw again until the key parses, so a test never fails on the dice.
 */
export function loginKeyPair(comment?: string): { private: string; public: string } {
    for (let i = 0; i < 20; i++) {
        const key = utils.generateKeyPairSync("ed25519", comment ? { comment } : {});
        if (!(utils.parseKey(key.private) instanceof Error)) return key;
    }
    throw new Error("ssh2 produced 20 unparseable keys in a row");
}
