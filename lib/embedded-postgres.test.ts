import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { freePort } from "../testing/stack";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded-postgres";

/** A marker written into a checkout's database, to tell whose database a URL reaches. */
async function whose(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("CREATE TABLE IF NOT EXISTS checkout (name text)");
    const { rows } = await client.query<{ name: string }>("SELECT name FROM checkout");
    return rows[0]?.name ?? null;
  } finally {
    await client.end();
  }
}

async function mark(url: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("CREATE TABLE IF NOT EXISTS checkout (name text)");
  await client.query("INSERT INTO checkout VALUES ($1)", [name]);
  await client.end();
}

describe("the embedded database", () => {
  const roots = [mkdtempSync(path.join(tmpdir(), "holdfast-checkout-a-")), mkdtempSync(path.join(tmpdir(), "holdfast-checkout-b-"))];
  // As root, the server runs as a `postgres` user, which must reach the data folder.
  for (const root of roots) chmodSync(root, 0o755);
  const started: EmbeddedDatabase[] = [];
  after(async () => {
    for (const db of started.reverse()) await db.stop().catch(() => {});
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it("is shared by the processes of one checkout, never with another checkout's", { timeout: 180_000 }, async () => {
    const log = () => {};
    const port = await freePort();
    const a = await startEmbeddedPostgres(roots[0]!, port, log);
    started.push(a);
    assert.equal(a.port, port);
    await mark(a.url, "a");
    // Another process of checkout A finds A's server on the port and shares it.
    const again = await startEmbeddedPostgres(roots[0]!, port, log);
    assert.equal(again.port, port);
    assert.equal(await whose(again.url), "a");
    // Checkout B finds A's server there and starts its own on a later port.
    const b = await startEmbeddedPostgres(roots[1]!, port, log);
    started.push(b);
    assert.ok(b.port > port, `checkout B got port ${b.port}`);
    assert.equal(await whose(b.url), null);
  });
});
