#!/usr/bin/python3
"""baremail expire beside SMTP deliveries and POP3 sessions under load.

Usage: expire-load.py MAILDIR CONFIG SMTP_SESSION POP3_SESSION BAREMAIL OWNER [WRAP...]

Phase 1, [retention] max_age: 600 ancient messages (names of 2001) and
4 SMTP clients delivering 40 fresh messages each (60, 2 and 10 under a
wrapper such as valgrind, which the valgrind pass of test.sh gives), 2 POP3 clients reading
and deleting ancient ones, while expire runs three times.  Afterwards:
every ancient message is gone, deleted exactly once (by expire or by a
POP3 QUIT, never both, never logged twice); every fresh message that got
its 250 is there, whole; POP3 saw no -ERR but [SYS/TEMP] for a message
that vanished.

Phase 2, max_messages: expire with max_messages = 50 (10) while SMTP keeps
delivering.  Nothing whose delivery began after expire's listing is
deleted: every deleted name is older than the newest message that existed
before expire started, and every 250 after expire ended is there.
"""
import os, pwd, random, re, subprocess, sys, threading, time

md, conf, smtp, pop3, baremail, owner = sys.argv[1:7]
wrap = sys.argv[7:]
# Under valgrind every process takes a second to start: a tenth of the load.
small = bool(wrap)
OLD, CLIENTS, EACH = (60, 2, 10) if small else (600, 4, 40)
uid = pwd.getpwnam(owner).pw_uid if os.getuid() == 0 else -1
env = dict(os.environ, BAREMAIL_CONFIG=conf)
fails = []
lock = threading.Lock()


def fail(msg):
    with lock:
        fails.append(msg)


def run(prog, data=b"", extra=()):
    p = subprocess.run(["timeout", "60"] + wrap + [prog] + list(extra),
                       input=data, capture_output=True, env=env)
    return p.returncode, p.stdout, p.stderr


def seed(n, sec0):
    for i in range(n):
        sub = "new" if i % 3 == 0 else "cur"
        name = "%d.M%dP1Q%d.seed,S=40" % (sec0 + i, i, i)
        if sub == "cur":
            name += ":2,S"
        path = os.path.join(md, sub, name)
        with open(path, "w") as f:
            f.write("Subject: ancient %d\n\nold mail\n" % i)
        if uid >= 0:
            os.chown(path, uid, -1)


delivered = {}  # subject -> (name, time of the 250)


def smtp_client(tag, count, stop=None):
    for i in range(count):
        if stop is not None and stop.is_set():
            return
        subj = "fresh %s %d" % (tag, i)
        cmds = ("EHLO t\r\nMAIL FROM:<load@x>\r\nRCPT TO:<r@y>\r\nDATA\r\n"
                "Subject: %s\r\n\r\nbody %s\r\n.\r\nQUIT\r\n" % (subj, subj))
        rc, out, err = run(smtp, cmds.encode())
        m = re.search(rb"250 2\.0\.0 Ok: queued as (\S+)", out)
        if m:
            with lock:
                delivered[subj] = (m.group(1).decode(), time.time())
        else:
            fail("no 250 for %s: %r" % (subj, out[-200:]))


pop3_deleted = set()


