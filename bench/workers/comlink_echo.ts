// The Comlink peer: the same methods as the bench plugin, exposed with Comlink on a Deno Worker.
import * as Comlink from "comlink";

Comlink.expose({
  sum: (values: number[]): number => values.reduce((a, b) => a + b, 0),
  echo: <T>(x: T): T => x,
});
