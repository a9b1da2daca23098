// Next.js runs register() once when the web server starts: the web process's events (seal, revoke, and the
// destruction a revoke runs) feed webhooks like the worker's and the FTP gateway's do.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { listenForWebhooks } = await import("./lib/webhooks/listen");
  listenForWebhooks();
}
