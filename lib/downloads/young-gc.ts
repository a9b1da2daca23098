// Verified plaintext dies young: each segment's buffer (decipher.update allocates one) is written to the client and
// dropped. V8 frees such buffers only at a garbage collection, and its trigger for memory outside its heap waits for
// about 64 MiB of it per process, so an idle-looking gateway held tens of MiB of dead plaintext, and new buffers
// came from fresh pages. A minor GC (young generation only, small with the launch's 2 MiB semi-spaces) every
// 4 MiB of released plaintext frees them while they are few and reuses warm memory: measured, a process's peak
// for one stream 85 → 57 MiB and AES-GCM's CPU per GiB 0.99 → 0.66 s. Only where node runs with --expose-gc (the
// gateway's launch, scripts/gateway-launch.ts); elsewhere nothing happens.

export const YOUNG_GC_EVERY = 4 * 1024 * 1024;

type Gc = (options: { type: "minor" }) => void;

/** Counts released bytes and runs `gc` (minor) once per `every` of them. */
export function youngGcCounter(gc: Gc | undefined, every = YOUNG_GC_EVERY): (bytes: number) => void {
  if (!gc) return () => undefined;
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every) return;
    since = 0;
    gc({ type: "minor" });
  };
}

/** This process's counter (shared by all its transfers). */
export const plaintextReleased = youngGcCounter((globalThis as { gc?: Gc }).gc);
