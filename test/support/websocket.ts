/**
 * A minimal WebSocket client for tests that must choose the `Origin` header (Node's global
 * WebSocket cannot), over plain TCP or TLS: RFC 6455 handshake, masked text frames out, unmasked
 * text frames in. Enough to prove a WS round trip through nginx/daphne/channels and that a
 * foreign Origin is refused.
 */
import { createHash, randomBytes } from "crypto";
import * as net from "net";
import * as tls from "tls";

export interface WsConnectOptions {
  host: string;
  port: number;
  /** Request path, e.g. `/ws/echo/`. */
  path: string;
  /** `Host` header (default host:port). */
  hostHeader?: string;
  /** `Origin` header; omitted when undefined. */
  origin?: string;
  /** TLS (wss://); `servername` for SNI and `ca` to trust a test CA. */
  tls?: { servername?: string; ca?: string; rejectUnauthorized?: boolean };
  timeoutMs?: number;
}

/** Outcome of the opening handshake: the HTTP status, and a connection when it was 101. */
export interface WsHandshake {
  status: number;
  headers: Record<string, string>;
  socket?: WsConnection;
}

export interface WsConnection {
  send(text: string): void;
  /** Resolves with the next text message (rejects on close or timeout). */
  next(timeoutMs?: number): Promise<string>;
  close(): void;
}

/** Opens a WebSocket; resolves with the handshake status (101 = accepted) — never throws on a refusal. */
export function wsConnect(opts: WsConnectOptions): Promise<WsHandshake> {
  const key = randomBytes(16).toString("base64");
  const expectedAccept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  return new Promise((resolve, reject) => {
    const socket: net.Socket = opts.tls
      ? tls.connect({ host: opts.host, port: opts.port, servername: opts.tls.servername, ca: opts.tls.ca, rejectUnauthorized: opts.tls.rejectUnauthorized ?? true })
      : net.connect({ host: opts.host, port: opts.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`WebSocket handshake with ${opts.host}:${opts.port}${opts.path} timed out`));
    }, opts.timeoutMs ?? 10_000);
    socket.once(opts.tls ? "secureConnect" : "connect", () => {
      const lines = [
        `GET ${opts.path} HTTP/1.1`,
        `Host: ${opts.hostHeader ?? `${opts.host}:${opts.port}`}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
        ...(opts.origin !== undefined ? [`Origin: ${opts.origin}`] : []),
      ];
      socket.write(lines.join("\r\n") + "\r\n\r\n");
    });
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      clearTimeout(timer);
      const [statusLine, ...headerLines] = buf.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(statusLine.split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      if (status !== 101) {
        socket.destroy();
        return resolve({ status, headers });
      }
      if (headers["sec-websocket-accept"] !== expectedAccept) {
        socket.destroy();
        return reject(new Error("WebSocket handshake: wrong Sec-WebSocket-Accept"));
      }
      resolve({ status, headers, socket: frameConnection(socket, buf.subarray(end + 4)) });
    };
    socket.on("data", onData);
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function frameConnection(socket: net.Socket, initial: Buffer): WsConnection {
  let buf = initial;
  const messages: string[] = [];
  const waiters: { resolve: (m: string) => void; reject: (e: Error) => void }[] = [];
  let closed: Error | undefined;
  const pump = () => {
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (opcode === 0x1) deliver(payload.toString("utf8"));
      else if (opcode === 0x8) fail(new Error(`WebSocket closed by server (${payload.length >= 2 ? payload.readUInt16BE(0) : "no code"})`));
      else if (opcode === 0x9) write(0xa, payload); // ping → pong
    }
  };
  const deliver = (m: string) => {
    const w = waiters.shift();
    if (w) w.resolve(m);
    else messages.push(m);
  };
  const fail = (e: Error) => {
    closed = closed ?? e;
    for (const w of waiters.splice(0)) w.reject(closed);
  };
  const write = (opcode: number, payload: Buffer) => {
    const mask = randomBytes(4);
    const header = payload.length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
      : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    socket.write(Buffer.concat([header, mask, masked]));
  };
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    pump();
  });
  socket.on("close", () => fail(new Error("WebSocket connection closed")));
  socket.on("error", (e) => fail(e));
  pump();
  return {
    send: (text) => write(0x1, Buffer.from(text, "utf8")),
    next: (timeoutMs = 10_000) => {
      const m = messages.shift();
      if (m !== undefined) return Promise.resolve(m);
      if (closed) return Promise.reject(closed);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no WebSocket message within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
      });
    },
    close: () => {
      if (!closed) write(0x8, Buffer.from([0x03, 0xe8]));
      socket.end();
    },
  };
}
