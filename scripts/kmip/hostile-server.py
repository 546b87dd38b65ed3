#!/usr/bin/python3
# hostile-server.py: a fake KMIP server on 127.0.0.1 that misbehaves on
# purpose, for the client's robustness tests (tests/unit/test_kmip_hostile.c,
# tests/host/test_provider_kmip_hostile.sh).
#
#   hostile-server.py --mode MODE --dir CERTDIR [--cert NAME] [--port-file F]
#                     [--port N] [--from-start] [--parent PID] [--op-log F]
#
# It listens on a free loopback port or on --port N (written to --port-file,
# or printed),
# does TLS with CERTDIR/NAME.crt/.key (default "server"), requires a client
# certificate from CERTDIR/ca.crt, and for every request does MODE:
#   valid          answer correctly (Discover Versions -> 1.4, Get -> a key
#                  of 32 bytes 0x11, Get Attributes -> State Active,
#                  anything else -> Operation Not Supported)
#   tls13          like valid, but TLS 1.3 only
#   static-rsa     like valid, but TLS 1.2 with static-RSA suites only
#                  (AES128-SHA256, AES256-SHA256: no forward secrecy)
#   close-after    answer correctly, then close the connection
#   garbage        answer 64 bytes that are not TTLV
#   not-response   answer a well-formed TTLV Request Message
#   huge           announce a 4 GiB response
#   truncated      send a third of a valid response, then close
#   stall-midway   send a third of a valid response, then say nothing
#   close          close the connection without answering
#   silent         read requests, never answer
#   no-handshake   accept TCP but never speak TLS
#   wrong-batch    answer Get with a response to another operation
#   create-bad-uid answer Create with a Unique Identifier holding an escape
#                  sequence (and Activate and Get as for a good one)
#   create-short-key  create key "7" (Create, Activate) whose Get gives 16
#                  bytes, an AES-128 key
#   create-lost    answer Get as valid does; read a Create, then close
#                  without answering (the answer lost on the way)
#   create-close-after  answer Create (key "7") and Get, then close the
#                  connection (a server with an idle timeout of zero)
#   get-denied     answer Get with Operation Failed, Permission Denied (a KMS
#                  that refuses this client the key)
#   general-failure  answer everything but Discover Versions with Operation
#                  Failed, General Failure (a server with an internal error,
#                  a locked database say)
#   get-lost-once  answer as valid does, except the second Get this server
#                  reads: close without answering it (once per server)
# Discover Versions (sent by the client on every connect) is answered
# correctly in every mode unless --from-start is given, so that the
# misbehaviour hits the operation under test. --op-log F appends the
# operation number of every request to F, a line each. Stdlib only;
# loopback only.
import argparse
import os
import socket
import ssl
import struct
import sys
import threading
import time

TAG_RESPONSE_MESSAGE = 0x42007B
TAG_REQUEST_MESSAGE = 0x420078


def item(tag, typ, value):
    """Encode one TTLV item; value is bytes already in wire form."""
    pad = (-len(value)) % 8
    return struct.pack(">I", tag)[1:] + bytes([typ]) + \
        struct.pack(">I", len(value)) + value + b"\0" * pad


def struct_(tag, *children):
    return item(tag, 0x01, b"".join(children))


def integer(tag, v):
    return item(tag, 0x02, struct.pack(">i", v))


def enum(tag, v):
    return item(tag, 0x05, struct.pack(">I", v))


def text(tag, s):
    return item(tag, 0x07, s.encode())


def byte_string(tag, b):
    return item(tag, 0x08, b)


def datetime_(tag, t):
    return item(tag, 0x09, struct.pack(">q", t))


def version(major, minor):
    return struct_(0x420069, integer(0x42006A, major), integer(0x42006B, minor))


def response(op, status, payload=b"", extra=b"", msgtag=TAG_RESPONSE_MESSAGE):
    header = struct_(0x42007A, version(1, 4), datetime_(0x420092, int(time.time())),
                     integer(0x42000D, 1))
    body = enum(0x42005C, op) + enum(0x42007F, status) + extra
    if payload is not None:
        body += struct_(0x42007C, payload)
    return struct_(msgtag, header, struct_(0x42000F, body))


def answer(op, uid="1"):
    if op == 30:    # Discover Versions
        return response(30, 0, version(1, 4) + version(1, 2))
    if op == 11:    # Get Attributes: the State the client asks before a Get
        return response(11, 0, text(0x420094, uid) + struct_(
            0x420008, text(0x42000A, "State"), enum(0x42000B, 2)))
    if op == 10:    # Get
        key = struct_(0x42008F, struct_(
            0x420040, enum(0x420042, 1),
            struct_(0x420045, byte_string(0x420043, b"\x11" * 32)),
            enum(0x420028, 3), integer(0x42002A, 256)))
        return response(10, 0, enum(0x420057, 2) + text(0x420094, "1") + key)
    return response(op, 1, None, enum(0x42007E, 5) +
                    text(0x42007D, "not supported by the hostile server"))


