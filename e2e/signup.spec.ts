import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { apiRegister, fillAccount, newUser, STORE, watchCaptcha } from "./helpers";

/**
 * Signs up on the page with a right captcha answer and a username already taken: the server keeps
 * the answer as a pass, which the page says. Returns the page's captcha watch and the user typed.
 */
async function rightAnswerTakenName(page: Page, taken: string) {
  const captcha = watchCaptcha(page);
  const user = { ...newUser(), username: taken };
  await page.goto("/signup");
  await fillAccount(page, user);
  await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("captcha-replaced")).toContainText("captcha answer was right");
  return { captcha, user };
}

/** The sign-up page's captcha image, where it sits on a screen `width` CSS pixels wide. */
async function captchaBoxAt(page: Page, width: number) {
  await page.setViewportSize({ width, height: 700 });
  await page.goto("/signup");
  const image = page.getByRole("img", { name: /captcha/i });
  await expect(image).toBeVisible();
  return (await image.boundingBox())!;
}

/** From here on, POST /api/register answers this error: what the server says in a case a browser test cannot bring about (flows.test.ts proves it does). */
function registerAnswers(page: Page, status: number, error: { code: string; message: string; fields?: Record<string, string> }) {
  return page.route("**/api/register", (route) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify({ error }) }));
}

