// The OpenTelemetry API, for the metrics bridge (src/_npm/README.md).
// Full npm: specifiers on purpose: an embedding host has no import map of ours (README.md here).
export * from "npm:@opentelemetry/api@^1";
