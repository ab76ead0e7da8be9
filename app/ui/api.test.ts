import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { postJson } from "./api";
import { NETWORK_ERROR } from "./messages";

test("a form's post that gets no answer ends as a network error in time, rather than keeping the form busy for good", async () => {
  const held: (() => void)[] = [];
  // A server that reads the request and never answers (a connection that hangs).
  const server = createServer((req, res) => {
    req.resume();
    held.push(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const started = Date.now();
    const result = await postJson(`http://127.0.0.1:${port}/api/register`, { username: "someone" }, 300);
    assert.deepEqual(result, { ok: false, status: 0, code: NETWORK_ERROR, fields: {} });
    assert.ok(Date.now() - started < 5_000);
  } finally {
    for (const release of held) release();
    server.close();
  }
});
