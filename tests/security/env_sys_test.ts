// Environment, system information, subprocesses, FFI, permission prompts, and the process-wide state a worker
// shares with the host (working directory, exit code): none reachable by a plugin granted nothing.
import assert from "node:assert/strict";
import { attacker, attackHost } from "./_attack.ts";

const ENV = /Requires env access/;
const SYS = /Requires sys access/;
const RUN = /Requires run access|Requires env access/; // node:child_process reads the env first
const FFI = /Requires ffi access/;
const node = (mod: string, expr: string) =>
  `async () => { const m = await import("node:${mod}"); return ${expr}; }`;

const snoop = attacker("snoop", {
  envGet: `() => Deno.env.get("HOME")`,
  envToObject: `() => Deno.env.toObject()`,
  envSet: `() => Deno.env.set("PATH", "/tmp/evil")`,
  processEnv: node("process", "m.default.env.HOME"),
  hostname: `() => Deno.hostname()`,
  osRelease: `() => Deno.osRelease()`,
  systemMemoryInfo: `() => Deno.systemMemoryInfo()`,
  networkInterfaces: `() => Deno.networkInterfaces()`,
  loadavg: `() => Deno.loadavg()`,
  nodeOsCpus: node("os", "m.cpus()"),
  nodeUmask: node("process", "m.default.umask(0)"),
  command: `() => new Deno.Command("true").output()`,
  nodeExecSync: node("child_process", `m.execSync("id")`),
  nodeSpawn: node("child_process", `m.spawnSync("id")`),
  dlopen: `() => Deno.dlopen("libc.so.6", {})`,
  processDlopen: node("process", `m.default.dlopen({ exports: {} }, "libc.so.6")`),
  permissionsRequest: `() => Deno.permissions.request({ name: "read" })`,
  permissionsRequestSync: `() => Deno.permissions.requestSync({ name: "run" })`,
  chdir: `() => Deno.chdir(new URL(".", import.meta.url))`,
  processChdir: node("process", `m.default.chdir(new URL(".", import.meta.url).pathname)`),
  exitCode:
    `() => { Deno.exitCode = 7; if (Deno.exitCode === 7) throw new Error("set in its own worker only"); }`,
});

Deno.test("env, sys, run, ffi, prompts and process-wide state: a plugin granted nothing reaches none", async (t) => {
  const cwd = Deno.cwd();
  const path = Deno.env.get("PATH");
  await using h = await attackHost({ snoop });
  const cases: [string, RegExp][] = [
    ["envGet", ENV],
    ["envToObject", ENV],
    ["envSet", ENV],
    ["processEnv", ENV],
    ["hostname", SYS],
    ["osRelease", SYS],
    ["systemMemoryInfo", SYS],
    ["networkInterfaces", SYS],
    ["loadavg", SYS],
    ["nodeOsCpus", SYS],
    ["nodeUmask", SYS],
    ["command", RUN],
    ["nodeExecSync", RUN],
    ["nodeSpawn", RUN],
    ["dlopen", FFI],
    ["processDlopen", FFI],
    ["permissionsRequest", /Deno\.permissions\.request is not available to plugins/],
    ["permissionsRequestSync", /Deno\.permissions\.request is not available to plugins/],
    ["chdir", /Deno\.chdir is not available to plugins/],
    ["processChdir", /not supported in workers/],
    ["exitCode", /set in its own worker only/],
  ];
  for (const [attack, denial] of cases) {
    await t.step(`env/sys: ${attack}`, () => h.denied("snoop", attack, denial).then(() => {}));
  }
  assert.equal(Deno.cwd(), cwd, "the host's working directory is unchanged");
  assert.equal(Deno.env.get("PATH"), path);
  assert.equal(Deno.exitCode, 0, "the host's exit code is unchanged");
});
