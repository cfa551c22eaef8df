// Where the admin token comes from (issue 18 item 7): Plugins.Admin.Token, the file Plugins.Admin.TokenFile
// names, or the environment's DOTCOMPUTE_ADMIN_TOKEN; every source gives 16 bytes or more. Real hosts serve on
// 127.0.0.1 and are asked over HTTP.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, createPluginHost, type PluginHost, PluginHostError } from "../mod.ts";
import { hostWith } from "./_helpers.ts";

const TOKEN = "a-token-of-24-bytes-0123";

/** GET /plugins on `url` with `token` (or none): the status. */
async function status(url: string, token?: string): Promise<number> {
  const res = await fetch(`${url}/plugins`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  await res.body?.cancel();
  return res.status;
}

/** A host from a config file in a temp folder whose Admin block is `admin`. */
async function fromFile(
  admin: Record<string, unknown>,
): Promise<{ host: PluginHost; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "dotcompute_token_" });
  await Deno.mkdir(join(dir, "plugins"));
  const file = join(dir, "host.jsonc");
  await Deno.writeTextFile(file, JSON.stringify({ Plugins: { PluginsDirectory: "plugins", Admin: admin } }));
  const host = await createPluginHost(file, { watchConfig: false });
  return {
    host,
    dir,
    async [Symbol.asyncDispose]() {
      await host.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("admin token: from TokenFile (a trailing newline dropped), relative to the config's folder", async () => {
  await using t = await fromFile({ TokenFile: "token.txt" });
  await Deno.writeTextFile(join(t.dir, "token.txt"), `${TOKEN}\n`);
  await using admin = await t.host.serveAdmin({ port: 0 });
  assert.equal(await status(admin.url), 401);
  assert.equal(await status(admin.url, TOKEN), 200);
  assert.equal(await status(admin.url, TOKEN.slice(1)), 401);
});

Deno.test("admin token: a TokenFile that cannot be read or holds a short token refuses to serve, naming it", async () => {
  await using t = await fromFile({ TokenFile: "token.txt" });
  await assert.rejects(t.host.serveAdmin({ port: 0 }), (e: unknown) => {
    assert.ok(e instanceof PluginHostError && e.code === "CONFIG_INVALID", String(e));
    assert.match(e.message, /Plugins\.Admin\.TokenFile: cannot read .*token\.txt/);
    return true;
  });
  await Deno.writeTextFile(join(t.dir, "token.txt"), "short\n");
  await assert.rejects(
    t.host.serveAdmin({ port: 0 }),
    /TokenFile \(.*token\.txt\) is 5 bytes; .* at least 16/,
  );
});

Deno.test("admin token: DOTCOMPUTE_ADMIN_TOKEN when the config gives none; the config wins over it", async () => {
  Deno.env.set("DOTCOMPUTE_ADMIN_TOKEN", TOKEN);
  try {
    {
      await using t = await hostWith({});
      await using admin = await t.host.serveAdmin({ port: 0 });
      assert.equal(await status(admin.url), 401);
      assert.equal(await status(admin.url, TOKEN), 200);
    }
    {
      await using t = await hostWith({}, { Plugins: { Admin: { Token: "the-config-token-000" } } });
      await using admin = await t.host.serveAdmin({ port: 0 });
      assert.equal(await status(admin.url, TOKEN), 401);
      assert.equal(await status(admin.url, "the-config-token-000"), 200);
    }
    Deno.env.set("DOTCOMPUTE_ADMIN_TOKEN", "short");
    await using t = await hostWith({});
    await assert.rejects(t.host.serveAdmin({ port: 0 }), /DOTCOMPUTE_ADMIN_TOKEN is 5 bytes/);
  } finally {
    Deno.env.delete("DOTCOMPUTE_ADMIN_TOKEN");
  }
});

Deno.test("admin token: a short Token is a config error naming the key; a short serveAdmin token is refused", async () => {
  await assert.rejects(hostWith({}, { Plugins: { Admin: { Token: "s3cret" } } }), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /Plugins\.Admin\.Token.*6 bytes; an admin token needs at least 16/s);
    return true;
  });
  await using t = await hostWith({});
  await assert.rejects(
    t.host.serveAdmin({ port: 0, token: "short" }),
    /serveAdmin\(\{ token \}\) is 5 bytes/,
  );
});
