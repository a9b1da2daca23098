import type { CloseEvent, Command } from "concurrently";
import { describeExit, GAVE_UP_EXIT_CODE, RestartPolicy, type RestartPolicyOptions } from "../../lib/supervise/restart-policy";

// Restarts the launcher's app processes (concurrently commands) when they exit unexpectedly, with backoff; a
// process that keeps crashing (or reports that what it supervises does) stops everything through `giveUp`.

export type SupervisorHooks = {
  /** True once the launcher is stopping on purpose: exits are expected then. */
  stopping(): boolean;
  log(message: string): void;
  giveUp(message: string): void;
};

export type Supervised = Pick<Command, "name" | "close" | "start" | "state">;

export function supervise(commands: Supervised[], hooks: SupervisorHooks, opts: RestartPolicyOptions = {}): { stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  const subscriptions = commands.map((c) => {
    const policy = new RestartPolicy(opts);
    policy.started(Date.now());
    return c.close.subscribe((ev: CloseEvent) => {
      if (hooks.stopping()) return;
      const how = describeExit(ev.exitCode);
      if (ev.exitCode === GAVE_UP_EXIT_CODE) {
        return hooks.giveUp(`${c.name} stopped because a process it supervises keeps crashing (see its log above); stopping everything`);
      }
      const decision = policy.exited(Date.now());
      if (!decision.restart) return hooks.giveUp(`${c.name} keeps crashing: ${decision.reason} (last: ${how}); stopping everything`);
      hooks.log(`${c.name} exited unexpectedly (${how}); restarting in ${(decision.delayMs / 1000).toFixed(1)} s (exit ${decision.crashesInWindow} within a minute)`);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (hooks.stopping()) return;
        policy.started(Date.now());
        hooks.log(`${c.name} restarted`);
        c.start();
      }, decision.delayMs);
      timers.add(timer);
    });
  });
  return {
    stop() {
      for (const t of timers) clearTimeout(t);
      for (const s of subscriptions) s.unsubscribe();
    },
  };
}
