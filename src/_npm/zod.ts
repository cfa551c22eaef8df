// zod, the config and manifest schemas (src/_npm/README.md).
// Full npm: specifiers on purpose: an embedding host has no import map of ours (README.md here).
export * from "npm:zod@^4.6.7";
