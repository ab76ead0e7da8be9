import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { closeTestDb, testDb } from "../testing/services";
import { HASH_CONCURRENCY, HASH_QUEUE_LIMIT, hashPassword, hashPasswordScrypt, PasswordHashBusy, takeHashTicket, verifyPassword } from "./password";
import { authenticate, changePassword, checkPassword, createUser, findAccount } from "./users";
import { registerInput, validate } from "./validation";
import { loadCommonPasswords } from "./common-passwords";

const COST = 4;
const unique = () => randomBytes(4).toString("hex");

describe("users (PostgreSQL)", () => {
  before(loadCommonPasswords);
  after(closeTestDb);

  it("usernames and emails are unique regardless of case; emails are stored lower-cased", async () => {
    const id = unique();
    const created = await createUser(testDb(), { username: `Ann_${id}`, email: `Ann.${id}@Example.TEST`, password: "password-1" }, COST);
    assert.ok(created.ok);
    assert.equal(created.user.email, `ann.${id}@example.test`);
    assert.deepEqual(await createUser(testDb(), { username: `ANN_${id}`, email: `x${id}@e.test`, password: "password-1" }, COST), { ok: false, code: "username_taken", taken: ["username"] });
    assert.deepEqual(await createUser(testDb(), { username: `bob_${id}`, email: `ANN.${id}@example.test`, password: "password-1" }, COST), { ok: false, code: "email_taken", taken: ["email"] });
    // Both taken, by one account or by two: both said at once, the email's code first.
    assert.deepEqual(await createUser(testDb(), { username: `ann_${id}`, email: `ann.${id}@example.test`, password: "password-1" }, COST), { ok: false, code: "email_taken", taken: ["username", "email"] });
    const other = await createUser(testDb(), { username: `cid_${id}`, email: `cid.${id}@example.test`, password: "password-1" }, COST);
    assert.ok(other.ok);
    assert.deepEqual(await createUser(testDb(), { username: `ann_${id}`, email: `cid.${id}@example.test`, password: "password-1" }, COST), { ok: false, code: "email_taken", taken: ["username", "email"] });
  });

  it("concurrent registrations of one email: exactly one succeeds, the rest are email_taken", async () => {
    const email = `race.${unique()}@example.test`;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createUser(testDb(), { username: `race_${unique()}_${i}`, email, password: "password-1" }, COST)),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.ok(results.every((r) => r.ok || r.code === "email_taken"));
  });

  it("concurrent registrations of one username in different cases: exactly one succeeds, the rest are username_taken", async () => {
    const name = `Race_${unique()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createUser(testDb(), { username: i % 2 ? name.toUpperCase() : name, email: `r${i}.${unique()}@example.test`, password: "password-1" }, COST)),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.ok(results.every((r) => r.ok || r.code === "username_taken"), JSON.stringify(results.filter((r) => !r.ok)));
  });

  it("a burst with one email pays one hash in this process: the rest wait for it, then answer email_taken", async () => {
    const email = `burst.${unique()}@example.test`;
    let hashes = 0;
    const hash = async (password: string) => {
      hashes++;
      await new Promise((r) => setTimeout(r, 30));
      return hashPassword(password, COST);
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createUser(testDb(), { username: `burst_${unique()}_${i}`, email, password: "password-1" }, COST, { hash })),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.ok(results.every((r) => r.ok || r.code === "email_taken"));
    assert.equal(hashes, 1);
  });

  it("when the first of a burst fails, the next one waiting registers instead", async () => {
    const email = `retry.${unique()}@example.test`;
    let calls = 0;
    const hash = async (password: string) => {
      if (++calls === 1) {
        await new Promise((r) => setTimeout(r, 30));
        throw new PasswordHashBusy("test: the first hash is refused");
      }
      return hashPassword(password, COST);
    };
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => createUser(testDb(), { username: `retry_${unique()}_${i}`, email, password: "password-1" }, COST, { hash })),
    );
    assert.equal(results.filter((r) => r.status === "rejected").length, 1);
    const answers = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    assert.equal(answers.filter((r) => r.ok).length, 1);
    assert.ok(answers.every((r) => r.ok || r.code === "email_taken"));
    assert.equal(calls, 2);
  });

  it("authenticates by username or email, and refuses a wrong password or an unknown user alike", async () => {
    const id = unique();
    await createUser(testDb(), { username: `cat_${id}`, email: `cat.${id}@example.test`, password: "correct-horse" }, COST);
    assert.equal((await authenticate(testDb(), `CAT_${id}`, "correct-horse", COST))?.username, `cat_${id}`);
    assert.equal((await authenticate(testDb(), `Cat.${id}@example.test`, "correct-horse", COST))?.username, `cat_${id}`);
    assert.equal(await authenticate(testDb(), `cat_${id}`, "wrong-horse", COST), null);
    assert.equal(await authenticate(testDb(), `nobody_${id}`, "correct-horse", COST), null);
    // Only ASCII folds: a Kelvin sign (U+212A) lower-cases to "k", yet names no account.
    await createUser(testDb(), { username: `kim_${id}`, email: `kim.${id}@example.test`, password: "correct-horse" }, COST);
    assert.equal(await authenticate(testDb(), `\u212Aim_${id}`, "correct-horse", COST), null);
    assert.equal(await authenticate(testDb(), `\u212Aim.${id}@example.test`, "correct-horse", COST), null);
    assert.equal((await authenticate(testDb(), `KIM_${id}`, "correct-horse", COST))?.username, `kim_${id}`);
  });

  it("an email with an accented domain is one address whichever form it comes in: a browser's email field sends IDNA's ASCII form, a login field the letters typed", async () => {
    const id = unique();
    const parsed = validate(registerInput, { username: `ki_${id}`, email: `Ki.${id}@Exämple.TEST`, password: "correct-horse", altcha: "proof" });
    assert.ok(parsed.ok);
    assert.equal(parsed.value.email, `ki.${id}@xn--exmple-cua.test`);
    assert.ok((await createUser(testDb(), parsed.value, COST)).ok);
    for (const login of [`ki.${id}@exämple.test`, `KI.${id}@EXÄMPLE.test`, `ki.${id}@xn--exmple-cua.test`]) {
      assert.equal((await authenticate(testDb(), login, "correct-horse", COST))?.username, `ki_${id}`, login);
    }
    // The same address again, in the other form, is taken.
    const again = validate(registerInput, { username: `ki2_${id}`, email: `ki.${id}@xn--exmple-cua.test`, password: "correct-horse", altcha: "proof" });
    assert.ok(again.ok);
    assert.deepEqual(await createUser(testDb(), again.value, COST), { ok: false, code: "email_taken", taken: ["email"] });
    // What IDNA's URL parser would decode or drop is left for the address check to refuse.
    const percent = validate(registerInput, { username: `ki3_${id}`, email: `ki3.${id}@ex%41mpl\u00e9.test`, password: "correct-horse", altcha: "proof" });
    assert.deepEqual(percent, { ok: false, fields: { email: "invalid_format" } });
    // Outside the domain nothing but ASCII folds, as before.
    assert.equal(await authenticate(testDb(), `\u212Ai.${id}@exämple.test`, "correct-horse", COST), null);
  });

  it("a hash below the current cost is upgraded at the next login", async () => {
    const id = unique();
    await createUser(testDb(), { username: `dan_${id}`, email: `dan.${id}@example.test`, password: "pass-word-1" }, 2);
    const before = await testDb().user.findFirstOrThrow({ where: { usernameKey: `dan_${id}` } });
    assert.match(before.passwordHash, /^\$argon2id\$v=19\$m=2048,t=2,p=1\$/);
    assert.ok(await authenticate(testDb(), `dan_${id}`, "pass-word-1", COST));
    const after = await testDb().user.findFirstOrThrow({ where: { usernameKey: `dan_${id}` } });
    assert.match(after.passwordHash, /^\$argon2id\$v=19\$m=4096,t=2,p=1\$/);
  });

  it("an upgrade at login never overwrites a password changed while it was checked", async () => {
    const id = unique();
    await createUser(testDb(), { username: `fay_${id}`, email: `fay.${id}@example.test`, password: "old-pass-word" }, 2);
    const stale = await findAccount(testDb(), `fay_${id}`);
    assert.ok(await changePassword(testDb(), stale.user!.id, "old-pass-word", "new-pass-word", 2));
    // The login read the old hash before the change: it matches, but the upgrade finds it gone.
    assert.equal(await checkPassword(testDb(), stale, "old-pass-word", COST), null);
    assert.ok(await authenticate(testDb(), `fay_${id}`, "new-pass-word", COST));
    assert.equal(await authenticate(testDb(), `fay_${id}`, "old-pass-word", COST), null);
  });

  it("two logins that both upgrade the same hash both log in: the second finds the first's upgrade and still matches it", async () => {
    const id = unique();
    await createUser(testDb(), { username: `gus_${id}`, email: `gus.${id}@example.test`, password: "pass-word-9" }, 2);
    const first = await findAccount(testDb(), `gus_${id}`);
    const second = await findAccount(testDb(), `gus_${id}`);
    const a = await checkPassword(testDb(), first, "pass-word-9", COST);
    assert.ok(a);
    const b = await checkPassword(testDb(), second, "pass-word-9", COST);
    assert.ok(b, "the slower login is not refused because the faster one upgraded the hash");
    assert.equal(b.passwordHash, a.passwordHash);
  });

  it("an scrypt hash from before Argon2id still logs in, and is rehashed as Argon2id", async () => {
    const id = unique();
    await createUser(testDb(), { username: `eve_${id}`, email: `eve.${id}@example.test`, password: "pass-word-1" }, COST);
    await testDb().user.update({ where: { usernameKey: `eve_${id}` }, data: { passwordHash: await hashPasswordScrypt("pass-word-1", 10) } });
    assert.equal(await authenticate(testDb(), `eve_${id}`, "wrong-word-1", COST), null);
    assert.match((await testDb().user.findFirstOrThrow({ where: { usernameKey: `eve_${id}` } })).passwordHash, /^scrypt\$/);
    assert.ok(await authenticate(testDb(), `eve_${id}`, "pass-word-1", COST));
    const after = await testDb().user.findFirstOrThrow({ where: { usernameKey: `eve_${id}` } });
    assert.match(after.passwordHash, /^\$argon2id\$v=19\$m=4096,t=2,p=1\$/);
    assert.ok(await authenticate(testDb(), `eve_${id}`, "pass-word-1", COST));
  });
});

describe("password hashing", () => {
  it("records its parameters, salts every hash, and verifies in constant time", async () => {
    const a = await hashPassword("secret-pass", COST);
    const b = await hashPassword("secret-pass", COST);
    assert.notEqual(a, b);
    assert.match(a, /^\$argon2id\$v=19\$m=4096,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    assert.deepEqual(await verifyPassword("secret-pass", a, COST), { ok: true, needsRehash: false });
    assert.deepEqual(await verifyPassword("secret-Pass", a, COST), { ok: false, needsRehash: false });
    assert.deepEqual(await verifyPassword("secret-pass", a, COST + 1), { ok: true, needsRehash: true });
    assert.deepEqual(await verifyPassword("x", "not-a-hash", COST), { ok: false, needsRehash: false });
    assert.deepEqual(await verifyPassword("x", "$argon2id$garbage", COST), { ok: false, needsRehash: false });
  });

  it("the default is OWASP's Argon2id minimum: m = 19 MiB, t = 2, p = 1", async () => {
    assert.match(await hashPassword("secret-pass", 19), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("registrations' places (tickets) have a bound of their own: held ones turn no login away, and their hashes are never refused", async () => {
    const held = Array.from({ length: HASH_QUEUE_LIMIT }, () => takeHashTicket());
    try {
      assert.throws(() => takeHashTicket(), PasswordHashBusy);
      // Nothing hashes yet (those registrations are checking their captchas): a login's hash runs.
      assert.match(await hashPassword("not-turned-away", COST), /^\$argon2id\$/);
      // Every ticket's hash runs, all at once asked, whatever else waits.
      const hashes = await Promise.all(held.slice(0, 8).map((ticket) => ticket.hash("ticketed-pass", COST)));
      assert.ok(hashes.every((h) => h.startsWith("$argon2id$")));
      // A used ticket gave its place back when its hash started; one more can be taken.
      takeHashTicket().release();
    } finally {
      for (const ticket of held) ticket.release();
    }
  });

  it("hashing is bounded: beyond the running and waiting slots a hash is refused at once, never queued without limit", async () => {
    const burst = HASH_CONCURRENCY + HASH_QUEUE_LIMIT + 20;
    const results = await Promise.allSettled(Array.from({ length: burst }, () => hashPassword("burst-pass", 8)));
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(refused.length, 20);
    assert.ok(refused.every((r) => r.status === "rejected" && r.reason instanceof PasswordHashBusy));
    // Once the burst drained, hashing works again.
    assert.match(await hashPassword("after-burst", COST), /^\$argon2id\$/);
  });
});
