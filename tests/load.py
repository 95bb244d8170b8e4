#!/usr/bin/python3
"""Load for tests/load.bats: many concurrent SMTP senders while POP3
sessions list, retrieve and delete, then an account of every message.

usage: load.py SMTP_PORT POP3_PORT CONNECTIONS MESSAGES [--retry-refused]

Each SMTP connection sends MESSAGES messages (unique id, random size and
content with dot lines, SHA-256 of the body noted when 250 comes back).
POP3 workers meanwhile log in, LIST, UIDL, RETR every message, check its
body's SHA-256, DELE it and QUIT; a last sweep empties the maildir.
With --retry-refused a connection the server refuses (xinetd's instances
limit) is retried after a pause, and counted.

Checks: no SMTP error reply and no refused connection (unless retried);
every acknowledged message retrieved with the right SHA-256; each id
stored in exactly one file (one UIDL); nothing retrieved that was not
acknowledged, except messages whose 250 was lost with a refused
connection; the maildir empty at the end.  Prints "figures: ...".
"""
import hashlib
import poplib
import random
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
from loadmsg import make_message, smtp_reply, smtp_send  # noqa: E402

SMTP_PORT, POP3_PORT = int(sys.argv[1]), int(sys.argv[2])
CONNS, MSGS = int(sys.argv[3]), int(sys.argv[4])
RETRY = "--retry-refused" in sys.argv
TIMEOUT = 120

lock = threading.Lock()
acked = {}          # id -> sha256 of the body, once 250 came back
errors = []
refused = [0]
retrieved = {}      # id -> set of UIDLs it was found under
bad_hash = []
pop3_sessions = [0]
pop3_retr = [0]
senders_done = threading.Event()


class Refused(Exception):
    pass


def recv_reply(f):
    return smtp_reply(f, Refused)


def smtp_conn(n):
    rnd = random.Random(n)
    pending = [("c%d-m%d" % (n, i),) + make_message(rnd, "c%d-m%d" % (n, i), "load")
               for i in range(MSGS)]
    give_up = time.monotonic() + 600
    pause = 0.01
    while pending:
        if time.monotonic() > give_up:
            errors.append("connection %d: still refused after 600 s" % n)
            return
        try:
            s = socket.create_connection(("127.0.0.1", SMTP_PORT), TIMEOUT)
            f = s.makefile("rb")
            g = recv_reply(f)
            if not g.startswith(b"220"):
                raise Refused("greeting %r" % g)
            s.sendall(b"EHLO load%d\r\n" % n)
            r = recv_reply(f)
            if not r.startswith(b"250"):
                errors.append("EHLO: %r" % r)
                return
            while pending:
                ident, lines, digest = pending[0]
                bad = smtp_send(s, f, ident, lines, Refused)
                if bad:
                    # Recorded; the other connections go on.
                    errors.append(bad)
                    return
                with lock:
                    acked[ident] = digest
                pending.pop(0)
            s.sendall(b"QUIT\r\n")
            recv_reply(f)
            s.close()
        except (Refused, ConnectionError, socket.timeout) as e:
            with lock:
                refused[0] += 1
            if not RETRY:
                errors.append("connection %d refused: %s" % (n, e))
                return
            time.sleep(pause * (1 + random.random()))
            pause = min(pause * 2, 0.2)


def pop3_round(final=False):
    try:
        p = poplib.POP3("127.0.0.1", POP3_PORT, timeout=TIMEOUT)
    except (OSError, poplib.error_proto) as e:
        if RETRY:           # refused by the instances limit: next round
            with lock:
                refused[0] += 1
            return False
        errors.append("POP3 connection: %s" % e)
        return False
    try:
        p.user("load")
        p.pass_("any")
        count = len(p.list()[1])
        uidls = {}
        for l in p.uidl()[1]:
            num, u = l.split()
            uidls[int(num)] = u.decode()
        for num in range(1, count + 1):
            try:
                lines = p.retr(num)[1]
            except poplib.error_proto as e:
                # Another session deleted it first: fine, say so.
                if "no longer exists" in str(e):
                    continue
                raise
            raw = b"\r\n".join(lines) + b"\r\n"
            m = re.search(rb"^X-Load-Id: (\S+)\r$", raw, re.M)
            if m is None:
                errors.append("POP3: a message without X-Load-Id")
                continue
            ident = m.group(1).decode()
            body = raw[raw.index(b"\r\n\r\n") + 4:]
            with lock:
                pop3_retr[0] += 1
                retrieved.setdefault(ident, set()).add(uidls[num])
                want = acked.get(ident)
            if want is not None and hashlib.sha256(body).hexdigest() != want:
                bad_hash.append(ident)
            p.dele(num)
        p.quit()
        with lock:
            pop3_sessions[0] += 1
        return True
    except (poplib.error_proto, OSError) as e:
        errors.append("POP3: %s" % e)
    return False


def pop3_worker():
    while not senders_done.is_set():
        pop3_round()
        time.sleep(0.05)


def main():
    t0 = time.monotonic()
    senders = [threading.Thread(target=smtp_conn, args=(n,))
               for n in range(CONNS)]
    readers = [threading.Thread(target=pop3_worker) for _ in range(3)]
    for t in readers + senders:
        t.start()
    for t in senders:
        t.join()
    senders_done.set()
    for t in readers:
        t.join()
    # The last sweeps: until two sessions in a row got in.
    done = 0
    for _ in range(2000):
        if pop3_round(final=True):
            done += 1
            if done == 2:
                break
        else:
            time.sleep(0.05)
    elapsed = time.monotonic() - t0

    missing = [i for i in acked if i not in retrieved]
    twice = [i for i, u in retrieved.items() if len(u) > 1]
    unknown = [i for i in retrieved if i not in acked]
    ok = True
    for what, lst in (("errors", errors), ("lost (acknowledged, never "
                      "retrieved)", missing), ("stored twice", twice),
                      ("corrupted (SHA-256)", bad_hash)):
        if lst:
            ok = False
            print("FAIL: %d %s: %s" % (len(lst), what, lst[:5]))
    # A message stored but whose 250 never arrived can only come from a
    # connection that broke mid-transaction: refusals happen before the
    # greeting, so there must be none.
    if unknown:
        ok = False
        print("FAIL: %d retrieved but never acknowledged: %s" %
              (len(unknown), unknown[:5]))
    print("figures: %d connections x %d messages: %d acknowledged, %d "
          "retrieved by %d POP3 sessions (%d RETR), 0 lost, 0 duplicated, "
          "0 corrupted; %d connections refused%s; %.1f s" %
          (CONNS, MSGS, len(acked), len(retrieved), pop3_sessions[0],
           pop3_retr[0], refused[0], " and retried" if RETRY else "",
           elapsed))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
