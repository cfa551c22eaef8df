// Node's compatibility layer is not loaded into a plugin's Worker until the plugin uses it; it is hardened the
// moment it loads, whichever route loads it first. So each attack here runs in a Worker of its own, where that
// route is the first contact with Node, and strikes in the same synchronous step (a module's top level), with
// no chance for a later patch. A miss SIGKILLs or aborts the test process.
import assert from "node:assert/strict";
import { attacker, attackHost } from "./_attack.ts";
import type { PluginSource } from "../_helpers.ts";

const KILL = `Deno.pid, "SIGKILL"`;
const KILLER = JSON.stringify(`Deno.kill(${KILL})`);
/** An attack that imports a module made of `source` (its top level is the attack). */
// A literal URL: a computed data: import is code from a string, refused before node:process is reached.
const dataModule = (source: string) =>
  `() => import(${JSON.stringify("data:text/javascript," + encodeURIComponent(source))})`;
const blobModule = (source: string) =>
  `() => import(URL.createObjectURL(new Blob([${JSON.stringify(source)}], { type: "text/javascript" })))`;

const FIRST_CONTACT: Record<string, [attack: string, denial: RegExp]> = {
  globalProcess: [`() => globalThis.process.kill(${KILL})`, /process\.kill is not available/],
  importedDefault: [`async () => (await import("node:process")).default.kill(${KILL})`, /process\.kill/],
  dataNamedAbort: [dataModule(`import { abort } from "node:process"; abort();`), /process\.abort/],
  dataNamedKill: [dataModule(`import { kill } from "node:process"; kill(${KILL});`), /process\.kill/],
  dataNamedChdir: [dataModule(`import { chdir } from "node:process"; chdir("/");`), /process\.chdir/],
  blobNamedAbort: [
    blobModule(`import { abort } from "node:process"; abort();`),
    /process\.abort|a computed blob: import is code from a string/,
  ],
  dataDefaultAfterFs: [
    dataModule(`import "node:fs"; import p from "node:process"; p.kill(${KILL});`),
    /process\.kill/,
  ],
  workerThreadsFirst: [
    dataModule(`import { Worker } from "node:worker_threads"; new Worker(${KILLER}, { eval: true });`),
    /node:worker_threads Worker is not available/,
  ],
  reflectConstructWorker: [
    `async () => { const { Worker } = await import("node:worker_threads");
      return Reflect.construct(Worker, [${KILLER}, { eval: true }], Object); }`,
    /node:worker_threads Worker is not available/,
  ],
  subclassedWorker: [
    `async () => { const { Worker } = await import("node:worker_threads");
      class Quiet extends Worker {} Object.defineProperty(Worker, "name", { value: "Other" });
      return new Quiet(${KILLER}, { eval: true }); }`,
    /node:worker_threads Worker is not available/,
  ],
  requireFirst: [
    `async () => (await import("node:module")).createRequire(import.meta.url)("process").kill(${KILL})`,
    /process\.kill/,
  ],
  npmCommonJsFirst: [
    `async () => { await import("npm:semver@^7.8.6"); const { createRequire } = await import("node:module");
      return createRequire(import.meta.url)("worker_threads").Worker.call; }`,
    /^$/, // not an attack by itself: the next step must still be refused in this Worker
  ],
  bufferFirst: [
    `() => { globalThis.Buffer.from("x"); return globalThis.process.kill(${KILL}); }`,
    /process\.kill/,
  ],
};

// Builtins the hardening might lean on, broken before Node loads: it must not need any of them. (Done inside
// the attacking call: the runtime's own serving would not survive all of it at top level.)
const POISON = `
const define = Object.defineProperty;
Object.defineProperty = () => { throw new Error("poisoned"); };
Object.getOwnPropertyDescriptor = () => undefined;
Object.getPrototypeOf = () => null;
Reflect.apply = () => undefined;
Array.isArray = () => false;
String.prototype.startsWith = () => false;
Function.prototype.apply = function () { return undefined; };
globalThis.queueMicrotask = () => {};
Error.captureStackTrace = () => {};
define(Error, "stackTraceLimit", { value: 0, writable: false, configurable: false });
define(Object.prototype, "get", { get() { return () => undefined; }, configurable: true });
`;
const POISONED: Record<string, string> = {
  processKill: `globalThis.process.kill(${KILL})`,
  namedAbort: `await (${dataModule(`import { abort } from "node:process"; abort();`)})()`,
  nodeWorker: `const { Worker } = await import("node:worker_threads"); new Worker(${KILLER}, { eval: true })`,
};

function firstContact(): Record<string, PluginSource> {
  const plugins: Record<string, PluginSource> = {};
  for (const [name, [attack]] of Object.entries(FIRST_CONTACT)) {
    const id = `first-${name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`;
    const npm = name === "npmCommonJsFirst" ? { manifest: { permissions: { npm: ["semver"] } } } : {};
    plugins[id] = attacker(id, {
      attack,
      then:
        `async () => { const { Worker } = await import("node:worker_threads"); new Worker(${KILLER}, { eval: true }); }`,
      kill: `() => globalThis.process.kill(${KILL})`,
    }, npm);
  }
  for (const [name, attack] of Object.entries(POISONED)) {
    plugins[`poisoned-${name.toLowerCase()}`] = attacker(`poisoned-${name.toLowerCase()}`, {
      attack: `async () => { ${POISON}; ${attack}; }`,
    });
  }
  return plugins;
}

Deno.test("node layer: whatever loads it first, it is hardened before the plugin holds it", async (t) => {
  await using h = await attackHost(firstContact(), {
    config: { PluginSecurity: { "first-npm-common-js-first": { AllowedNpmPackages: ["semver"] } } },
  });
  for (const [name, [, denial]] of Object.entries(FIRST_CONTACT)) {
    const id = `first-${name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`;
    await t.step(`node layer: ${name} first`, async () => {
      if (denial.source !== "^$") await h.denied(id, "attack", denial);
      else assert.equal((await h.plugin(id).call("attack") as { ok: boolean }).ok, true);
      await h.denied(id, "then", /node:worker_threads Worker is not available/);
      await h.denied(id, "kill", /process\.kill is not available/);
    });
  }
  for (const name of Object.keys(POISONED)) {
    await t.step(`node layer: poisoned builtins, then ${name}`, async () => {
      const outcome = await h.plugin(`poisoned-${name.toLowerCase()}`).call("attack") as { ok: boolean };
      assert.equal(outcome.ok, false, JSON.stringify(outcome));
      await h.healthy({ [`poisoned-${name.toLowerCase()}`]: "Running" });
    });
  }
});

Deno.test("node layer: Deno's internals are out of the plugin's reach", async () => {
  await using h = await attackHost({
    inside: attacker("inside", {
      internals: `() => { const i = Deno[Deno.internal]; if (i === undefined) throw new Error("no internals");
        return i.core.evalContext("1 + 1", "file:///x.js"); }`,
      symbols:
        `() => { for (const k of Reflect.ownKeys(Deno)) if (typeof Deno[k] === "object" && Deno[k]?.core)
        throw new Error("leak at " + String(k)); throw new Error("no internals"); }`,
    }),
  });
  await h.denied("inside", "internals", /no internals/);
  await h.denied("inside", "symbols", /no internals/);
});
