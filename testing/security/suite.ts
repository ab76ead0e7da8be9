import { fuzz } from "./fuzz";
import { Probe, type SecurityReport } from "./http";
import { loginTiming, rateLimits } from "./limits";
import { captchaPass, proofOfWork } from "./pow";
import { bruteForce, concurrentCaptcha, concurrentEmail, replay } from "./races";
import { cookies, fixation, signUp } from "./sessions";

export type { SecurityReport } from "./http";

export interface SecuritySuiteOptions {
  /** The E2E store name (cookie, database, redis-rest, redis-tcp, cached-tcp): some outcomes differ by store. */
  store: string;
  log?: (line: string) => void;
  /**
   * A second server of the same store with the DEFAULT rate limits and password hash cost, for
   * login timing (6) and rate limits (8). Without it those parts are not run, which is a failure.
   */
  limitsUrl?: string;
  /** The instance behind `baseUrl`, not through the proxy, where a Cookie header above 8 KiB reaches the app. */
  directUrl?: string;
  /** Runs between the parts on `baseUrl` and those on `limitsUrl`, e.g. to stop the first server and reset limiter state. */
  beforeLimits?: () => Promise<void>;
}

/**
 * Hostile requests against a real built server, counted. `baseUrl` should raise the rate limits
 * (RATE_LIMIT_MULTIPLIER=1000) and may lower the hash cost; the checks of every response (no
 * 5xx, no stack trace or SQL, cookie attributes, no-store and Vary) apply to both servers.
 */
export async function runSecuritySuite(baseUrl: string, options: SecuritySuiteOptions): Promise<SecurityReport> {
  const log = options.log ?? (() => {});
  const probe = new Probe(baseUrl);
  const part = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      probe.fail(`${name}: the suite itself threw ${(error as Error).name}: ${(error as Error).message.slice(0, 200)}`);
    }
  };
  await part("hostile requests", () => fuzz(probe, log));
  await part("cookies", () => cookies(probe, options.store, log, options.directUrl));
  await part("captcha replay", () => replay(probe, options.store, log));
  await part("captcha brute force", () => bruteForce(probe, log));
  await part("one email, 50 registrations", () => concurrentEmail(probe, log));
  await part("one captcha, 50 registrations", () => concurrentCaptcha(probe, options.store, log));
  await part("session fixation", () => fixation(probe, log));
  await part("proof of work", () => proofOfWork(probe, log));
  await part("captcha pass", () => captchaPass(probe, options.store, log));

  if (!options.limitsUrl) {
    probe.fail("login timing and rate limits were not run: they need limitsUrl, a server with the default limits and hash cost");
    return probe.report;
  }
  await part("before limits", async () => options.beforeLimits?.());
  const limits = new Probe(options.limitsUrl, probe);
  await part("login timing and rate limits", async () => {
    const since = { captcha: Date.now(), challenge: Date.now(), register: Date.now(), login: Date.now() };
    const account = await signUp(limits, "limits setup");
    if (!account) return;
    since.login = await loginTiming(limits, account, log);
    await rateLimits(limits, account, since, log);
  });
  return probe.report;
}