test.describe(`sign-up in the browser (${STORE} store)`, () => {
  test("sign up with JavaScript, without a page reload", async ({ page }) => {
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill((await captcha.answer()).toLowerCase());
    const registered = page.waitForResponse((r) => r.url().endsWith("/api/register"));
    await page.getByRole("button", { name: "Create account" }).click();
    const response = await registered;
    expect(response.status()).toBe(201);
    // Sent by fetch, not as a document navigation: the page did not reload.
    expect(response.request().resourceType()).toBe("fetch");
    await expect(page).toHaveURL(/\/welcome$/);
    await expect(page.getByRole("heading", { name: `Welcome, ${user.username}` })).toBeVisible();
    await expect(page.getByText(user.email.toLowerCase())).toBeVisible();
  });

  test("a device whose clock is 15 minutes fast (or slow) still signs up: the proof's expiry is read on the server's clock", async ({ browser }) => {
    for (const skewMs of [15 * 60_000, -15 * 60_000]) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.clock.setSystemTime(Date.now() + skewMs);
      const captcha = watchCaptcha(page);
      const user = newUser();
      await page.goto("/signup");
      await fillAccount(page, user);
      await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
      const registered = page.waitForResponse((r) => r.url().endsWith("/api/register"));
      await page.getByRole("button", { name: "Create account" }).click();
      expect((await registered).status(), `clock ${skewMs > 0 ? "fast" : "slow"}`).toBe(201);
      await expect(page).toHaveURL(/\/welcome$/);
      await context.close();
    }
  });

  test("a sign-up whose answer was lost, tried again, is told the taken name may be its own account", async ({ page }) => {
    const captcha = watchCaptcha(page);
    const user = newUser();
    // The first registration reaches the server (the account is created) and its answer is lost.
    let lost = false;
    await page.route("**/api/register", async (route) => {
      if (lost) return route.continue();
      lost = true;
      await route.fetch();
      await route.abort("connectionreset");
    });
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    const shown = captcha.count();
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "network_error");
    await expect.poll(() => captcha.count(), { message: "a new captcha after the attempt" }).toBeGreaterThan(shown);
    // The person tries again, as the page says; the name is taken now, by their own account.
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "taken_after_no_answer");
    await expect(page.getByTestId("form-error")).toContainText("it may have created your account");
    // Its field says the same, not "choose another".
    await expect(page.getByTestId("error-username")).toContainText("perhaps by the account your last try created");
    await expect(page.getByText("Please choose another")).toHaveCount(0);
  });

  test("without JavaScript a sign-up is refused with a clear reason, never let through without the proof of work", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "javascript_required");
    // No account exists: the plain form post is no way around the price.
    const login = await page.request.post("/api/login", { data: { login: user.username, password: user.password } });
    expect(login.status()).toBe(401);
    // A made-up proof in a plain form post is refused too.
    const forged = await page.request.post("/api/register", {
      form: { ...user, captcha: "ACDEF", altcha: Buffer.from(JSON.stringify({ challenge: {}, solution: {} })).toString("base64") },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(303);
    expect(forged.headers()["location"]).toMatch(/error=pow_invalid$/);
    await context.close();
  });

  test("a mistyped email is fixed without solving the captcha again: the server never spent it", async ({ page }) => {
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, { ...user, email: "not-an-email" });
    const answer = await captcha.answer();
    await page.getByLabel("Captcha", { exact: true }).fill(answer);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-email")).toBeVisible();
    // The same image, and the answer still typed in.
    expect(captcha.count()).toBe(1);
    await expect(page.getByLabel("Captcha", { exact: true })).toHaveValue(answer);
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("a person who cannot read the image signs up by role and accessible name alone", async ({ page }) => {
    const user = newUser();
    await page.goto("/signup");
    await page.getByRole("textbox", { name: "Username" }).fill(user.username);
    await page.getByRole("textbox", { name: "Email" }).fill(user.email);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: /Can't read it\?/ }).click();
    // The button says what it does next; a label that changes is not also a pressed state
    // (a screen reader would read "Use the image instead, pressed").
    await expect(page.getByRole("button", { name: "Use the image instead" })).not.toHaveAttribute("aria-pressed");
    await expect(page.getByRole("textbox", { name: "Captcha" })).toHaveCount(0);
    await expect(page.getByRole("status").filter({ hasText: "No image to read" })).toBeVisible();
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
    await expect(page.getByRole("heading", { name: `Welcome, ${user.username}` })).toBeVisible();
  });

  test("a right captcha with a taken username is kept: change the name and the account is created without a new captcha", async ({ page, request }) => {
    const { captcha, user } = await rightAnswerTakenName(page, (await apiRegister(request)).username);
    await expect(page.getByTestId("error-username")).toHaveAttribute("data-code", "username_taken");
    const loaded = captcha.count();
    await page.getByLabel("Username", { exact: true }).fill(`${user.username}_2`);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
    expect(captcha.count()).toBe(loaded);
  });

  test("a common password is refused on its field, before the captcha is spent: the same answer then creates the account", async ({ page }) => {
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, { ...user, password: "Password123" });
    const answer = await captcha.answer();
    await page.getByLabel("Captcha", { exact: true }).fill(answer);
    const loaded = captcha.count();
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-password")).toHaveAttribute("data-code", "too_common");
    await expect(page.getByTestId("error-password")).toContainText("one of the most common ones");
    await expect(page.getByLabel("Password", { exact: true })).toBeFocused();
    await expect(page.getByLabel("Captcha", { exact: true })).toHaveValue(answer);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
    expect(captcha.count()).toBe(loaded);
  });

  test("a kept right answer outlives a field to fix: no captcha comes back (its image was spent), and the fix creates the account", async ({ page, request }) => {
    const { captcha, user } = await rightAnswerTakenName(page, (await apiRegister(request)).username);
    const loaded = captcha.count();
    await page.getByLabel("Username", { exact: true }).fill("ab");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-username")).toHaveAttribute("data-code", "too_short");
    await expect(page.getByTestId("captcha-replaced")).toContainText("captcha answer was right");
    await expect(page.getByLabel("Captcha", { exact: true })).toHaveCount(0);
    await page.getByLabel("Username", { exact: true }).fill(`${user.username}_2`);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
    expect(captcha.count()).toBe(loaded);
  });

  test("while a new captcha image is on its way the old one is not shown: it no longer counts", async ({ page }) => {
    const captcha = watchCaptcha(page);
    await page.goto("/signup");
    await captcha.answer();
    await expect(page.getByTestId("captcha-loading")).toHaveCount(0);
    // A slow connection: the next image takes two seconds.
    await page.route("**/api/captcha**", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await route.continue();
    });
    const shown = captcha.count();
    await page.getByRole("button", { name: "New captcha" }).click();
    await expect(page.getByTestId("captcha-loading")).toHaveText("Loading a new image…");
    await expect(page.locator("img.captcha__image")).toHaveClass(/captcha__image--loading/);
    await expect.poll(() => captcha.count()).toBeGreaterThan(shown);
    await expect(page.getByTestId("captcha-loading")).toHaveCount(0);
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/captcha__image--loading/);
  });

  test("New captcha clicked twice at once: the image shown is the one the server checks", async ({ page }) => {
    await page.goto("/signup");
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/captcha__image--loading/);
    // Each image's answer, by the r= of its address.
    const answers = new Map<string, string>();
    // The server takes the first of two requests made at once last (as a busy instance, or
    // another instance behind the load balancer, can): it would then write its captcha into the
    // session after the second's. The first is held until the second has been answered, or 3 s.
    let requests = 0;
    let secondDone: () => void = () => {};
    const second = new Promise<void>((resolve) => (secondDone = resolve));
    await page.route("**/api/captcha**", async (route) => {
      const index = ++requests;
      if (index === 1) await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      const response = await route.fetch();
      answers.set(new URL(route.request().url()).searchParams.get("r")!, response.headers()["x-captcha-answer"]!);
      if (index === 2) secondDone();
      // The browser may have dropped a request whose image it no longer wants.
      await route.fulfill({ response }).catch(() => {});
    });
    const refresh = page.getByRole("button", { name: "New captcha" });
    await refresh.click();
    await refresh.click();
    await expect.poll(() => requests).toBe(2);
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/captcha__image--loading/);
    const shown = new URL((await page.locator("img.captcha__image").getAttribute("src"))!, page.url()).searchParams.get("r")!;
    await expect.poll(() => answers.has(shown)).toBe(true);
    await page.unroute("**/api/captcha**");
    await fillAccount(page, newUser());
    await page.getByLabel("Captcha", { exact: true }).fill(answers.get(shown)!);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("an account created where the browser keeps no cookie says it was created and to log in, not an empty login page", async ({ page }) => {
    const user = newUser();
    // A browser that blocks cookies: the sign-up succeeds on the server, and its cookie never
    // reaches the browser (sent from here, so the page's cookie jar never sees it).
    await page.route("**/api/register", async (route) => {
      const response = await page.request.fetch(route.request(), { maxRedirects: 0 });
      expect(response.status()).toBe(201);
      await page.context().clearCookies();
      await route.fulfill({ status: response.status(), contentType: "application/json", body: await response.text() });
    });
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByRole("button", { name: /Can't read it\?/ }).click();
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("account-created")).toHaveAttribute("data-code", "signup_not_kept");
    await expect(page.getByTestId("account-created")).toContainText("Your account was created");
    await expect(page).toHaveURL(/\/signup/);
    // Nothing left to send: sent again, the form would meet the new account's name as taken.
    await expect(page.getByRole("button", { name: "Create account" })).toHaveCount(0);
    await expect(page.getByTestId("account-created-login")).toBeFocused();
  });

  test("a browser that blocks cookies for the site is told before anything is typed, on sign-up and log-in", async ({ browser }) => {
    const context = await browser.newContext();
    // What such a browser reports (Chromium's "block cookies" for a site sets it false).
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "cookieEnabled", { get: () => false }));
    const page = await context.newPage();
    for (const path of ["/signup", "/login"]) {
      await page.goto(path);
      await expect(page.getByTestId("cookies-blocked")).toContainText("This browser blocks cookies for this site");
    }
    await context.close();
    // A browser that takes them is told nothing.
    const plain = await browser.newPage();
    await plain.goto("/signup");
    // Once the page's scripts run (the button exists only then), where the note would appear.
    await expect(plain.getByRole("button", { name: /Can't read it\?/ })).toBeVisible();
    await expect(plain.getByTestId("cookies-blocked")).toHaveCount(0);
    await plain.close();
  });

  test("an account created whose login the server could not store says it was created and to log in, not to try again", async ({ page }) => {
    await page.clock.install();
    const captcha = watchCaptcha(page);
    let challenges = 0;
    page.on("request", (request) => void (request.url().includes("/api/challenge") && challenges++));
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    // What the server answers when the store fails between the account's insert and its login
    // (lib/api/flows.test.ts proves it does).
    await registerAnswers(page, 503, { code: "session_store_unavailable", message: "The account was created.", fields: { account: "created" } });
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("account-created")).toHaveAttribute("data-code", "created_not_logged_in");
    await expect(page.getByTestId("account-created")).toContainText("Your account was created");
    await expect(page.getByTestId("account-created")).toContainText("log in with your new username and password");
    await expect(page.getByRole("button", { name: "Create account" })).toHaveCount(0);
    // The security check for another attempt stopped with the form: half an hour later it has
    // asked for no new challenge (it renews one before it expires while a form may use it).
    // Long enough for the solve started at the submit to end on its own, were it not stopped.
    await page.waitForTimeout(2_000);
    const asked = challenges;
    await page.clock.fastForward("30:00");
    await page.waitForTimeout(1_000);
    expect(challenges).toBe(asked);
    await page.getByTestId("account-created-login").click();
    await expect(page).toHaveURL(/\/login$/);
  });

  test("Enter in a field before the page's scripts have run sends the form, not the no-JavaScript 'New captcha'", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto("/signup");
    await fillAccount(page, newUser());
    await page.getByLabel("Email", { exact: true }).press("Enter");
    await expect(page).toHaveURL(/\/signup\?error=invalid_input&fields=altcha\.required/);
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "javascript_required");
    await context.close();
  });

  test("a kept right answer that lapsed before it was used is said to have lapsed, with a new image to read", async ({ page, request }) => {
    const { captcha, user } = await rightAnswerTakenName(page, (await apiRegister(request)).username);
    // The pass lives a few minutes; past them the server asks for a captcha again, as it answers here.
    await page.clock.setSystemTime(Date.now() + 6 * 60_000);
    await registerAnswers(page, 400, { code: "invalid_input", message: "Some fields are not valid.", fields: { captcha: "required" } });
    const shown = captcha.count();
    await page.getByLabel("Username", { exact: true }).fill(`${user.username}_2`);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-captcha")).toContainText("counted for a few minutes only");
    // Said under the captcha only: no banner calls it details missing or not valid.
    await expect(page.getByTestId("form-error")).toHaveCount(0);
    await expect(page.getByLabel("Captcha", { exact: true })).toBeVisible();
    // A new image: the one shown before was solved and spent.
    await expect.poll(() => captcha.count(), { message: "a new captcha" }).toBeGreaterThan(shown);
  });

  test("a kept right answer that another tab used is said to be used there, not to have lapsed", async ({ context, request }) => {
    const taken = (await apiRegister(request)).username;
    const first = await context.newPage();
    const { user } = await rightAnswerTakenName(first, taken);
    // The second tab's right answer replaces the first's pass in the session they share.
    const second = await context.newPage();
    await rightAnswerTakenName(second, taken);
    await first.getByLabel("Username", { exact: true }).fill(`${user.username}_a`);
    await first.getByRole("button", { name: "Create account" }).click();
    await expect(first).toHaveURL(/\/welcome$/);
    // Within the pass's minutes, in the second tab: the server holds no pass any more.
    const registered = second.waitForResponse((r) => r.url().endsWith("/api/register"));
    await second.getByLabel("Username", { exact: true }).fill(`${user.username}_b`);
    await second.getByRole("button", { name: "Create account" }).click();
    expect((await registered).status()).toBe(400);
    await expect(second.getByTestId("error-captcha")).toHaveAttribute("data-code", "pass_used");
    await expect(second.getByTestId("error-captcha")).toContainText("this site open in another tab");
    await expect(second.getByLabel("Captcha", { exact: true })).toBeVisible();
  });

  test("a kept right answer spent on a name taken again says so, with a new image to read", async ({ page, request }) => {
    const taken = await apiRegister(request);
    const { captcha } = await rightAnswerTakenName(page, taken.username);
    const shown = captcha.count();
    // Sent again as it stands (Enter pressed twice on a slow connection, say): the same name, taken.
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-username")).toContainText("already taken");
    await expect(page.getByTestId("error-captcha")).toHaveAttribute("data-code", "pass_spent");
    await expect(page.getByTestId("error-captcha")).toContainText("counted for that attempt");
    await expect(page.getByLabel("Captcha", { exact: true })).toBeVisible();
    await expect.poll(() => captcha.count(), { message: "a new captcha" }).toBeGreaterThan(shown);
  });

  test("a kept right answer the server lost is said to be the server's loss, not a used image", async ({ page, request }) => {
    const { captcha, user } = await rightAnswerTakenName(page, (await apiRegister(request)).username);
    // What the server answers when its ledger no longer holds the pass (lib/api/flows.test.ts proves it does).
    await registerAnswers(page, 400, { code: "captcha_missing", message: "The server no longer holds it.", fields: { captcha: "lost" } });
    const shown = captcha.count();
    await page.getByLabel("Username", { exact: true }).fill(`${user.username}_2`);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-captcha")).toContainText("lost track of your earlier right answer");
    await expect.poll(() => captcha.count(), { message: "a new captcha" }).toBeGreaterThan(shown);
  });

  test("a captcha the server lost is said to be the server's loss, with a new image, and the next answer signs up", async ({ page }) => {
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    // What the server answers when its ledger no longer holds the captcha (lib/api/flows.test.ts proves it does, per store).
    await registerAnswers(page, 400, { code: "captcha_missing", message: "The server no longer holds the captcha.", fields: { captcha: "lost" } });
    const shown = captcha.count();
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-captcha")).toHaveAttribute("data-code", "lost");
    await expect(page.getByTestId("error-captcha")).toContainText("lost track of that image");
    await expect(page.getByText(/already checked/)).toHaveCount(0);
    await expect.poll(() => captcha.count(), { message: "a new captcha" }).toBeGreaterThan(shown);
    await expect(page.getByLabel("Captcha", { exact: true })).toBeFocused();
    await page.unroute("**/api/register");
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("a kept captcha spent on a second taken name is not promised again: a new captcha is shown", async ({ page, request }) => {
    const byName = await apiRegister(request);
    const byEmail = await apiRegister(request);
    const { captcha, user } = await rightAnswerTakenName(page, byName.username);
    const loaded = captcha.count();
    // The pass goes on this attempt, which fails again: on the email this time.
    await page.getByLabel("Username", { exact: true }).fill(`${user.username}_2`);
    await page.getByLabel("Email", { exact: true }).fill(byEmail.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-email")).toHaveAttribute("data-code", "email_taken");
    // It says to log in instead, with the way there.
    await expect(page.getByTestId("error-email").getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
    await expect(page.getByTestId("captcha-replaced")).toHaveCount(0);
    await expect.poll(() => captcha.count()).toBeGreaterThan(loaded);
    await page.getByLabel("Email", { exact: true }).fill(`two.${user.email}`);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("a username and an email both taken are both said at once, so the kept answer serves the next try", async ({ page, request }) => {
    const existing = await apiRegister(request);
    const captcha = watchCaptcha(page);
    const user = { ...newUser(), username: existing.username, email: existing.email };
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-username")).toHaveAttribute("data-code", "username_taken");
    await expect(page.getByTestId("error-email")).toHaveAttribute("data-code", "email_taken");
    await expect(page.getByTestId("captcha-replaced")).toContainText("captcha answer was right");
    // Both changed: the kept right answer creates the account, with no second captcha.
    await page.getByLabel("Username", { exact: true }).fill(`${user.username}_2`);
    await page.getByLabel("Email", { exact: true }).fill(`two.${user.email}`);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("a form sent before the page's scripts had loaded is said to be that, not a browser without JavaScript", async ({ page }) => {
    // Where a plain post without the proof of work lands; this browser runs JavaScript.
    await page.goto("/signup?error=invalid_input&fields=altcha.required");
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "sent_before_ready");
    await expect(page.getByTestId("form-error")).toContainText("before this page's scripts had run");
    await expect(page.getByText(/needs JavaScript/)).toHaveCount(0);
  });

  test("with the sign-up page open in two tabs, a right answer in either tab is named as replaced, not as a typo", async ({ context }) => {
    const first = await context.newPage();
    const firstCaptcha = watchCaptcha(first);
    await first.goto("/signup");
    const answer = await firstCaptcha.answer();
    const second = await context.newPage();
    const secondCaptcha = watchCaptcha(second);
    await second.goto("/signup");
    const newer = await secondCaptcha.answer();
    // Two draws with the same text happen once in 12^5.
    expect(newer).not.toBe(answer);
    const user = newUser();
    await fillAccount(first, user);
    await first.getByLabel("Captcha", { exact: true }).fill(answer);
    await first.getByRole("button", { name: "Create account" }).click();
    await expect(first.getByTestId("error-captcha")).toHaveAttribute("data-code", "replaced");
    await expect(first.getByTestId("error-captcha")).toContainText("another tab or window");
    await expect(first.getByTestId("error-captcha")).toContainText("finish in this tab");
    // The first tab now shows a new image of its own.
    await expect.poll(() => firstCaptcha.count()).toBeGreaterThan(1);
    // The second tab's image was spent by that attempt: its right answer is named as such too.
    await fillAccount(second, newUser());
    await second.getByLabel("Captcha", { exact: true }).fill(newer);
    await second.getByRole("button", { name: "Create account" }).click();
    await expect(second.getByTestId("error-captcha")).toHaveAttribute("data-code", "replaced");
    // The second tab's new image replaced the first tab's; a new one there, and its answer signs up.
    const seen = await firstCaptcha.count();
    await first.getByRole("button", { name: "New captcha" }).click();
    await expect.poll(() => firstCaptcha.count()).toBeGreaterThan(seen);
    await first.getByLabel("Password", { exact: true }).fill(user.password);
    await first.getByLabel("Captcha", { exact: true }).fill(await firstCaptcha.answer());
    await first.getByRole("button", { name: "Create account" }).click();
    await expect(first).toHaveURL(/\/welcome$/);
  });

  test("a tab whose browser signed up in another tab meanwhile says who is logged in now, not that its captcha was used", async ({ context }) => {
    const first = await context.newPage();
    const firstCaptcha = watchCaptcha(first);
    await first.goto("/signup");
    const older = await firstCaptcha.answer();
    const second = await context.newPage();
    const secondCaptcha = watchCaptcha(second);
    await second.goto("/signup");
    const made = newUser();
    await fillAccount(second, made);
    await second.getByLabel("Captcha", { exact: true }).fill(await secondCaptcha.answer());
    await second.getByRole("button", { name: "Create account" }).click();
    await expect(second).toHaveURL(/\/welcome$/);
    await fillAccount(first, newUser());
    await first.getByLabel("Captcha", { exact: true }).fill(older);
    await first.getByRole("button", { name: "Create account" }).click();
    await expect(first.getByTestId("signed-up-elsewhere")).toContainText(`now logged in as ${made.username}`);
    await expect(first.getByTestId("form-error")).toHaveCount(0);
  });

  test("a captcha refused by the rate limit says what happened and what else to do, even before the page is live", async ({ page }) => {
    await page.route("**/api/captcha**", (route) =>
      route.fulfill({ status: 429, headers: { "content-type": "application/json", "retry-after": "60" }, body: JSON.stringify({ error: { code: "rate_limited", message: "Too many requests." } }) }),
    );
    await page.goto("/signup");
    await expect(page.getByRole("status").filter({ hasText: "The captcha image did not load" })).toContainText("Can't read it");
  });

  test("a captcha that failed while the service is away says so, and blames no one's network", async ({ page }) => {
    const unavailable = { status: 503, headers: { "content-type": "application/json" }, body: JSON.stringify({ error: { code: "session_store_unavailable", message: "Unavailable." } }) };
    await page.route("**/api/captcha**", (route) => route.fulfill(unavailable));
    await page.route("**/api/health", (route) => route.fulfill(unavailable));
    await page.goto("/signup");
    const note = page.getByTestId("captcha-failed");
    await expect(note).toHaveAttribute("data-cause", "unavailable");
    await expect(note).toContainText("our sign-in service is unavailable for a moment");
    await expect(note).not.toContainText("your network");
  });

  test("a page reloaded after the service was away, now that it answers again, says it is back, not that it is away", async ({ page }) => {
    for (const path of ["/signup", "/login"]) {
      // Where a refused plain form post landed (lib/http/route.ts); the store answers by now.
      await page.goto(`${path}?error=session_store_unavailable`);
      await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "store_back");
      await expect(page.getByTestId("form-error")).toContainText("working again");
    }
  });

  test("a captcha that failed because the server cannot be reached says so, without a broken image", async ({ page }) => {
    await page.goto("/signup");
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/loading/);
    // From here on nothing reaches the server: the connection dropped.
    await page.route("**/api/**", (route) => route.abort("internetdisconnected"));
    await page.getByRole("button", { name: "New captcha" }).click();
    const note = page.getByTestId("captcha-failed");
    await expect(note).toHaveAttribute("data-cause", "unreachable");
    await expect(note).toContainText("could not reach our server");
    await expect(note).not.toContainText("Can't read it");
    // The same empty frame in its place, never a broken-image icon in a box of another size.
    await expect(page.locator("img.captcha__image")).toHaveCount(0);
    const frame = (await page.getByTestId("captcha-no-image").boundingBox())!;
    expect(frame.width / frame.height).toBeCloseTo(3, 1);
  });

  test("an image that failed because the browser went offline comes by itself once it is back online", async ({ page, context }) => {
    const captcha = watchCaptcha(page);
    await page.goto("/signup");
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/loading/);
    await context.setOffline(true);
    await page.getByRole("button", { name: "New captcha" }).click();
    await expect(page.getByTestId("captcha-failed")).toHaveAttribute("data-cause", "unreachable");
    const shown = captcha.count();
    await context.setOffline(false);
    await expect.poll(() => captcha.count(), { message: "a new captcha, unasked" }).toBeGreaterThan(shown);
    await expect(page.getByTestId("captcha-failed")).toHaveCount(0);
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/loading/);
  });

  test("an address that names no page answers 404 with the site's own page and the ways in", async ({ page }) => {
    const response = await page.goto("/no-such-page");
    expect(response?.status()).toBe(404);
    await expect(page).toHaveTitle(/^Page not found/);
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
    await page.getByTestId("not-found").getByRole("link", { name: "Create an account" }).click();
    await expect(page).toHaveURL(/\/signup$/);
  });

  test("an image that expires while its answer is being typed is replaced at once, so the typed answer is never sent", async ({ page }) => {
    await page.clock.install();
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, user);
    const first = await captcha.answer();
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/loading/);
    await page.getByLabel("Captcha", { exact: true }).fill(first.slice(0, 2));
    const shown = captcha.count();
    await page.clock.fastForward("05:30");
    await expect.poll(() => captcha.count(), { message: "a new captcha" }).toBeGreaterThan(shown);
    await expect(page.getByLabel("Captcha", { exact: true })).toHaveValue("");
    await expect(page.getByTestId("captcha-expired")).toHaveCount(0);
    // The typed answer went with the image: the person is told why.
    await expect(page.getByTestId("captcha-renewed")).toContainText("expired, so this is a new one");
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("an image left on screen past its lifetime is said to have expired, and coming back to it draws a new one", async ({ page }) => {
    await page.clock.install();
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, user);
    await captcha.answer();
    await expect(page.locator("img.captcha__image")).not.toHaveClass(/loading/);
    // The person steps away for longer than an image counts (5 minutes here).
    await page.clock.fastForward("05:30");
    await expect(page.getByTestId("captcha-expired")).toBeVisible();
    await expect(page.getByTestId("captcha-expired-note")).toContainText("This image has expired");
    const shown = captcha.count();
    // Back at the form: clicking into the captcha's field draws a new image before anything is typed.
    await page.getByLabel("Captcha", { exact: true }).click();
    await expect.poll(() => captcha.count(), { message: "a new captcha" }).toBeGreaterThan(shown);
    await expect(page.getByTestId("captcha-expired")).toHaveCount(0);
    await expect(page.getByTestId("captcha-renewed")).toHaveCount(0);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("on a narrow phone screen the captcha scales with the form and keeps its shape", async ({ page }) => {
    const box = await captchaBoxAt(page, 320);
    const form = (await page.locator("form.form").boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(form.x - 0.5);
    expect(box.x + box.width).toBeLessThanOrEqual(form.x + form.width + 0.5);
    expect(box.width / box.height).toBeCloseTo(3, 1);
    // No horizontal scrolling on the page itself.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    mkdirSync("artifacts/screenshots", { recursive: true });
    await page.screenshot({ path: `artifacts/screenshots/signup-phone-${STORE}.png`, fullPage: true });
  });

  test("zoomed in on a phone (187 CSS pixels wide) the captcha takes the row's width, with the button below it", async ({ page }) => {
    const box = await captchaBoxAt(page, 187);
    const row = (await page.locator(".captcha__row").boundingBox())!;
    expect(box.width).toBeGreaterThanOrEqual(Math.min(240, row.width) - 1);
    const button = (await page.getByRole("button", { name: "New captcha" }).boundingBox())!;
    expect(button.y).toBeGreaterThanOrEqual(box.y + box.height - 1);
  });

  for (const path of ["/signup", "/login", "/welcome", "/password"]) {
    for (const scheme of ["light", "dark"] as const) {
      test(`axe finds no accessibility violation on ${path} (${scheme} colour scheme)`, async ({ page }) => {
        await page.emulateMedia({ colorScheme: scheme });
        if (path === "/welcome" || path === "/password") await apiRegister(page.request);
        await page.goto(path);
        await expect(page).toHaveURL(new RegExp(`${path}$`));
        const results = await new AxeBuilder({ page }).analyze();
        expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
      });
    }
  }

  test("a wrong captcha is refused, the captcha refreshes, and the next try succeeds", async ({ page }) => {
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await fillAccount(page, user);
    const first = await captcha.answer();
    await page.getByLabel("Captcha", { exact: true }).fill(first === "AAAAA" ? "CCCCC" : "AAAAA");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-captcha")).toHaveAttribute("data-code", "captcha_invalid");
    await expect.poll(() => captcha.count()).toBeGreaterThanOrEqual(2);
    // What the person typed in the other fields survives the failed attempt.
    await expect(page.getByLabel("Username", { exact: true })).toHaveValue(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "New captcha" }).click();
    await expect.poll(() => captcha.count()).toBeGreaterThanOrEqual(3);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("a taken username is reported on its field", async ({ page, request }) => {
    const existing = await apiRegister(request);
    const captcha = watchCaptcha(page);
    const user = { ...newUser(), username: existing.username.toUpperCase() };
    await page.goto("/signup");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-username")).toHaveAttribute("data-code", "username_taken");
    await expect(page).toHaveURL(/\/signup/);
  });

  test("log out, then /welcome redirects to /login; log in again", async ({ page }) => {
    const user = await apiRegister(page.request);
    await page.goto("/welcome");
    await expect(page.getByRole("heading", { name: `Welcome, ${user.username}` })).toBeVisible();
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto("/welcome");
    await expect(page).toHaveURL(/\/login$/);

    await page.getByLabel("Username or email").fill(user.email);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Log in" }).click();
    // A click before the page is live posts the form plainly, which lands with `from=login`.
    await expect(page).toHaveURL(/\/welcome(\?from=login)?$/);
    await expect(page.getByRole("heading", { name: `Welcome, ${user.username}` })).toBeVisible();
  });

  test("a wrong password is refused on the login page", async ({ page }) => {
    const user = await apiRegister(page.request);
    await page.context().clearCookies();
    await page.goto("/login");
    await page.getByLabel("Username or email").fill(user.username);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "invalid_credentials");
    // Neither field alone is blamed, and both are marked and name the banner that says why.
    for (const label of ["Username or email", "Password"]) {
      await expect(page.getByLabel(label)).toHaveAttribute("aria-invalid", "true");
      await expect(page.getByLabel(label)).toHaveAccessibleDescription(/could not log you in with that username or email and that password/);
    }
  });

  test("a login being checked is announced, not only shown", async ({ page }) => {
    const user = await apiRegister(page.request);
    await page.context().clearCookies();
    await page.goto("/login");
    // The answer is held back, so the state in between can be read.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route("**/api/login", async (route) => {
      await held;
      await route.continue();
    });
    await page.getByLabel("Username or email").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("login-pending")).toHaveText("Logging in…");
    await expect(page.getByTestId("login-pending")).toHaveAttribute("role", "status");
    release();
    await expect(page).toHaveURL(/\/welcome$/);
  });

  test("screenshot of the sign-up page", async ({ page }) => {
    const captcha = watchCaptcha(page);
    await page.setViewportSize({ width: 1100, height: 820 });
    await page.goto("/signup");
    await captcha.answer();
    const image = page.getByRole("img", { name: /captcha/i });
    await expect(image).toBeVisible();
    // The image really rendered: a broken image has no natural width.
    expect(await image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    mkdirSync("artifacts/screenshots", { recursive: true });
    await page.screenshot({ path: `artifacts/screenshots/signup-${STORE}.png`, fullPage: true });
  });
});
