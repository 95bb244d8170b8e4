#!/usr/bin/python3
"""Load for tests/multihost.bats: SMTP senders spread over several hosts
that deliver into one shared maildir, while one POP3 client retrieves and
deletes through those hosts' pop3-sessions in turn; then an account of
every message.

usage: multihost.py SMTP_ADDRS POP3_ADDRS CONNECTIONS MESSAGES
                    [--kill-at N --victim ADDR --kill-netns NETNS]

SMTP_ADDRS and POP3_ADDRS are comma-separated host:port lists.  Connection
n goes to SMTP_ADDRS[n % len]; it sends MESSAGES messages (unique id,
random size and content with dot lines; the SHA-256 of every body is
known before it is sent) and notes each one acknowledged by 250.

One POP3 reader at a time, on the next address of POP3_ADDRS each
round: UIDL, RETR and check the first 100 messages, DELE each, QUIT.  A
message counts as retrieved once its session's QUIT got +OK; a session
cut before that deletes nothing the client may rely on, so its messages
may come back (RFC 1939).

With --kill-at N, every process in network namespace NETNS (the victim
host) gets SIGKILL once N messages are acknowledged, in the middle of a
POP3 session through the victim: one opened at the start (after ten
more messages sent through the victim) that retrieves and deletes ten
messages, then waits for the kill, so those ten must come back.  The
reader uses the other hosts.  Afterwards a failure on the victim's
addresses is expected: its connections are counted, not errors, and its
unacknowledged messages may or may not have been stored.

Checks: no SMTP error and no broken connection except on the victim after
the kill; every acknowledged message retrieved exactly once by a
committed session; every message retrieved intact (SHA-256 of what was
sent: no partial message, nothing unknown); no message retrieved twice by
committed sessions.  Prints "figures: ...".
"""
import hashlib
import os
import poplib
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
from loadmsg import make_message, smtp_reply, smtp_send  # noqa: E402

SMTP = [a.rsplit(":", 1) for a in sys.argv[1].split(",")]
POP3 = [a.rsplit(":", 1) for a in sys.argv[2].split(",")]
CONNS, MSGS = int(sys.argv[3]), int(sys.argv[4])
opts = dict(zip(sys.argv[5::2], sys.argv[6::2]))
KILL_AT = int(opts.get("--kill-at", "0"))
VICTIM = opts.get("--victim")
KILL_NETNS = opts.get("--kill-netns")
TIMEOUT = 120
PER_SESSION = 100   # messages a POP3 session retrieves and deletes

lock = threading.Lock()
sent = {}           # id -> sha256 of the body, before it is sent
acked = set()       # ids whose 250 came back
errors = []
killed = threading.Event()
victim_cut = [0]    # victim connections cut by the kill
committed = {}      # id -> retrievals in sessions whose QUIT got +OK
cut_retr = [0]      # retrievals in sessions cut before +OK to QUIT
pop3_sessions = [0, 0]  # committed, cut
victim_ready = threading.Event()  # victim_session() has done its DELEs
senders_done = threading.Event()


def maybe_kill(at, why):
    """Kills the victim once at least `at` messages are acknowledged."""
    with lock:
        if not KILL_NETNS or killed.is_set() or len(acked) < at:
            return
        killed.set()
    # Until none is left: a socket manager may fork while it dies.
    left = "?"
    for _ in range(20):
        pids = subprocess.run(["ip", "netns", "pids", KILL_NETNS],
                              capture_output=True, text=True).stdout.split()
        left = len(pids)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    print("killed the victim (%s processes left) at %d acknowledged, %s" %
          (left, len(acked), why), flush=True)


def smtp_conn(n, addr=None):
    host, port = addr or SMTP[n % len(SMTP)]
    rnd = random.Random(n)
    try:
        s = socket.create_connection((host, int(port)), TIMEOUT)
        f = s.makefile("rb")
        if not smtp_reply(f).startswith(b"220"):
            raise ConnectionError("no greeting")
        s.sendall(b"EHLO load%d\r\n" % n)
        if not smtp_reply(f).startswith(b"250"):
            raise ConnectionError("EHLO refused")
        for i in range(MSGS):
            ident = "c%d-m%d" % (n, i)
            lines, digest = make_message(rnd, ident, "multihost")
            with lock:
                sent[ident] = digest
            bad = smtp_send(s, f, ident, lines)
            if bad:
                raise ConnectionError(bad)
            with lock:
                acked.add(ident)
        s.sendall(b"QUIT\r\n")
        smtp_reply(f)
        s.close()
    except (OSError, ConnectionError) as e:
        with lock:
            if killed.is_set() and host == VICTIM:
                victim_cut[0] += 1
            else:
                errors.append("SMTP connection %d to %s: %s" % (n, host, e))


