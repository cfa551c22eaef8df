// jsonc-parser, JSONC with positions: stands in for @std/jsonc (src/_npm/README.md).
// Full npm: specifiers on purpose: an embedding host has no import map of ours (README.md here).
export * from "npm:jsonc-parser@^3.3.1";
