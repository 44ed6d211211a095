/** Host text entering errors, state and outputs (#11.10): the sanitizer every such path uses. */
import fc from "fast-check";
import { CommandError, printable, UnreachableHostError } from "../../../providers/ssh/transport";

describe("printable: host text without terminal control", () => {
    it.each([
        ["ANSI clear screen and colour", "\u001b[2J\u001b[31mred\u001b[0m", "[2J[31mred[0m"],
        ["OSC window title ended by BEL", "\u001b]0;owned\u0007text", "]0;ownedtext"],
        ["carriage return that overwrites a line", "ok\rFAIL", "okFAIL"],
        ["8-bit CSI and DEL", "a\u009b2Jb\u007fc", "a2Jbc"],
        ["newline and tab stay", "line 1\n\tline 2", "line 1\n\tline 2"],
        ["UTF-8 text stays", "Grüße — 日本", "Grüße — 日本"],
    ])("%s", (_t, input, expected) => {
        expect(printable(input)).toBe(expected);
    });

    it("property: no control character but \\n and \\t survives; printable text is untouched", () => {
        fc.assert(
            fc.property(fc.string({ unit: "binary" }), (s) => {
                const out = printable(s);
                expect([...out].filter((c) => /\p{Cc}/u.test(c) && c !== "\n" && c !== "\t")).toEqual([]);
                expect(printable(out)).toBe(out);
            }),
        );
    });

    it("errors built from host text carry no ESC", () => {
        const cmd = new CommandError("h", ["true"], { code: 1, stdout: "", stderr: "boom\u001b[2J" });
        expect(cmd.message).not.toContain("\u001b");
        const unreachable = new UnreachableHostError("h", 1, 10, new Error("Disconnect: \u001b]0;pwned\u0007bye"));
        expect(unreachable.message).not.toMatch(/[\u001b\u0007]/);
    });
});
