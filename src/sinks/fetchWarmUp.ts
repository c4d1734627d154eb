// Node loads its fetch implementation (undici) on the first call: about 100 ms of main thread on this machine,
// which the first alert of a run used to pay on its way out (seen in the latency benchmark's profile). The HTTP
// sinks load it at start instead, with a request that never leaves the process (a data: URL).
let warmed: Promise<void> | null = null;

export function warmUpFetch(): Promise<void> {
  warmed ??= fetch('data:,').then(
    (response) => response.arrayBuffer().then(() => undefined),
    () => undefined,
  );
  return warmed;
}
