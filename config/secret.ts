/**
 * A value that came from encrypted stack config. It never prints itself: `String(x)`, template
 * literals, `JSON.stringify` and `util.inspect` all show `[secret]`, so a stray log line or an error
 * message cannot leak it. Components unwrap it once, into `pulumi.secret(...)`.
 */
export class SecretValue {
    readonly #value: string;

    constructor(value: string) {
        this.#value = value;
    }

    /** The plaintext. Call it only where the value becomes a Pulumi secret or goes on a stdin. */
    reveal(): string {
        return this.#value;
    }

    toString(): string {
        return "[secret]";
    }

    toJSON(): string {
        return "[secret]";
    }

    [Symbol.for("nodejs.util.inspect.custom")](): string {
        return "[secret]";
    }
}
