// The physical baseline: a bare Deno Worker that posts back what it gets (buffers are transferred back).
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};
scope.onmessage = (e) => {
  const data = e.data;
  if (data instanceof ArrayBuffer) scope.postMessage(data, [data]);
  else scope.postMessage(data);
};
