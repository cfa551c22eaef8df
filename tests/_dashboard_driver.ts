// Drives the dashboard in headless Chromium with playwright-core, for tests/dashboard_browser_test.ts.
//
// A separate process because Playwright builds functions from strings, which the test process forbids
// (--v8-flags=--disallow-code-generation-from-strings). Input: one JSON argument (DriverInput). Output: one JSON
// line (DriverResult) on stdout; exit code 1 with the reason on stderr when a step fails.
// deno-lint-ignore no-import-prefix -- a test-only tool, kept out of the package's import map
import { chromium } from "npm:playwright-core@^1.65.1";

/** What the test asks the driver to do. */
export interface DriverInput {
  /** The Chromium binary. */
  readonly executablePath: string;
  /** The dashboard's address. */
  readonly url: string;
  /** The admin token, typed into the page's prompt; none when the API has no token. */
  readonly token?: string;
  /** Plugin ids the page must list as Running. */
  readonly plugins: readonly string[];
  /** The plugin whose Reload button is clicked (none: no click, no diagnosis). */
  readonly reload?: string;
  /** The version the reloaded plugin's row must then show. */
  readonly expectVersion?: string;
  /** Hosts the fleet view must list (each with `fleetPlugin` Running there). */
  readonly fleetHosts?: readonly string[];
  /** A plugin every one of `fleetHosts` runs. */
  readonly fleetPlugin?: string;
  /** Where to save a screenshot. */
  readonly screenshot: string;
}

/** What the driver saw. */
export interface DriverResult {
  /** Each row's cells (plugin, state, health, version, calls, errors, p50, p95) before the click. */
  readonly before: Readonly<Record<string, readonly string[]>>;
  /** The same after the reload showed. */
  readonly after: Readonly<Record<string, readonly string[]>>;
  /** The texts of the event list after the reload, newest first. */
  readonly events: readonly string[];
  /** Whether the token prompt was shown. */
  readonly askedForToken: boolean;
  /** The accessible names of the buttons of the reloaded plugin's row. */
  readonly buttons: readonly string[];
  /** The findings the "Why?" button showed for the reloaded plugin. */
  readonly diagnosis: readonly string[];
  /** Errors the page logged. */
  readonly pageErrors: readonly string[];
  /** The fleet view's title and its rows' cells (host, count, plugins), when `fleetHosts` was given. */
  readonly fleet?: { readonly title: string; readonly rows: readonly (readonly string[])[] };
}

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TIMEOUT = 20_000;

async function drive(input: DriverInput): Promise<DriverResult> {
  // Playwright gives every launch a fresh, empty user data dir of its own.
  const browser = await chromium.launch({
    executablePath: input.executablePath,
    headless: true,
    args: FLAGS,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1180, height: 620 } });
    page.setDefaultTimeout(TIMEOUT);
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
    await page.goto(input.url);

    let askedForToken = false;
    if (input.token !== undefined) {
      await page.getByLabel(/needs its token/).fill(input.token);
      askedForToken = true;
      await page.getByRole("button", { name: "Connect" }).click();
    }
    const row = (id: string) => page.locator(`#plugins tbody tr[data-id="${id}"]`);
    const cells = async (id: string): Promise<string[]> =>
      (await row(id).locator("th, td:not(.actions)").allTextContents()).map((s) => s.trim());
    for (const id of input.plugins) {
      await row(id).locator(".col-state", { hasText: /^Running$/ }).waitFor();
      // A row can show its state (from an event) before its metrics (from the list) fill its numbers.
      await row(id).locator(".col-calls", { hasText: /\d/ }).waitFor();
    }
    await page.locator("#conn", { hasText: "live" }).waitFor();
    const before = Object.fromEntries(
      await Promise.all(input.plugins.map(async (id) => [id, await cells(id)])),
    );

    let fleet: DriverResult["fleet"];
    if (input.fleetHosts) {
      for (const h of input.fleetHosts) {
        await page.locator(`#fleet-hosts tbody tr[data-host="${h}"] li`, { hasText: input.fleetPlugin })
          .locator(".badge", { hasText: /^Running$/ }).waitFor();
      }
      const rows = await Promise.all(
        (await page.locator("#fleet-hosts tbody tr").all()).map(async (r) =>
          (await r.locator("th, td").allTextContents()).map((s) => s.trim())
        ),
      );
      fleet = { title: (await page.locator("#fleet-title").textContent() ?? "").trim(), rows };
    }
    if (input.reload === undefined) {
      await page.screenshot({ path: input.screenshot });
      return {
        before,
        after: before,
        events: [],
        askedForToken,
        buttons: [],
        diagnosis: [],
        pageErrors,
        ...(fleet ? { fleet } : {}),
      };
    }
    const buttons = await Promise.all(
      (await row(input.reload).getByRole("button").all()).map(async (b) =>
        await b.getAttribute("aria-label") ?? ""
      ),
    );
    await page.getByRole("button", { name: `Reload ${input.reload}`, exact: true }).click();
    await row(input.reload).locator(".col-version", { hasText: input.expectVersion ?? "" }).waitFor();
    await row(input.reload).locator(".col-state", { hasText: /^Running$/ }).waitFor();
    await page.locator("#events li", { hasText: `${input.reload}: reload` }).first().waitFor();
    await page.locator("#message", { hasText: `${input.reload} is Running` }).waitFor();
    const after = Object.fromEntries(
      await Promise.all(input.plugins.map(async (id) => [id, await cells(id)])),
    );
    const events = (await page.locator("#events li").allTextContents()).map((s) => s.trim());
    await page.screenshot({ path: input.screenshot });
    await page.getByRole("button", { name: `Diagnose ${input.reload}`, exact: true }).click();
    await page.locator("#diagnosis-title", { hasText: `Diagnosis of ${input.reload}` }).waitFor();
    const diagnosis = (await page.locator("#findings li").allTextContents()).map((s) => s.trim());
    return { before, after, events, askedForToken, buttons, diagnosis, pageErrors };
  } finally {
    await browser.close();
  }
}

if (import.meta.main) {
  try {
    console.log(JSON.stringify(await drive(JSON.parse(Deno.args[0]) as DriverInput)));
  } catch (e) {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    Deno.exit(1);
  }
}
