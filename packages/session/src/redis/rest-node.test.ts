import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { StoreUnavailableError } from "../store.js";
import { restTransport } from "./rest.js";
import { nodeRestTransport, RedisReplyError } from "./rest-node.js";
import { luaScript, mayResend, type RedisTransport } from "./transport.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (npm test starts the REST service)`);
  return value;
}

const opened: RedisTransport[] = [];
const servers: { close(): void; closeAllConnections(): void }[] = [];
after(async () => {
  for (const t of opened) await t.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

function open<T extends RedisTransport>(t: T): T {
  opened.push(t);
  return t;
}

interface Seen {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A stand-in REST service: `answer` decides each reply; every request is recorded. */
async function fakeService(answer: (seen: Seen, n: number, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const entry = { path: req.url ?? "", headers: req.headers, body };
      seen.push(entry);
      answer(entry, seen.length, res);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};

describe("nodeRestTransport against the REST service", () => {
  const url = required("UPSTASH_REDIS_REST_URL"), token = required("UPSTASH_REDIS_REST_TOKEN");

  it("gives the very replies restTransport gives, errors included", async () => {
    const viaUndici = open(nodeRestTransport(url, token));
    const viaFetch = open(restTransport(url, token));
    // The same commands through each, each on keys of its own.
    const replies = async (t: RedisTransport, key: string) => {
      const out: unknown[] = [];
      for (const command of [
        ["SET", key, JSON.stringify({ text: "é ✓ \u{1F600}", n: 1 }), "PX", "60000"],
        ["GET", key],
        ["GET", `${key}:missing`],
        ["INCR", `${key}:n`],
        ["PEXPIRE", `${key}:n`, "60000"],
        ["EVAL", "return {ARGV[1], 7, redis.call('GET', KEYS[1])}", "1", key, "x"],
        ["GETDEL", `${key}:missing`],
        ["DEL", key, `${key}:n`],
      ]) {
        out.push(await t.send(command));
      }
      return out;
    };
    const got = await replies(viaUndici, `rest-node-test:${randomUUID()}`);
    assert.deepEqual(got, await replies(viaFetch, `rest-node-test:${randomUUID()}`));
    assert.equal(JSON.parse(got[1] as string).text, "é ✓ \u{1F600}");
    const key = `rest-node-test:${randomUUID()}`;
    const wrongType = ["LPUSH", `${key}:list`, "a"];
    await viaUndici.send(wrongType);
    await assert.rejects(viaUndici.send(["GET", `${key}:list`]), (e: Error) => e instanceof RedisReplyError && /^WRONGTYPE/.test(e.message));
    await assert.rejects(viaFetch.send(["GET", `${key}:list`]), /WRONGTYPE/);
    await viaUndici.send(["DEL", `${key}:list`]);
  });

  it("lets a script fall back from EVALSHA to EVAL on a Redis that does not know it yet", async () => {
    const t = open(nodeRestTransport(url, token));
    const script = luaScript(`return "${randomUUID()}" .. ARGV[1]`);
    assert.match(String(await script(t, [], ["!"])), /!$/);
  });

  it("is unavailable, not wrong, with a bad token", async () => {
    const t = open(nodeRestTransport(url, "not-the-token"));
    await assert.rejects(t.send(["GET", "x"]), StoreUnavailableError);
  });

  it("answers commands sent together, pipelined, as it answers them one by one", async () => {
    const key = `rest-node-test:${randomUUID()}`;
    const commands = [
      ["SET", key, "v", "PX", "60000"],
      ["LPUSH", `${key}:list`, "a"],
      ["GET", `${key}:list`],
      ["INCR", `${key}:n`],
      ["GET", key],
      ["DEL", key, `${key}:list`, `${key}:n`],
    ];
    const shape = (outcomes: PromiseSettledResult<unknown>[]) =>
      outcomes.map((o) => (o.status === "fulfilled" ? o.value : `${(o.reason as Error).name}: ${(o.reason as Error).message.split(" ")[0]}`));
    // Sent together: one pipeline, run in order.
    const together = open(nodeRestTransport(url, token));
    const pipelined = shape(await Promise.allSettled(commands.map((c) => together.send(c))));
    // One by one, each awaited, so the order is the same.
    const single = open(nodeRestTransport(url, token, { pipeline: 1 }));
    const outcomes: PromiseSettledResult<unknown>[] = [];
    for (const c of commands) outcomes.push((await Promise.allSettled([single.send(c)]))[0]!);
    const alone = shape(outcomes);
    assert.deepEqual(pipelined, ["OK", 1, "RedisReplyError: WRONGTYPE", 1, "v", 3]);
    assert.deepEqual(alone, pipelined);
  });
});

describe("nodeRestTransport's protocol", () => {
  it("posts the command as JSON with the bearer token to the URL's path", async () => {
    const service = await fakeService((_seen, _n, res) => json(res, 200, { result: "OK" }));
    const t = open(nodeRestTransport(`${service.url}/prefix/`, "tok"));
    assert.equal(await t.send(["SET", "k", "v"]), "OK");
    const [first] = service.seen;
    assert.equal(first?.path, "/prefix");
    assert.equal(first?.headers.authorization, "Bearer tok");
    assert.deepEqual(JSON.parse(first!.body), ["SET", "k", "v"]);
    // No base64 asked for: replies are plain JSON.
    assert.equal(first?.headers["upstash-encoding"], undefined);
  });

  it("sends back the last sync token the service gave, so a read follows the writes before it", async () => {
    const service = await fakeService((_seen, n, res) => json(res, 200, { result: n }, { "upstash-sync-token": `sync-${n}` }));
    const t = open(nodeRestTransport(service.url, "tok"));
    await t.send(["SET", "a", "1"]);
    await t.send(["GET", "a"]);
    await t.send(["GET", "a"]);
    assert.deepEqual(service.seen.map((s) => s.headers["upstash-sync-token"]), [undefined, "sync-1", "sync-2"]);
  });

  it("tries a failed connection once more, on a new one", async () => {
    const service = await fakeService((_seen, n, res) => (n === 1 ? res.socket?.destroy() : json(res, 200, { result: "second" })));
    const t = open(nodeRestTransport(service.url, "tok"));
    assert.equal(await t.send(["GET", "k"]), "second");
    assert.equal(service.seen.length, 2);
  });

  it("does not send again what may have run: after a reset, a GETDEL, a SET … NX or a script is unavailable, not taken", async () => {
    const unsafe = [["GETDEL", "k"], ["SET", "k", "v", "NX", "PX", "1000"], ["EVALSHA", "0123", "1", "k"], ["INCR", "k"]];
    for (const makeTransport of [nodeRestTransport, restTransport]) {
      for (const command of unsafe) {
        const service = await fakeService((_seen, n, res) => (n === 1 ? res.socket?.destroy() : json(res, 200, { result: null })));
        const t = open(makeTransport(service.url, "tok"));
        await assert.rejects(t.send(command), StoreUnavailableError, `${t.kind} ${command[0]}`);
        assert.equal(service.seen.length, 1, `${makeTransport.name}: ${command.join(" ")} went out again`);
      }
      // Reads and a plain SET give the same answer twice: they go again, as a lone GET does above.
      const service = await fakeService((_seen, n, res) => (n === 1 ? res.socket?.destroy() : json(res, 200, { result: "OK" })));
      assert.equal(await open(makeTransport(service.url, "tok")).send(["SET", "k", "v", "PX", "1000"]), "OK");
      assert.equal(service.seen.length, 2);
    }
  });

  it("sends a pipeline again only when every command in it may go twice", async () => {
    const service = await fakeService((seen, n, res) => {
      if (n <= 2) return res.socket?.destroy();
      json(res, 200, (JSON.parse(seen.body) as string[][]).map(() => ({ result: "again" })));
    });
    const t = open(nodeRestTransport(service.url, "tok"));
    const mixed = await Promise.allSettled([t.send(["GET", "a"]), t.send(["GETDEL", "b"])]);
    assert.ok(mixed.every((o) => o.status === "rejected" && o.reason instanceof StoreUnavailableError));
    assert.equal(service.seen.length, 1);
    assert.deepEqual(await Promise.all([t.send(["GET", "a"]), t.send(["SMEMBERS", "b"])]), ["again", "again"]);
    assert.equal(service.seen.length, 3);
  });

  it("sends anything again when the first connection was refused: nothing went out", async () => {
    // A port nothing listens on yet; the service starts there between the two attempts.
    const probe = createTcpServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    for (const makeTransport of [nodeRestTransport, restTransport]) {
      const t = open(makeTransport(`http://127.0.0.1:${port}`, "tok"));
      const reply = t.send(["GETDEL", "k"]);
      await new Promise((resolve) => setTimeout(resolve, 15));
      const late = createServer((_req, res) => json(res, 200, { result: "taken once" }));
      late.listen(port, "127.0.0.1");
      await once(late, "listening");
      try {
        assert.equal(await reply, "taken once", makeTransport.name);
      } finally {
        late.closeAllConnections();
        await new Promise((resolve) => late.close(resolve));
      }
    }
  });

  it("names what may go twice", () => {
    const reset = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    const refused = new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    assert.equal(mayResend([["GET", "k"], ["PTTL", "k"], ["SET", "k", "v", "EX", "9"]], reset), true);
    for (const unsafe of [["GETDEL", "k"], ["SET", "k", "v", "nx"], ["SET", "k", "v", "GET"], ["DEL", "k"], ["EVAL", "return 1", "0"]]) {
      assert.equal(mayResend([unsafe], reset), false, unsafe.join(" "));
      assert.equal(mayResend([unsafe], refused), true, unsafe.join(" "));
    }
  });

  it("is unavailable when no answer comes in time, and does not send the command again", async () => {
    const service = await fakeService(() => {});
    const t = open(nodeRestTransport(service.url, "tok", { timeoutMs: 150 }));
    const started = Date.now();
    await assert.rejects(t.send(["GETDEL", "k"]), StoreUnavailableError);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(service.seen.length, 1);
  });

  it("is unavailable when the service answers with no JSON, an error of its own, or no result", async () => {
    const answers: ((res: ServerResponse) => void)[] = [
      (res) => {
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html>Bad Gateway</html>");
      },
      (res) => json(res, 401, { error: "Unauthorized" }),
      (res) => json(res, 500, {}),
      (res) => json(res, 200, "OK"),
    ];
    for (const answer of answers) {
      const service = await fakeService((_seen, _n, res) => answer(res));
      const t = open(nodeRestTransport(service.url, "tok"));
      await assert.rejects(t.send(["GET", "k"]), StoreUnavailableError);
    }
  });

  it("takes Upstash's quota replies for an unavailable store, and a wrong command for Redis's answer, over both transports", async () => {
    const quotas = [
      "ERR max daily request limit exceeded. Limit: 10000, Usage: 10000.",
      "ERR max requests limit exceeded.",
      "ERR max concurrent connections exceeded",
      "ERR DB capacity quota exceeded",
    ];
    for (const message of [...quotas, "ERR unknown command 'NOPE'"]) {
      const service = await fakeService((_seen, _n, res) => json(res, 400, { error: message }));
      for (const t of [open(nodeRestTransport(service.url, "tok")), open(restTransport(service.url, "tok"))]) {
        if (quotas.includes(message)) await assert.rejects(t.send(["GET", "k"]), StoreUnavailableError, `${t.kind}: ${message}`);
        else await assert.rejects(t.send(["NOPE"]), (e: Error) => !(e instanceof StoreUnavailableError) && e.message.startsWith("ERR unknown command"));
      }
    }
  });

  it("is unavailable when nothing listens, after one retry, and says so in the log", async () => {
    const service = await fakeService(() => {});
    const url = service.url;
    servers.pop()!.close();
    const lines: string[] = [];
    const t = open(nodeRestTransport(url, "tok", { logger: { error() {}, warn: (line) => lines.push(line) } }));
    await assert.rejects(t.send(["GET", "k"]), StoreUnavailableError);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^redis \(rest\): the REST service could not be reached: /);
  });

  it("a token the service refuses is said in the log once every 10 s, naming the token's variable, never the token", async () => {
    const service = await fakeService((_seen, _n, res) => json(res, 401, { error: "Unauthorized" }));
    const lines: string[] = [];
    const t = open(nodeRestTransport(service.url, "secret-token-value", { logger: { error() {}, warn: (line) => lines.push(line) } }));
    await assert.rejects(t.send(["GET", "k"]), StoreUnavailableError);
    await assert.rejects(t.send(["GET", "k"]), StoreUnavailableError);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /answered 401: Unauthorized \(is the REST token this database's\?\)/);
    assert.ok(!lines[0]!.includes("secret-token-value"));
    // A proxy's own page in front of the service is what it answered, not a service out of reach.
    const proxy = await fakeService((_seen, _n, res) => {
      res.writeHead(401, { "content-type": "text/html" });
      res.end("<html>sign in</html>");
    });
    const behind: string[] = [];
    const t2 = open(nodeRestTransport(proxy.url, "secret-token-value", { logger: { error() {}, warn: (line) => behind.push(line) } }));
    await assert.rejects(t2.send(["GET", "k"]), StoreUnavailableError);
    assert.match(behind[0]!, /answered 401 with a body that is not JSON \(is the REST token this database's\?\)/);
  });

  it("sends the commands of one turn in one request to /pipeline, and answers each caller on its own", async () => {
    const service = await fakeService((seen, n, res) => {
      if (!seen.path.endsWith("/pipeline")) return json(res, 200, { result: "alone" });
      const answers = (JSON.parse(seen.body) as string[][]).map(([name, arg]) =>
        name === "NOPE" ? { error: "ERR unknown command 'NOPE'" } : name === "SPENT" ? { error: "ERR max daily request limit exceeded" } : { result: arg },
      );
      json(res, 200, answers, { "upstash-sync-token": `sync-${n}` });
    });
    const t = open(nodeRestTransport(`${service.url}/prefix/`, "tok"));
    const outcomes = await Promise.allSettled([t.send(["GET", "a"]), t.send(["NOPE"]), t.send(["SPENT", "x"]), t.send(["GET", "b"])]);
    assert.equal(service.seen.length, 1);
    assert.equal(service.seen[0]?.path, "/prefix/pipeline");
    assert.deepEqual(JSON.parse(service.seen[0]!.body), [["GET", "a"], ["NOPE"], ["SPENT", "x"], ["GET", "b"]]);
    assert.deepEqual(outcomes[0], { status: "fulfilled", value: "a" });
    assert.ok(outcomes[1]?.status === "rejected" && outcomes[1].reason instanceof RedisReplyError);
    assert.ok(outcomes[2]?.status === "rejected" && outcomes[2].reason instanceof StoreUnavailableError);
    assert.deepEqual(outcomes[3], { status: "fulfilled", value: "b" });
    // A command alone goes by itself, with the sync token the pipeline brought back.
    assert.equal(await t.send(["GET", "c"]), "alone");
    assert.equal(service.seen[1]?.path, "/prefix");
    assert.equal(service.seen[1]?.headers["upstash-sync-token"], "sync-1");
  });

  it("puts at most `pipeline` commands in one request", async () => {
    const service = await fakeService((seen, _n, res) =>
      seen.path === "/pipeline" ? json(res, 200, (JSON.parse(seen.body) as string[][]).map(([, arg]) => ({ result: arg }))) : json(res, 200, { result: JSON.parse(seen.body)[1] }),
    );
    const t = open(nodeRestTransport(service.url, "tok", { pipeline: 2 }));
    assert.deepEqual(await Promise.all(["1", "2", "3", "4", "5"].map((n) => t.send(["GET", n]))), ["1", "2", "3", "4", "5"]);
    assert.deepEqual(service.seen.map((s) => s.path).sort(), ["/", "/pipeline", "/pipeline"]);
    const alone = open(nodeRestTransport(service.url, "tok", { pipeline: 1 }));
    await Promise.all(["6", "7"].map((n) => alone.send(["GET", n])));
    assert.deepEqual(service.seen.slice(3).map((s) => s.path), ["/", "/"]);
    assert.throws(() => nodeRestTransport(service.url, "tok", { pipeline: 0 }), /pipeline must be/);
  });

  it("fails every command of a pipeline the service refused as a whole, or answered with the wrong count", async () => {
    const answers: ((res: ServerResponse) => void)[] = [
      (res) => json(res, 401, { error: "Unauthorized" }),
      // Worded as Redis words a wrong command, but about the whole request: not any one caller's fault.
      (res) => json(res, 400, { error: "ERR failed to parse pipeline request" }),
      (res) => json(res, 200, [{ result: "only one" }]),
      (res) => {
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html>Bad Gateway</html>");
      },
    ];
    for (const answer of answers) {
      const service = await fakeService((_seen, _n, res) => answer(res));
      const t = open(nodeRestTransport(service.url, "tok"));
      const outcomes = await Promise.allSettled([t.send(["GET", "a"]), t.send(["GET", "b"])]);
      for (const o of outcomes) assert.ok(o.status === "rejected" && o.reason instanceof StoreUnavailableError);
    }
  });

  it("still sends what was sent before it closed", async () => {
    const service = await fakeService((_seen, _n, res) => json(res, 200, { result: "sent" }));
    const t = nodeRestTransport(service.url, "tok");
    const reply = t.send(["SET", "k", "v"]);
    await t.close();
    assert.equal(await reply, "sent");
  });

  it("refuses a URL that is not http(s)", () => {
    assert.throws(() => nodeRestTransport("redis://127.0.0.1:6379", "tok"), /must be http/);
  });
});
