import net from "node:net";

export interface RawAnswer {
  status: number;
  /** The header block, lower-cased. */
  headers: string;
  body: string;
}

/**
 * One request written straight onto a socket, for what fetch will not send: `TRACE`, WebDAV's
 * methods, a request target in absolute form, an HTTP/1.0 request with no Host. `lines` are the
 * request line and any headers; `Host` (unless `host: false`) and `Connection: close` are added.
 * With `cutBody`, that part of a body follows, and the client stops sending.
 */
export function rawRequest(base: string, lines: string[], options: { host?: boolean; cutBody?: string } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`${[...lines, ...(options.host === false ? [] : [`Host: ${hostname}:${port}`]), "Connection: close"].join("\r\n")}\r\n\r\n`);
      // `cutBody`: that much of a body, then the sending side closed (the answer is still read).
      const cut = options.cutBody;
      if (cut !== undefined) setTimeout(() => socket.end(cut), 200);
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error("no answer in 20 s")));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), headers: text.slice(0, split).toLowerCase(), body: text.slice(split + 4) });
    });
  });
}
