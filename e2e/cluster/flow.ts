import { randomBytes } from "node:crypto";
import { proofFrom } from "../../testing/pow";

/**
 * One visitor's sign-up over HTTP: a proof-of-work challenge (solved here), captcha, register,
 * me, with its own cookie jar. Behind a round-robin proxy the challenge is issued by one
 * instance and checked by another, like the captcha.
 */

export interface FlowResult {
  ok: boolean;
  /** The instance that served each request, in order. */
  instances: string[];
  cookie?: string;
  failure?: string;
}

const COOKIE = "holdfast_session";

function jar(response: Response, previous?: string): string | undefined {
  const set = response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  return set ? set.split(";")[0] : previous;
}

export async function signUpFlow(base: string): Promise<FlowResult> {
  const instances: string[] = [];
  const served = (r: Response) => instances.push(r.headers.get("x-holdfast-instance") ?? "?");
  try {
    const challenge = await fetch(`${base}/api/challenge`);
    served(challenge);
    const challengeText = await challenge.text();
    if (challenge.status !== 200) return { ok: false, instances, failure: `challenge ${challenge.status} ${challengeText.slice(0, 200)}` };
    const altcha = proofFrom(challengeText).payload;
    const captcha = await fetch(`${base}/api/captcha`);
    served(captcha);
    if (captcha.status !== 200) return { ok: false, instances, failure: `captcha ${captcha.status}` };
    let cookie = jar(captcha);
    const id = randomBytes(6).toString("hex");
    const register = await fetch(`${base}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: cookie ?? "" },
      body: JSON.stringify({ username: `c_${id}`, email: `c.${id}@example.test`, password: `password-${id}`, captcha: captcha.headers.get("x-captcha-answer"), altcha }),
    });
    served(register);
    if (register.status !== 201) return { ok: false, instances, failure: `register ${register.status} ${await register.text()}` };
    cookie = jar(register, cookie);
    const me = await fetch(`${base}/api/me`, { headers: { cookie: cookie ?? "" } });
    served(me);
    if (me.status !== 200) return { ok: false, instances, failure: `me ${me.status}` };
    return { ok: true, instances, cookie };
  } catch (error) {
    return { ok: false, instances, failure: (error as Error).message };
  }
}

export async function stillLoggedIn(base: string, cookie: string): Promise<boolean> {
  const me = await fetch(`${base}/api/me`, { headers: { cookie } });
  return me.status === 200;
}
