# Run by bench/ftp.ts --concurrent: many FTP/FTPS downloads with Python's ftplib, one thread each. Every client
# signs in first (from its own source address); once all have, they all send REST/RETR at once, so the transfers
# really run together. The plan comes as JSON on stdin; one JSON line of results goes to stdout.
import hashlib, json, resource, ssl, sys, threading, time

from ftplib import FTP, FTP_TLS

plan = json.load(sys.stdin)
# Two sockets per download (control, data) and the interpreter's own: the soft limit goes up to what is needed.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
need = plan.get("filesNeeded", 0)
if soft != resource.RLIM_INFINITY and soft < need:
    resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY else min(need, hard), hard))
host, port, name = plan["host"], plan["port"], plan["file"]
downloads = plan["downloads"]
lock = threading.Lock()
state = {"active": 0, "peak": 0, "go": None}
state["in"] = 0
go = threading.Event()


def arrive():
    # All signed in (or given up): every RETR starts now.
    with lock:
        state["in"] += 1
        if state["in"] == len(downloads):
            state["go"] = time.monotonic()
            go.set()
# Sign-ins many at a time (plan["loginsAtOnce"]), retried when the gateway says to come back (421: its queue of
# sign-ins is full); the gateway checks a share's parallel sign-ins five at a time.
logins = threading.Semaphore(plan["loginsAtOnce"])
results = [None] * len(downloads)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


class TlsSessionFtp(FTP_TLS):
    # The gateway, like most FTPS servers, may ask for the control session's TLS session on data connections.
    def ntransfercmd(self, cmd, rest=None):
        conn, size = FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


# The first sign-in of each share goes first (plan["primeFirst"] of them): it pays the share's one scrypt check,
# and the gateway answers that share's other sign-ins from its verified-login cache.
primed = threading.Event()
state["primers"] = 0
if not plan.get("primeFirst"):
    primed.set()


def primer_done():
    with lock:
        state["primers"] += 1
        if state["primers"] >= plan["primeFirst"]:
            primed.set()


def run(i, d):
    out = {"i": i, "ok": False, "bytes": 0, "error": None, "sha256": None}
    results[i] = out
    ftp = None
    if i >= plan.get("primeFirst", 0):
        primed.wait()
    for attempt in range(10):
        try:
            with logins:
                src = (d["address"], 0)
                ftp = TlsSessionFtp(context=ctx, timeout=600) if d["secure"] else FTP(timeout=600)
                ftp.connect(host, port, source_address=src)
                if d["secure"]:
                    ftp.auth()
                ftp.login(d["user"], d["password"])
                if d["secure"]:
                    ftp.prot_p()
                ftp.voidcmd("TYPE I")
            out["error"] = None
            break
        except Exception as e:  # a sign-in that fails still meets the others at the barrier
            out["error"] = f"login (attempt {attempt + 1}): {e!r}"
            if ftp:
                ftp.close()
            time.sleep(2)
    if i < plan.get("primeFirst", 0):
        primer_done()
    arrive()
    # Signing 500 clients in can outlast the gateway's control idle timeout: a waiting client sends NOOP each minute.
    deadline = time.monotonic() + plan["loginTimeoutS"]
    while not go.wait(60):
        if time.monotonic() > deadline:
            out["error"] = out["error"] or "the others never signed in"
            break
        if not out["error"]:
            try:
                ftp.voidcmd("NOOP")
            except Exception as e:
                out["error"] = f"keep-alive: {e!r}"
    if out["error"]:
        return
    h = hashlib.sha256()
    n = 0
    try:
        conn = ftp.transfercmd(f"RETR {name}", rest=d["offset"] or None)
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        try:
            while True:
                b = conn.recv(256 * 1024)
                if not b:
                    break
                h.update(b)
                n += len(b)
            if d["secure"]:
                conn.unwrap()
        finally:
            conn.close()
            with lock:
                state["active"] -= 1
        ftp.voidresp()
        ftp.quit()
        out.update(ok=True)
    except Exception as e:
        out["error"] = f"transfer: {e!r}"
    out["bytes"] = n
    out["sha256"] = h.hexdigest()


threads = [threading.Thread(target=run, args=(i, d), daemon=True) for i, d in enumerate(downloads)]
t0 = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
end = time.monotonic()
print(json.dumps({"peak": state["peak"], "loginSeconds": (state["go"] or end) - t0, "seconds": end - (state["go"] or t0), "results": results}))
