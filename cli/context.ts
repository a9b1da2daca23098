import { Api } from "./api";
import { target } from "./config";

// Process-wide: Ctrl-C aborts this signal (work in flight stops, commands say how to continue); a second Ctrl-C exits at once.
export const interruption = new AbortController();

export const api = () => new Api(target(), interruption.signal);