def pop3_client(rounds):
    """One session at a time, driven line by line: UIDL, then RETR and
    DELE of up to five ancient messages by this session's numbers, QUIT."""
    for _ in range(rounds):
        p = subprocess.Popen(["timeout", "60"] + wrap + [pop3], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

        def cmd(line, multi=False):
            p.stdin.write(line.encode() + b"\r\n")
            p.stdin.flush()
            first = p.stdout.readline().decode("latin-1").rstrip("\r\n")
            body = []
            if multi and first.startswith("+OK"):
                while True:
                    l = p.stdout.readline().decode("latin-1").rstrip("\r\n")
                    if l == ".":
                        break
                    body.append(l)
            if first.startswith("-ERR") and "[SYS/TEMP]" not in first:
                fail("POP3 %s: %s" % (line.split()[0], first))
            return first, body

        p.stdout.readline()  # greeting
        cmd("USER a")
        cmd("PASS b")
        _, body = cmd("UIDL", True)
        ancient = [l.split(" ", 1) for l in body if l.split(" ", 1)[1].startswith("10")]
        pick = random.sample(ancient, min(5, len(ancient)))
        for n, u in pick:
            cmd("RETR " + n, True)
            cmd("DELE " + n)
        first, _ = cmd("QUIT")
        p.wait()
        if first.startswith("+OK"):
            with lock:
                pop3_deleted.update(u for n, u in pick)
        time.sleep(0.01)


def expire_runs(times, log):
    time.sleep(0.5)  # let POP3 get some of the ancient ones first
    for _ in range(times):
        rc, out, err = run(baremail, b"", ["expire"])
        log.append(err.decode())
        if rc != 0:
            fail("expire exited %d: %s" % (rc, err[-300:]))
        time.sleep(0.05)


def names():
    return {n for d in ("new", "cur") for n in os.listdir(os.path.join(md, d))}


def base(n):
    return re.split(r"[:,]", n)[0]


# ---- phase 1: max_age ----
with open(conf, "a") as f:
    f.write("[retention]\nmax_age = 365d\n")
seed(OLD, 1000000000)
logs = []
threads = [threading.Thread(target=smtp_client, args=("a%d" % k, EACH)) for k in range(CLIENTS)]
threads += [threading.Thread(target=pop3_client, args=(6,)) for _ in range(2)]
threads += [threading.Thread(target=expire_runs, args=(3, logs))]
for t in threads:
    t.start()
for t in threads:
    t.join()
expired = re.findall(r"expired (\S+) \(", "".join(logs))
exp_bases = [base(n) for n in expired]
if len(exp_bases) != len(set(exp_bases)):
    fail("a message expired twice")
left = names()
for n in left:
    if n.startswith("10"):
        fail("ancient message left: %s" % n)
for n in exp_bases:
    if not n.startswith("10"):
        fail("expire deleted a fresh message: %s" % n)
left_bases = {base(n) for n in left}
for subj, (name, _) in delivered.items():
    if base(name) not in left_bases:
        fail("delivered and lost: %s (%s)" % (subj, name))
pop3_bases = {base(u) for u in pop3_deleted}
both = set(exp_bases) & pop3_bases
if len(set(exp_bases) | pop3_bases) != OLD:
    fail("expire and POP3 account for %d of the %d ancient messages"
         % (len(set(exp_bases) | pop3_bases), OLD))
print("phase 1: %d fresh delivered, %d expired, %d deleted over POP3 "
      "(%d named by both: expire deleted it after that session listed it)"
      % (len(delivered), len(exp_bases), len(pop3_bases), len(both)))
if len(delivered) != CLIENTS * EACH:
    fail("only %d of %d deliveries got 250" % (len(delivered), CLIENTS * EACH))

# ---- phase 2: max_messages while SMTP keeps delivering ----
with open(conf, "a") as f:
    # Fewer than the fresh ones of phase 1, so that some must go.
    f.write("max_age = 36500d\nmax_messages = %d\n" % (10 if small else 50))
before = names()
newest_before = max(base(n) for n in before)
stop = threading.Event()
senders = [threading.Thread(target=smtp_client, args=("b%d" % k, 200, stop)) for k in range(2)]
for t in senders:
    t.start()
time.sleep(0.3)
t_start = time.time()
rc, out, err = run(baremail, b"", ["expire"])
t_end = time.time()
time.sleep(0.3)
stop.set()
for t in senders:
    t.join()
expired2 = [base(n) for n in re.findall(r"expired (\S+) \(", err.decode())]
key = lambda b: (int(b.split(".")[0]), b)
for b in expired2:
    if key(b) > key(newest_before) and b not in {base(n) for n in before}:
        # Listed during delivery: allowed only if its 250 came before expire ended.
        hit = [t for s, (n, t) in delivered.items() if base(n) == b]
        if not hit or hit[0] > t_end:
            fail("phase 2 deleted %s, delivered after expire" % b)
left_bases = {base(n) for n in names()}
late = [(s, n) for s, (n, t) in delivered.items() if t > t_end]
for s, n in late:
    if base(n) not in left_bases:
        fail("delivered after expire and gone: %s" % n)
print("phase 2: %d expired; %d delivered after it ended, all there" % (len(expired2), len(late)))
if not expired2:
    fail("phase 2 expired nothing")
for f in fails[:20]:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
