import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { randomBytes } from "node:crypto";
import { apiProof } from "../testing/pow";

export { apiProof, proof } from "../testing/pow";

export const STORE = process.env.E2E_STORE ?? "unknown";

export function newUser() {
  const id = randomBytes(5).toString("hex");
  return { username: `u_${id}`, email: `U.${id}@Example.test`, password: `pw-${id}-long-enough` };
}

/** Remembers the answer of the latest captcha the page loaded (the server runs with CAPTCHA_TEST_MODE=1). */
export function watchCaptcha(page: Page): { answer(): Promise<string>; count(): number } {
  let latest: string | undefined;
  let seen = 0;
  page.on("response", (response) => {
    if (!response.url().includes("/api/captcha")) return;
    const answer = response.headers()["x-captcha-answer"];
    if (answer) {
      latest = answer;
      seen++;
    }
  });
  return {
    async answer() {
      await expect.poll(() => latest, { message: "a captcha was loaded" }).toBeTruthy();
      return latest!;
    },
    count: () => seen,
  };
}

/** A captcha over the API, for tests that drive HTTP directly. */
export async function apiCaptcha(request: APIRequestContext): Promise<string> {
  const response = await request.get("/api/captcha");
  expect(response.status()).toBe(200);
  return response.headers()["x-captcha-answer"]!;
}

/** A registration over the API: a captcha in the request context's cookie jar and a fresh proof of work. */
export async function apiRegister(request: APIRequestContext, user = newUser()) {
  const captcha = await apiCaptcha(request);
  const altcha = await apiProof(request);
  const response = await request.post("/api/register", { data: { ...user, captcha, altcha } });
  expect(response.status(), await response.text()).toBe(201);
  return user;
}

/** Fills the sign-up form's account fields (not the captcha). */
export async function fillAccount(page: Page, user: { username: string; email: string; password: string }) {
  await page.getByLabel("Username", { exact: true }).fill(user.username);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
}
