// Hono, the admin API's router and middleware (src/_npm/README.md): the core and the subpaths it uses.
// Full npm: specifiers on purpose: an embedding host has no import map of ours (README.md here).
export { Hono } from "npm:hono@^4.13.19";
export { HTTPException } from "npm:hono@^4.13.19/http-exception";
export { bodyLimit } from "npm:hono@^4.13.19/body-limit";
export { type SSEMessage, type SSEStreamingApi, streamSSE } from "npm:hono@^4.13.19/streaming";
export { timingSafeEqual } from "npm:hono@^4.13.19/utils/buffer";
export type { ContentfulStatusCode } from "npm:hono@^4.13.19/utils/http-status";
