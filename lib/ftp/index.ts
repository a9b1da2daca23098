// The FTP/FTPS gateway as a library: a read-only protocol server over a pluggable, storage-independent backend.
//
// Contract (see types.ts):
// - backend.login(user, pass, ip, secure) → one share's FtpSession, or null (530). The server enforces around it:
//   wrong-password throttling (LoginLimiter: in memory by default, per user name and per IP; implement the three
//   methods over Redis to share it between gateways), the share's requireTls (530 on a plain control channel, 521
//   for data without PROT P), and a per-connection cap on wrong passwords.
// - backend.onLogin(event): every PASS outcome (ok, bad-credentials, throttled, tls-required, error) with the IP.
// - session.reserveDownload(file, {ip, offset, secure}): before every RETR's 150; a refusal is a 550, and the slot's end() is
//   called when the transfer ends (or never started), so a download limit is enforced when transfers start.
// - session.onDownloadComplete(file, bytes, {ip, offset, secure}): a RETR that reached the end of the file; awaited
//   before the next command runs, so a download limit can revoke the share before another RETR starts.
// - Cutting live sessions of a revoked/expired share (within 2 s): call server.cutShare(shareId) (e.g. from a Redis
//   pub/sub message), and/or implement backend.isAlive(shareId), polled once a second per share with sessions.
// - backend.onDiagnostic(event): failed TLS handshakes (control or data) and passive ports announced to a logged-in
//   client that nobody connected to within passiveNoShowMs (10 s); session.onTransferProgress about once a second
//   per running RETR (a timer reads the transfer's byte counter); session.checksumsFile names a virtual
//   sha256sum file in the root that is never a download.
// - implicitTlsPort: a second listener with TLS from the first byte (implicit FTPS), same sessions and limits.
// - Holding slots is bounded: a login deadline (loginTimeoutMs), connections per IPv4 address or IPv6 /64,
//   passive ports per connection and per login (maxPassivePerConnection, maxPassivePerUser).
export { CHECKSUMS_NAME, checksumsFile, sha256sums } from "./checksums";
export { createFtpServer, type FtpServer, type FtpServerStats } from "./server";
export { createMemoryLimiter, type MemoryLimiterOptions } from "./throttle";
export { loadTlsMaterial, type TlsMaterial } from "./tls";
export { FileUnavailableError } from "./types";
export type * from "./types";
