// One way to reach a fleet's NATS servers, for a host (Fleet.join) and for the CLI's --cluster commands.
import { connect, credsAuthenticator, type NatsConnection } from "../_npm/nats.ts";
import type { ClusterConfig } from "../config/types.ts";
import { PluginHostError } from "../errors.ts";

/** How to authenticate: a token, a file holding one, or a credentials file (the first that is set). */
export type NatsAuth = Pick<ClusterConfig, "token" | "tokenFile" | "credsFile">;

async function secret(
  auth: NatsAuth,
): Promise<Pick<Parameters<typeof connect>[0] & object, "token" | "authenticator">> {
  if (auth.credsFile) return { authenticator: credsAuthenticator(await Deno.readFile(auth.credsFile)) };
  if (auth.token) return { token: auth.token };
  if (auth.tokenFile) return { token: (await Deno.readTextFile(auth.tokenFile)).replace(/\r?\n$/, "") };
  return {};
}

/**
 * Connects to `servers` as `client`. A host (`reconnect`) reconnects for as long as it takes, as a server
 * restart needs; a CLI command fails at once. Unreachable servers are a CONFIG_INVALID naming them.
 */
export async function connectNats(
  servers: readonly string[],
  client: string,
  auth: NatsAuth,
  reconnect: boolean,
): Promise<NatsConnection> {
  try {
    return await connect({
      servers: [...servers],
      name: client,
      // No Error (and its stack) made up front for every request: a tenth of a fleet call's CPU here. Our own
      // errors (HOST_LOST, CALL_TIMEOUT) say where the call went.
      noAsyncTraces: true,
      ...(reconnect ? { maxReconnectAttempts: -1, reconnectTimeWait: 250 } : { reconnect: false }),
      ...(await secret(auth)),
    });
  } catch (e) {
    throw new PluginHostError(
      "CONFIG_INVALID",
      `cannot reach the NATS servers ${servers.join(", ")}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
}
