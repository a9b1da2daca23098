"""Drives Python's ftplib (FTP or FTP_TLS with PROT P) for the gateway tests; prints a JSON report.

Usage: ftplib-client.py '{"host": ..., "port": ..., "user": ..., "password": ..., "tls": true, "prot": true, "ops": [...]}'
"implicit": true connects with TLS from the first byte (implicit FTPS; implies "tls").
ops: {"op": "nlst"} | {"op": "mlsd"} | {"op": "list"} | {"op": "size", "name": n} | {"op": "pwd"}
     | {"op": "retr", "name": n, "rest": offset?} | {"op": "abort", "name": n, "after": bytes}
     | {"op": "cmd", "line": raw} | {"op": "prot_p"}
"""
import ftplib
import hashlib
import json
import ssl
import sys
import time


class ImplicitFTP_TLS(ftplib.FTP_TLS):
    """ftplib has no implicit FTPS: the control socket is wrapped as soon as it is set, so login() skips AUTH."""

    def __init__(self, *args, **kwargs):
        self._sock = None
        super().__init__(*args, **kwargs)

    @property
    def sock(self):
        return self._sock

    @sock.setter
    def sock(self, value):
        if value is not None and not isinstance(value, ssl.SSLSocket):
            value = self.context.wrap_socket(value, server_hostname=self.host)
        self._sock = value


def main():
    spec = json.loads(sys.argv[1])
    started = time.time()
    if spec.get("implicit"):
        spec["tls"] = True
    if spec["tls"]:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        cls = ImplicitFTP_TLS if spec.get("implicit") else ftplib.FTP_TLS
        ftp = cls(context=ctx, encoding="utf-8", timeout=30)
    else:
        ftp = ftplib.FTP(encoding="utf-8", timeout=30)
    ftp.connect(spec["host"], spec["port"])
    ftp.login(spec["user"], spec["password"])
    if spec["tls"] and spec.get("prot", True):
        ftp.prot_p()
    results = []
    for op in spec["ops"]:
        kind = op["op"]
        try:
            if kind == "nlst":
                results.append({"op": kind, "names": ftp.nlst()})
            elif kind == "list":
                lines = []
                ftp.retrlines("LIST", lines.append)
                results.append({"op": kind, "lines": lines})
            elif kind == "mlsd":
                results.append({"op": kind, "entries": [[n, f] for n, f in ftp.mlsd()]})
            elif kind == "size":
                ftp.voidcmd("TYPE I")
                results.append({"op": kind, "size": ftp.size(op["name"])})
            elif kind == "pwd":
                results.append({"op": kind, "pwd": ftp.pwd()})
            elif kind == "retr":
                h = hashlib.sha256()
                n = [0]

                def cb(data):
                    h.update(data)
                    n[0] += len(data)

                resp = ftp.retrbinary("RETR " + op["name"], cb, blocksize=65536, rest=op.get("rest"))
                results.append({"op": kind, "sha256": h.hexdigest(), "bytes": n[0], "resp": resp})
            elif kind == "abort":
                ftp.voidcmd("TYPE I")
                conn = ftp.transfercmd("RETR " + op["name"])
                got = 0
                while got < op["after"]:
                    data = conn.recv(65536)
                    if not data:
                        break
                    got += len(data)
                resp = ftp.abort()
                conn.close()
                # The 426 for the transfer comes first; the ABOR's own 226 follows.
                tail = ftp.getresp() if resp.startswith("426") else ""
                results.append({"op": kind, "got": got, "resp": resp, "tail": tail})
            elif kind == "prot_p":
                results.append({"op": kind, "resp": ftp.prot_p()})
            elif kind == "cmd":
                results.append({"op": kind, "resp": ftp.sendcmd(op["line"])})
        except ftplib.all_errors as e:
            results.append({"op": kind, "error": str(e)})
    ftp.quit()
    print(json.dumps({"results": results, "ms": int((time.time() - started) * 1000)}))


main()
