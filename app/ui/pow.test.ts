import assert from "node:assert/strict";
import { test } from "node:test";
import { serverAhead } from "./pow";

test("a challenge's expiry is moved onto this device's clock by the server's Date header", () => {
  const now = Date.parse("2026-12-07T10:00:00Z");
  // A device 15 minutes fast: the server is 15 minutes behind it.
  assert.equal(serverAhead({ headers: new Headers({ date: "Mon, 07 Dec 2026 09:45:00 GMT" }) }, now), -15 * 60_000);
  assert.equal(serverAhead({ headers: new Headers({ date: "Mon, 07 Dec 2026 10:02:30 GMT" }) }, now), 150_000);
  assert.equal(serverAhead({ headers: new Headers() }, now), 0);
  assert.equal(serverAhead({ headers: new Headers({ date: "not a date" }) }, now), 0);
});
