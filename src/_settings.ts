// Settings: the manifest's defaults deep-merged with the host configuration's (the config wins).

function isPlain(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Deep-merges plain objects; arrays and scalars from `override` replace those of `base`. */
export function mergeSettings(
  base: Readonly<Record<string, unknown>>,
  override: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    out[k] = isPlain(v) && isPlain(out[k]) ? mergeSettings(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}
