import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { doctorOptions, UsageError } from "./options";

function refusal(args: string[]): string {
  try {
    doctorOptions(args);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail(`expected ${args.join(" ")} to be refused`);
}

describe("doctor options", () => {
  it("reads --url, --instances and each --metrics-url, with or without =", () => {
    assert.deepEqual(doctorOptions([]), { metricsUrls: [] });
    assert.deepEqual(doctorOptions(["--url", "http://127.0.0.1:3000/", "--instances", "12", "--metrics-url", "http://10.0.0.5:3000", "--metrics-url=https://b.example/"]), {
      url: "http://127.0.0.1:3000",
      instances: 12,
      metricsUrls: ["http://10.0.0.5:3000", "https://b.example"],
    });
    assert.equal(doctorOptions(["--instances=3"]).instances, 3);
  });

  it("a value it cannot use is one sentence naming it and what to give instead, never ignored", () => {
    for (const bad of ["abc", "0", "-1", "1.5", "1e2", "0x10", "1001", " 3"]) {
      assert.equal(refusal(["--instances", bad]), `--instances ${bad} is not a whole number from 1 to 1000: give how many instances you run, such as --instances 3.`);
    }
    assert.equal(refusal(["--url", "localhost:3000"]), "--url localhost:3000 is not an http:// or https:// URL: give the site's address, such as --url http://127.0.0.1:3000.");
    assert.match(refusal(["--metrics-url", "ftp://x"]), /^--metrics-url ftp:\/\/x is not an http:\/\/ or https:\/\/ URL/);
    assert.match(refusal(["--url"]), /^--url needs a value: npm run doctor/);
    assert.match(refusal(["--instances", "--url", "http://x"]), /^--instances needs a value/);
    assert.match(refusal(["--instance", "3"]), /^--instance is not an option of the doctor: it takes --url, --instances and --metrics-url/);
    assert.match(refusal(["http://127.0.0.1:3000"]), /is not an option of the doctor/);
    assert.match(refusal(["--url", "http://a", "--url", "http://b"]), /^--url is given twice/);
  });

  it("npm run doctor refuses a wrong option with its sentence and exit code 2, before checking anything", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/doctor.ts", "--instances", "abc"], { encoding: "utf8", timeout: 60_000 });
    assert.equal(run.status, 2, run.stdout + run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, "doctor: --instances abc is not a whole number from 1 to 1000: give how many instances you run, such as --instances 3.\n");
  });
});
