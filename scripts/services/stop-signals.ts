// SIGINT and SIGTERM caught from the launcher's first statement: its modules take seconds to load on a busy host,
// and a stop asked for meanwhile must still be a clean one (logged, exit 0, nothing left behind), not node's
// default of dying on the spot. What a stop does is decided once the launcher has loaded.

type OnStop = (signal: NodeJS.Signals) => void;

let caught = false;
let received: NodeJS.Signals | undefined;
let handler: OnStop | undefined;

export function catchStopSignals() {
  if (caught) return;
  caught = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => (handler ? handler(signal) : (received ??= signal)));
  }
}

/** Hands stop signals to `onStop`; one that came while the launcher was loading is handed over at once. */
export function onStopSignal(onStop: OnStop) {
  catchStopSignals();
  handler = onStop;
  if (received) onStop(received);
}
