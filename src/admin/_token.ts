// Where the admin API's token comes from: `serveAdmin({ token })`, then `Plugins.Admin.Token`, then the file
// `Plugins.Admin.TokenFile` names (a secret mounted by Kubernetes or systemd's LoadCredential), then the
// environment's `DOTCOMPUTE_ADMIN_TOKEN`. The configuration wins over the environment: what an operator wrote
// for this host is not undone by a variable inherited from a shell. Every source must give 16 bytes or more.
import { weakToken } from "../config/_schema.ts";
import type { AdminConfig } from "../config/config.ts";
import { PluginHostError } from "../errors.ts";

/** The environment variable that gives the token when the configuration gives none. */
export const TOKEN_ENV = "DOTCOMPUTE_ADMIN_TOKEN";

function fromEnv(): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: TOKEN_ENV }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(TOKEN_ENV) || undefined;
  } catch {
    return undefined;
  }
}

function checked(token: string, source: string): string {
  const why = weakToken(token);
  if (why) throw new PluginHostError("CONFIG_INVALID", `The admin token from ${source} ${why}`);
  return token;
}

/**
 * The admin token to require, or null for none. `explicit` is `serveAdmin`'s option (undefined: not given).
 * Throws `CONFIG_INVALID` naming the source when the file cannot be read or a token is too short.
 */
export function adminToken(config: AdminConfig, explicit: string | null | undefined): string | null {
  if (explicit !== undefined) return explicit ? checked(explicit, "serveAdmin({ token })") : null;
  if (config.token) return checked(config.token, "Plugins.Admin.Token");
  if (config.tokenFile !== undefined) {
    let text: string;
    try {
      text = Deno.readTextFileSync(config.tokenFile);
    } catch (e) {
      throw new PluginHostError(
        "CONFIG_INVALID",
        `Plugins.Admin.TokenFile: cannot read ${config.tokenFile}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
    return checked(text.replace(/\r?\n$/, ""), `Plugins.Admin.TokenFile (${config.tokenFile})`);
  }
  const env = fromEnv();
  return env === undefined ? null : checked(env, `the environment's ${TOKEN_ENV}`);
}
