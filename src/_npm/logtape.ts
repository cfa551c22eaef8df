// LogTape, the library's logging (src/_npm/README.md).
// Full npm: specifiers on purpose: an embedding host has no import map of ours (README.md here).
export * from "npm:@logtape/logtape@^2.4.2";