def create_answer(op, mode):
    """Create, Activate and Get for the create-* modes."""
    if op == 1:     # Create
        uid = "k\x1b[2J" if mode == "create-bad-uid" else "7"
        return response(1, 0, enum(0x420057, 2) + text(0x420094, uid))
    if op == 18:    # Activate
        return response(18, 0, text(0x420094, "7"))
    if op == 11:
        return answer(op, "7")
    if op == 10 and mode == "create-short-key":
        key = struct_(0x42008F, struct_(
            0x420040, enum(0x420042, 1),
            struct_(0x420045, byte_string(0x420043, b"\x22" * 16)),
            enum(0x420028, 3), integer(0x42002A, 128)))
        return response(10, 0, enum(0x420057, 2) + text(0x420094, "7") + key)
    return answer(op)


def operation_of(req):
    i = req.find(bytes.fromhex("42005c0500000004"))
    if i < 0 or i + 12 > len(req):
        return 0
    return struct.unpack(">I", req[i + 8:i + 12])[0]


def read_message(conn):
    hdr = b""
    while len(hdr) < 8:
        chunk = conn.recv(8 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    length = struct.unpack(">I", hdr[4:8])[0]
    if length > 1 << 20:
        return None
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return hdr + body


GETS_SEEN = [0]
GETS_LOCK = threading.Lock()


def second_get(op):
    """True for the second Get this server process reads, once."""
    if op != 10:
        return False
    with GETS_LOCK:
        GETS_SEEN[0] += 1
        return GETS_SEEN[0] == 2


def serve(conn, mode, from_start, op_log):
    try:
        while True:
            req = read_message(conn)
            if req is None:
                return
            op = operation_of(req)
            if op_log:
                with open(op_log, "a") as f:
                    f.write("%d\n" % op)
            if op == 30 and not from_start and mode not in ("valid", "tls13", "static-rsa"):
                conn.sendall(answer(op))
                continue
            if mode in ("valid", "tls13", "static-rsa"):
                conn.sendall(answer(op))
            elif mode == "close-after":
                conn.sendall(answer(op))
                return
            elif mode == "garbage":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n" + b"x" * 38)
            elif mode == "not-response":
                conn.sendall(response(op, 0, b"", msgtag=TAG_REQUEST_MESSAGE))
            elif mode == "huge":
                conn.sendall(struct.pack(">I", TAG_RESPONSE_MESSAGE)[1:] +
                             b"\x01\xff\xff\xff\xf8" + b"\0" * 64)
            elif mode in ("truncated", "stall-midway"):
                full = answer(op)
                conn.sendall(full[:len(full) // 3])
                if mode == "truncated":
                    return
                time.sleep(3600)
            elif mode == "close":
                return
            elif mode == "silent":
                time.sleep(3600)
            elif mode == "wrong-batch":
                conn.sendall(response(1, 0, text(0x420094, "1")))
            elif mode in ("create-bad-uid", "create-short-key"):
                conn.sendall(create_answer(op, mode))
            elif mode == "create-lost":
                if op == 1:
                    return
                conn.sendall(answer(op))
            elif mode == "create-close-after":
                conn.sendall(create_answer(op, mode))
                return
            elif mode == "get-lost-once":
                if second_get(op):
                    return
                conn.sendall(answer(op))
            elif mode == "general-failure":
                conn.sendall(response(op, 1, None, enum(0x42007E, 0x100) +
                                      text(0x42007D, "internal error")))
            elif mode == "get-denied":
                if op == 10:
                    conn.sendall(response(10, 1, None, enum(0x42007E, 0x0C) +
                                          text(0x42007D, "permission denied")))
                else:
                    conn.sendall(answer(op))
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def exit_with_parent(parent):
    """Never outlive the test that started us (even if it was killed)."""
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert", default="server")
    ap.add_argument("--port-file")
    ap.add_argument("--from-start", action="store_true")
    ap.add_argument("--parent", type=int, default=os.getppid(),
                    help="exit when this process is gone")
    ap.add_argument("--op-log")
    ap.add_argument("--port", type=int, default=0,
                    help="listen on this port (default: a free one)")
    a = ap.parse_args()
    threading.Thread(target=exit_with_parent, args=(a.parent,),
                     daemon=True).start()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if a.mode == "tls13":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if a.mode == "static-rsa":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES128-SHA256:AES256-SHA256")
    ctx.load_cert_chain(os.path.join(a.dir, a.cert + ".crt"),
                        os.path.join(a.dir, a.cert + ".key"))
    ctx.load_verify_locations(os.path.join(a.dir, "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(16)
    port = ls.getsockname()[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    else:
        print(port, flush=True)

    while True:
        raw, _ = ls.accept()
        if a.mode == "no-handshake":
            threading.Thread(target=lambda s: (time.sleep(3600), s.close()),
                             args=(raw,), daemon=True).start()
            continue
        try:
            raw.settimeout(30)
            conn = ctx.wrap_socket(raw, server_side=True)
            conn.settimeout(None)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        threading.Thread(target=serve,
                         args=(conn, a.mode, a.from_start, a.op_log),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
