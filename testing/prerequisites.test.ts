import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { missingTools, missingToolsMessage } from "./prerequisites";

describe("test prerequisites", () => {
  it("names exactly the programs that are missing, and the packages that bring them", () => {
    const present = new Set(["/usr/bin/redis-server", "/usr/bin/chromium"]);
    const missing = missingTools("/usr/bin", (file) => present.has(file));
    assert.deepEqual(missing.map((t) => t.program), ["nginx", "tesseract", "pgbouncer", "openssl"]);
    assert.equal(missingToolsMessage(missing), "missing nginx, tesseract, pgbouncer, openssl: install with `sudo apt-get install -y nginx-light tesseract-ocr tesseract-ocr-eng pgbouncer openssl`.");
  });

  it("finds nginx and pgbouncer in /usr/sbin even when PATH lacks it, and nothing is missing when all are there", () => {
    const present = new Set(["/opt/bin/redis-server", "/opt/bin/chromium", "/usr/sbin/nginx", "/opt/bin/tesseract", "/usr/sbin/pgbouncer", "/opt/bin/openssl"]);
    assert.deepEqual(missingTools("/opt/bin", (file) => present.has(file)), []);
  });
});