def pop3_round(rnd_no):
    """One session; returns how many messages it found."""
    # The victim's pop3-session is victim_session()'s.
    others = [a for a in POP3 if a[0] != VICTIM]
    host, port = others[rnd_no % len(others)]
    got = []
    t0 = time.monotonic()
    try:
        p = poplib.POP3(host, int(port), timeout=TIMEOUT)
        p.user("load")
        p.pass_("any")
        uidls = dict(l.decode().split() for l in p.uidl()[1])
        # A few at a time, so that sessions through every host alternate
        # with the deliveries.
        for num in sorted(uidls, key=int)[:PER_SESSION]:
            try:
                lines = p.retr(int(num))[1]
            except poplib.error_proto as e:
                errors.append("POP3 via %s: RETR %s: %s" % (host, num, e))
                continue
            raw = b"\r\n".join(lines) + b"\r\n"
            m = re.search(rb"^X-Load-Id: (\S+)\r$", raw, re.M)
            body = raw[raw.find(b"\r\n\r\n") + 4:]
            ident = m.group(1).decode() if m else None
            with lock:
                want = sent.get(ident)
            if want is None:
                errors.append("POP3 via %s: a message never sent: %r" %
                              (host, raw[:200]))
            elif hashlib.sha256(body).hexdigest() != want:
                errors.append("POP3 via %s: %s corrupted or partial (UIDL "
                              "%s)" % (host, ident, uidls[num]))
            got.append(ident)
            p.dele(int(num))
        p.quit()
    except (OSError, poplib.error_proto) as e:
        with lock:
            pop3_sessions[1] += 1
            cut_retr[0] += len(got)
        if not (killed.is_set() and host == VICTIM):
            errors.append("POP3 session via %s: %s" % (host, e))
        return len(got)
    if "-v" in sys.argv:
        print("POP3 session via %s: %d of %d messages in %.1f s" %
              (host, len(got), len(uidls), time.monotonic() - t0),
              flush=True)
    with lock:
        pop3_sessions[0] += 1
        for ident in got:
            committed[ident] = committed.get(ident, 0) + 1
    return len(got)


def victim_session():
    """A POP3 session through the victim that retrieves and deletes 10
    messages, waits for KILL_AT acknowledged, kills the victim and so
    never gets +OK to QUIT: those 10 must come back."""
    host, port = [a for a in POP3 if a[0] == VICTIM][0]
    got = []
    try:
        p = poplib.POP3(host, int(port), timeout=TIMEOUT)
        p.user("load")
        p.pass_("any")
        for num in range(1, 11):
            raw = b"\r\n".join(p.retr(num)[1]) + b"\r\n"
            got.append(raw)
            p.dele(num)
        victim_ready.set()
        give_up = time.monotonic() + 300
        while len(acked) < KILL_AT and time.monotonic() < give_up:
            time.sleep(0.01)
        maybe_kill(KILL_AT, "in a POP3 session through it after 10 DELE")
        p.quit()
        errors.append("QUIT through the dead host got +OK")
    except (OSError, poplib.error_proto) as e:
        with lock:
            pop3_sessions[1] += 1
            cut_retr[0] += len(got)
        if not killed.is_set():
            errors.append("POP3 session via %s before the kill: %s" %
                          (host, e))
    victim_ready.set()


def main():
    t0 = time.monotonic()
    senders = [threading.Thread(target=smtp_conn, args=(n,))
               for n in range(CONNS)]
    if KILL_NETNS:
        # Ten messages through the victim for victim_session() to take
        # and delete before the load begins.
        smtp_conn(CONNS, [a for a in SMTP if a[0] == VICTIM][0])
        senders.append(threading.Thread(target=victim_session))
        senders[-1].start()
        victim_ready.wait(TIMEOUT)
    for t in senders[:CONNS]:
        t.start()
    rnd_no = 0
    while any(t.is_alive() for t in senders):
        pop3_round(rnd_no)
        rnd_no += 1
        time.sleep(0.05)
    for t in senders:
        t.join()
    t_sent = time.monotonic() - t0
    # Empty the maildir: until two rounds in a row find nothing.
    empty = 0
    for _ in range(500):
        if pop3_round(rnd_no) == 0:
            empty += 1
            if empty == 2:
                break
        else:
            empty = 0
        rnd_no += 1
    elapsed = time.monotonic() - t0

    missing = sorted(i for i in acked if i not in committed)
    twice = sorted(i for i, c in committed.items() if c > 1)
    stored_unacked = [i for i in committed if i not in acked]
    ok = True
    if KILL_NETNS and not killed.is_set():
        errors.append("the kill never happened")
    for what, lst in (("errors", errors),
                      ("lost (acknowledged, never retrieved)", missing),
                      ("retrieved twice", twice)):
        if lst:
            ok = False
            print("FAIL: %d %s: %s" % (len(lst), what, lst[:5]))
    print("figures: %d hosts, %d connections x %d messages: %d "
          "acknowledged in %.1f s (%.0f msg/s), %d retrieved by %d POP3 "
          "sessions on %d hosts (%d cut), %d lost, %d retrieved twice, "
          "%d corrupted; %d stored without their 250, %d victim "
          "connections cut, %d retrievals in cut sessions; %.1f s in all" %
          (len(SMTP), CONNS, MSGS, len(acked), t_sent, len(acked) / t_sent,
           len(committed), pop3_sessions[0], len(POP3), pop3_sessions[1],
           len(missing), len(twice),
           sum(1 for e in errors if "corrupted" in e),
           len(stored_unacked), victim_cut[0], cut_retr[0], elapsed))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
