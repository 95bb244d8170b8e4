#!/usr/bin/python3
"""Fault injection and crash tests for the session programs (tests/faults.bats).

Every subcommand prints one summary line ("figures: ...") and exits 0 when
every invariant held, 1 (with the reason) when one did not.

  inject-smtp SYSCALL ERRNO   every N: the Nth SYSCALL on the maildir or the
  inject-pop3 SYSCALL ERRNO   client fails with ERRNO (strace -e inject)
  kill-smtp COUNT             kill -9 at random points of COUNT deliveries
  kill-commit                 kill -9 at every point of a pipelined session
  kill-pop3 COUNT             kill -9 at random points of COUNT POP3 sessions

Environment: SMTP_SESSION, POP3_SESSION, BAREMAIL_CONFIG (its maildir is
MD), MD, T (timeout of one program, seconds), WRAP (a wrapper such as
valgrind; strace runs the programs directly, since it cannot trace through
valgrind usefully), FAULTS_SEED.
"""
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

SMTP = os.environ.get("SMTP_SESSION", "")
POP3 = os.environ.get("POP3_SESSION", "")
MD = os.environ["MD"]
T = os.environ.get("T", "30")
WRAP = os.environ.get("WRAP", "").split()
SEED = int(os.environ.get("FAULTS_SEED", "1"))
TEST_USER = "baremail-test"
MAX_N = 80      # injection points per syscall and error: a bound on time
# Under a wrapper (valgrind) a session starts and runs ~50 times slower:
# kill points are spread over a longer time so that kills still land
# at every stage of a session, not only before its greeting.
SLOW = 10 if WRAP else 1
SLOW_POP3 = 300 if WRAP else 1


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def chown_md():
    if os.getuid() == 0:
        subprocess.run(["chown", "-R", TEST_USER, MD], check=True)


def reset_md():
    for sub in ("tmp", "new", "cur"):
        d = os.path.join(MD, sub)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d, mode=0o700)
    chown_md()


def files(sub):
    d = os.path.join(MD, sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def read(sub, name):
    with open(os.path.join(MD, sub, name), "rb") as f:
        return f.read()


# ---- SMTP -------------------------------------------------------------

def body(i, tag):
    tag = tag.encode() if isinstance(tag, str) else tag
    # Unique, with lines that need dot-stuffing and a CRLF/LF mix on disk.
    lines = [b"Subject: %s %d" % (tag, i), b"", b"id %s-%d" % (tag, i)]
    lines += [b".dot line %d" % k for k in range(3)]
    lines += [b"x" * 70 for _ in range(20)]
    return lines


def stored_body(lines):
    """How the stored file ends: the body after the header, LF line ends
    (Date: and Message-ID: are added to the header, so it is not compared)."""
    return b"\n\n" + b"\n".join(lines[2:]) + b"\n"


def smtp_input(bodies):
    out = [b"EHLO faults.example\r\n"]
    for lines in bodies:
        out.append(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        for l in lines:
            out.append((b"." + l if l.startswith(b".") else l) + b"\r\n")
        out.append(b".\r\n")
    out.append(b"QUIT\r\n")
    return b"".join(out)


def check_smtp_store(out, bodies, tag):
    """Every 250 names a whole message in new/; every file in new/ is whole.
    Returns (queued names, files in new/)."""
    queued = re.findall(rb"^250 2\.0\.0 Ok: queued as (\S+)\r$", out, re.M)
    queued = [q.decode() for q in queued]
    btag = tag.encode()
    expect = {b"id %s-%d" % (btag, i): stored_body(l)
              for i, l in enumerate(bodies)}
    seen = {}
    for name in files("new"):
        data = read("new", name)
        m = re.search(rb"\n\n(id [^\n]+)\n", data)
        if m is None:
            fail("new/%s is not a whole message: %r" % (name, data[:300]))
        key = m.group(1)
        if key not in expect:
            fail("new/%s holds an unknown message %r" % (name, key))
        subject = b"\nSubject: %s %s\n" % (btag, key.rsplit(b"-", 1)[1])
        if not data.endswith(expect[key]) or subject not in data or \
                data.index(b"\n\n") != len(data) - len(expect[key]):
            fail("new/%s is truncated or corrupted" % name)
        if key in seen:
            fail("message %r stored twice (%s, %s)" % (key, seen[key], name))
        seen[key] = name
        sm = re.search(r",S=(\d+)", name)
        if sm and int(sm.group(1)) != len(data):
            fail("new/%s: S= says %s, file has %d bytes" %
                 (name, sm.group(1), len(data)))
    unique = {n.split(",")[0] for n in files("new")}
    for q in queued:
        if q not in unique:
            fail("250 for %s but it is not in new/" % q)
    if files("cur"):
        fail("files appeared in cur/: %s" % files("cur"))
    return queued, files("new")


POINTS = [0]
FALLBACK = False     # renameat2 fails with EINVAL: the link() path


# LeakSanitizer cannot run under ptrace (it stops the process to scan it):
# in an ASan build the traced program would fail at exit.  Leaks are the
# other test runs' business.
_asan = os.environ.get("ASAN_OPTIONS", "")
os.environ["ASAN_OPTIONS"] = (_asan + ":" if _asan else "") + "detect_leaks=0"


def strace_cmd(prog, syscall, errno_name, n, log):
    cmd = ["timeout", T, "strace", "-f", "-qq", "-y", "-o", log,
           "-e", "trace=" + syscall]
    if syscall in ("fsync", "fdatasync"):
        # The moves into new/ and the replies too, in order: see
        # unsynced_acks().  Only the syscall itself is injected.
        cmd[-1] += ",renameat2,linkat,write"
        cmd += ["-s", "100000"]
    if FALLBACK:
        cmd[-1] += ",renameat2"
        cmd += ["-e", "inject=renameat2:error=EINVAL"]
    if n:
        cmd += ["-e", "inject=%s:error=%s:when=%d" % (syscall, errno_name, n)]
    return cmd + [prog]


def relevant_calls(log, syscall):
    """Indexes (1-based) of the traced calls made on the maildir or on the
    client's pipes: the runtime's own (ASan's /proc reads, the dynamic
    loader, /etc files) are left alone."""
    idx = []
    with open(log, errors="replace") as f:
        n = 0
        for line in f:
            if "resumed>" in line or \
                    not re.match(r"^\d+\s+%s\(" % syscall, line):
                continue
            n += 1
            if MD in line or "pipe:" in line or \
                    re.match(r"^\d+\s+\w+\((0|1)<", line):
                idx.append(n)
    return idx


def injected_name(log, syscall):
    """The tmp/ name or directory the injected call was on, if any."""
    with open(log, errors="replace") as f:
        for line in f:
            if "(INJECTED)" in line and re.match(r"^\d+\s+%s\(" % syscall,
                                                 line):
                m = re.search(re.escape(MD) + r"/tmp/([^>,\"]+)", line)
                if m:
                    return "tmp", m.group(1), line.strip()
                if re.search(re.escape(MD) + r"/new>", line):
                    return "new", None, line.strip()
                return "other", None, line.strip()
    return None, None, None


def unsynced_acks(log):
    """The messages acknowledged (a 250 written to the client) before a
    successful fsync of new/ followed their move into new/: must be none,
    with group commit (several moves, one fsync) as without."""
    moved, durable, bad = set(), set(), []
    new_dir = re.escape(MD) + r"/new>"
    with open(log, errors="replace") as f:
        for line in f:
            m = re.match(r'^\d+\s+(renameat2|linkat)\(.*' + new_dir +
                         r', "([^",]+)[^"]*",.*\) = 0', line)
            if m:
                moved.add(m.group(2))
                continue
            if re.match(r"^\d+\s+fsync\(\d+<" + new_dir + r"\) = 0", line):
                durable |= moved
                moved = set()
                continue
            if re.match(r"^\d+\s+write\(1<", line):
                for q in re.findall(r"250 2\.0\.0 Ok: queued as ([^\\ ]+)",
                                    line):
                    if q not in durable:
                        bad.append(q)
    return bad


def successful_new_fsyncs(log):
    n = 0
    with open(log, errors="replace") as f:
        for line in f:
            if re.search(r"fsync\(\d+<" + re.escape(MD) + r"/new>\) = 0", line):
                n += 1
    return n


def inject_smtp(syscall, errno_name):
    tag = "%s%s" % (syscall, errno_name)
    bodies = [body(i, tag) for i in range(3)]
    data = smtp_input(bodies)
    log = os.path.join(os.environ.get("BATS_TEST_TMPDIR", "/tmp"), "strace.log")
    reset_md()
    p = subprocess.run(strace_cmd(SMTP, syscall, errno_name, 0, log),
                       input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        fail("clean run exited %d" % p.returncode)
    if len(check_smtp_store(p.stdout, bodies, tag)[0]) != 3:
        fail("clean run did not deliver 3 messages")
    points = relevant_calls(log, syscall)
    if len(points) > MAX_N:
        step = len(points) / MAX_N
        points = [points[int(i * step)] for i in range(MAX_N)]
    refused = hit = 0
    for n in points:
        reset_md()
        p = subprocess.run(strace_cmd(SMTP, syscall, errno_name, n, log),
                           input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        where, name, line = injected_name(log, syscall)
        ctx = "%s=%s at call %d (%s)" % (syscall, errno_name, n, line)
        if p.returncode not in (0, 75, 71):
            fail("%s: exit status %d" % (ctx, p.returncode))
        queued, stored = check_smtp_store(p.stdout, bodies, tag)
        if where is not None:
            hit += 1
        if where == "tmp" and name.split(",")[0] in queued:
            fail("%s: 250 for the message whose call failed" % ctx)
        if syscall in ("fsync", "fdatasync") and (
                unsynced_acks(log) or
                (queued and successful_new_fsyncs(log) == 0)):
            fail("%s: 250 before new/ was fsynced for %s" %
                 (ctx, unsynced_acks(log) or queued))
        # A tmp file stays only when its own unlink was the call that failed.
        left = files("tmp")
        if left and not (syscall in ("unlink", "unlinkat") and len(left) == 1):
            fail("%s: tmp/ leftovers %s" % (ctx, left))
        if len(queued) < 3:
            refused += 1
            codes = re.findall(rb"^(4\d\d|5\d\d) ", p.stdout, re.M)
            if where == "tmp" and not codes and b"250 " in p.stdout[-200:]:
                fail("%s: a failed delivery was not answered" % ctx)
    POINTS[0] = len(points)
    print("figures: smtp %s=%s%s: %d injection points, %d injected, "
          "%d sessions lost a message with a 4xx/5xx or a closed "
          "connection, 0 acknowledged messages lost" %
          (syscall, errno_name, " (link fallback)" if FALLBACK else "",
           len(points), hit, refused))


def kill_commit():
    """Group commit under kill -9 at every point of a pipelined session of
    5 messages: strace kills the session (SIGKILL on entry) at the Nth
    fsync, renameat2 or write; a client then sends again, in a new
    session, every message it has no 250 for.  Every acknowledged message
    must be in new/ once, every message at least once, and a message may
    be there twice only when the kill came after its move into new/ and
    before its 250 was written (the window every SMTP server has between
    making a message durable and saying so, RFC 1047): never when it was
    still staged in tmp/."""
    tag = "group"
    bodies = [body(i, tag) for i in range(5)]
    data = smtp_input(bodies)
    log = os.path.join(os.environ.get("BATS_TEST_TMPDIR", "/tmp"), "strace.log")
    points = window_dupes = tmp_left = 0
    for syscall in ("fsync", "renameat2", "write"):
        # A clean run counts the calls of the maildir and the client pipe.
        reset_md()
        subprocess.run(["timeout", T, "strace", "-f", "-qq", "-y", "-o", log,
                        "-e", "trace=" + syscall, SMTP], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for n in relevant_calls(log, syscall):
            points += 1
            reset_md()
            p = subprocess.run(
                ["timeout", T, "strace", "-f", "-qq", "-y", "-o", log,
                 "-s", "100000", "-e", "trace=fsync,renameat2,linkat,write",
                 "-e", "inject=%s:signal=KILL:when=%d" % (syscall, n), SMTP],
                input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            ctx = "kill -9 at %s call %d" % (syscall, n)
            if p.returncode == 0:
                fail("%s: the session was not killed" % ctx)
            acked = {q.decode() for q in re.findall(
                rb"^250 2\.0\.0 Ok: queued as (\S+)\r$", p.stdout, re.M)}
            # Moved into new/ and not yet acknowledged when killed.
            exposed = set()
            in_tmp = False      # killed on a call on a tmp/ file
            with open(log, errors="replace") as f:
                for line in f:
                    if re.match(r"^\d+\s+%s\(" % syscall, line) and \
                            line.rstrip().endswith("= ?") and \
                            (MD + "/tmp/") in line:
                        in_tmp = True
                    m = re.match(r'^\d+\s+(renameat2|linkat)\(.*' +
                                 re.escape(MD) + r'/new>, "([^",]+)[^"]*",'
                                 r'.*\) = 0', line)
                    if m:
                        exposed.add(m.group(2))
                    # A write the kill stopped on entry sent nothing.
                    if not re.search(r"\) = \d+$", line):
                        continue
                    for q in re.findall(
                            r"250 2\.0\.0 Ok: queued as ([^\\ ]+)", line):
                        exposed.discard(q)
            first = {}
            for name in files("new"):
                m = re.search(rb"\n\n(id [^\n]+)\n", read("new", name))
                if m is None:
                    fail("%s: new/%s is not a whole message" % (ctx, name))
                first[m.group(1)] = name.split(",")[0]
            # The client retries what it has no 250 for.
            retry = [b for b in bodies
                     if first.get(b[2]) not in acked]
            if retry:
                r = subprocess.run(["timeout", T] + WRAP + [SMTP],
                                   input=smtp_input(retry),
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
                if r.stdout.count(b"\r\n250 2.0.0 Ok: queued") != len(retry):
                    fail("%s: the retry was not accepted: %r" %
                         (ctx, r.stdout[-300:]))
            count = {}
            for name in files("new"):
                m = re.search(rb"\n\n(id [^\n]+)\n", read("new", name))
                count.setdefault(m.group(1), []).append(name.split(",")[0])
            for q in acked:
                if q not in {u for us in count.values() for u in us}:
                    fail("%s: acknowledged %s is missing" % (ctx, q))
            for b in bodies:
                names = count.get(b[2], [])
                if not names:
                    fail("%s: %r lost" % (ctx, b[2]))
                if len(names) > 1:
                    if in_tmp:
                        fail("%s: %r stored twice although the session was "
                             "killed while staging" % (ctx, b[2]))
                    if not set(names) & exposed:
                        fail("%s: %r stored twice (%s) though it was never "
                             "in new/ unacknowledged" % (ctx, b[2], names))
                    window_dupes += 1
                if len(names) > 2:
                    fail("%s: %r stored %d times" % (ctx, b[2], len(names)))
            # A killed writer leaves its staged files in tmp/, which
            # maildir_clean_tmp() removes after 36 hours: never in new/.
            tmp_left += len(files("tmp"))
    print("figures: group commit: %d kill points (every fsync, renameat2 "
          "and write of a 5-message pipelined session), nothing "
          "acknowledged lost, nothing lost after the retry; %d message(s) "
          "stored twice, each killed between its move into new/ and its "
          "250; %d staged files left in tmp/ by killed sessions" %
          (points, window_dupes, tmp_left))


# ---- POP3 -------------------------------------------------------------

POP3_MSGS = {
    "1700000001.M1P1Q1.host,S=%d,W=%d:2,":
        b"Subject: one\n\nline\n.dot\n",
    "1700000002.M2P1Q2.host:2,S":
        b"Subject: two\n\n" + b"y" * 5000 + b"\n",
    "1700000003.M3P1Q3.host":
        b"Subject: three\n\nthird\n",
}


def seed_pop3():
    reset_md()
    names = {}
    for tmpl, data in POP3_MSGS.items():
        crlf = data.replace(b"\n", b"\r\n")
        name = tmpl % (len(data), len(crlf)) if "%d" in tmpl else tmpl
        sub = "new" if ":" not in name else "cur"
        with open(os.path.join(MD, sub, name), "wb") as f:
            f.write(data)
        names[name.split(":")[0].split(",")[0]] = data
    chown_md()
    return names


def md_state():
    """{unique name: content} of everything in new/ and cur/."""
    r = {}
    for sub in ("new", "cur"):
        for n in files(sub):
            r[n.split(":")[0].split(",")[0]] = read(sub, n)
    return r


POP3_CMDS = [b"USER u", b"PASS p", b"STAT", b"LIST", b"UIDL", b"RETR 1",
             b"RETR 2", b"TOP 3 0", b"DELE 1", b"DELE 3", b"QUIT"]


def pop3_replies(out, cmds):
    """Splits the session's output by command: [(cmd, status line, body
    lines or None)]; a reply cut off ends the list."""
    lines = out.split(b"\r\n")
    pos = 1                 # the greeting
    res = []
    for c in cmds:
        if pos >= len(lines) or not lines[pos]:
            break
        status = lines[pos]
        pos += 1
        words = c.split()
        multi = words[0] in (b"CAPA", b"RETR", b"TOP") or \
            (words[0] in (b"LIST", b"UIDL") and len(words) == 1)
        body = None
        if status.startswith(b"+OK") and multi:
            body = []
            while pos < len(lines) and lines[pos] != b".":
                l = lines[pos]
                body.append(l[1:] if l.startswith(b".") else l)
                pos += 1
            if pos >= len(lines):
                res.append((c, status, None))   # cut off: not complete
                break
            pos += 1
        res.append((c, status, body))
    return res


def check_pop3(before, out, ctx, dele=(0, 2)):
    after = md_state()
    keys = sorted(before)
    for u, data in after.items():
        if u not in before:
            fail("%s: a new file %s appeared" % (ctx, u))
        if data != before[u]:
            fail("%s: %s changed on disk" % (ctx, u))
    for i, u in enumerate(keys):
        if i not in dele and u not in after:
            fail("%s: %s was not DELEted but is gone" % (ctx, u))
    if files("tmp"):
        fail("%s: tmp/ leftovers %s" % (ctx, files("tmp")))
    for c, status, body in pop3_replies(out, POP3_CMDS):
        if c.startswith(b"RETR") and body is not None:
            want = before[keys[int(c.split()[1]) - 1]].replace(b"\n", b"\r\n")
            if b"\r\n".join(body) + b"\r\n" != want:
                fail("%s: %s sent a corrupted message" % (ctx, c.decode()))


def inject_pop3(syscall, errno_name):
    log = os.path.join(os.environ.get("BATS_TEST_TMPDIR", "/tmp"), "strace.log")
    data = b"".join(c + b"\r\n" for c in POP3_CMDS)
    before = seed_pop3()
    p = subprocess.run(strace_cmd(POP3, syscall, errno_name, 0, log),
                       input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        fail("clean run exited %d" % p.returncode)
    check_pop3(before, p.stdout, "clean run")
    if len(md_state()) != 1:
        fail("clean run did not delete the two messages")
    points = relevant_calls(log, syscall)
    if len(points) > MAX_N:
        step = len(points) / MAX_N
        points = [points[int(i * step)] for i in range(MAX_N)]
    hit = 0
    for n in points:
        before = seed_pop3()
        p = subprocess.run(strace_cmd(POP3, syscall, errno_name, n, log),
                           input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        where, _, line = injected_name(log, syscall)
        ctx = "%s=%s at call %d (%s)" % (syscall, errno_name, n, line)
        if where is not None:
            hit += 1
        if p.returncode not in (0, 75, 71, 74):
            fail("%s: exit status %d" % (ctx, p.returncode))
        check_pop3(before, p.stdout, ctx)
    print("figures: pop3 %s=%s: %d injection points, %d injected, "
          "0 messages lost or corrupted" % (syscall, errno_name,
                                            len(points), hit))
    return len(points)


# ---- kill -9 ----------------------------------------------------------

def subreaper():
    """Become the parent of orphans: a session whose timeout(1) was killed
    is then ours to reap, so we know when it is really gone."""
    import ctypes
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
    # Reap whatever else was in the group (reparented to us).
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def kill_smtp(count):
    """Sessions of up to 20 messages each, killed at random moments; the
    client sends one message at a time and notes each 250."""
    rnd = random.Random(SEED)
    subreaper()
    reset_md()
    acked = {}          # id -> expected stored body
    sent = 0
    sessions = kills = 0
    while sent < count:
        k = min(20, count - sent)
        bodies = [body(sent + i, "kill") for i in range(k)]
        sent += k
        sessions += 1
        p = subprocess.Popen(["timeout", T] + WRAP + [SMTP],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL,
                             start_new_session=True)
        deadline = time.monotonic() + rnd.uniform(0.0, 0.012 * k * SLOW)
        killed = False
        os.set_blocking(p.stdout.fileno(), False)
        buf = b""

        def pump():
            nonlocal buf
            try:
                b = p.stdout.read()
                if b:
                    buf += b
            except (BlockingIOError, TypeError):
                pass
        try:
            p.stdin.write(b"EHLO k\r\n")
            p.stdin.flush()
            for i, lines in enumerate(bodies):
                one = smtp_input([lines])
                one = one[one.index(b"MAIL"):one.rindex(b"QUIT")]
                p.stdin.write(one)
                p.stdin.flush()
                # Wait for this message's reply, or the kill time.
                while buf.count(b"queued as") + buf.count(b"\r\n4") + \
                        buf.count(b"\r\n5") <= i:
                    if time.monotonic() >= deadline:
                        break
                    pump()
                    time.sleep(0.0005)
                if time.monotonic() >= deadline:
                    break
        except BrokenPipeError:
            pass
        if p.poll() is None:
            kills += 1
            killed = True
        # timeout(1) and the session under it: the whole process group.
        kill_group(p)
        pump()
        for q in re.findall(rb"250 2\.0\.0 Ok: queued as (\S+)\r", buf):
            acked[q.decode()] = True
        _ = killed
    # Every acknowledged message is there, whole; nothing twice.
    names = {n.split(",")[0]: n for n in files("new")}
    for q in acked:
        if q not in names:
            fail("acknowledged %s is missing" % q)
    seen = set()
    for name in files("new"):
        data = read("new", name)
        m = re.search(rb"\n\n(id kill-(\d+))\n", data)
        if m is None:
            fail("new/%s is partial" % name)
        i = int(m.group(2))
        if not data.endswith(stored_body(body(i, "kill"))):
            fail("new/%s is truncated or corrupted" % name)
        if i in seen:
            fail("message %d stored twice" % i)
        seen.add(i)
    tmp_left = len(files("tmp"))
    print("figures: %d deliveries attempted in %d sessions, %d killed with "
          "-9; %d acknowledged, all %d whole in new/ (%d stored in all), "
          "0 duplicates, %d tmp files left by killed writers" %
          (count, sessions, kills, len(acked), len(acked), len(seen),
           tmp_left))


def kill_pop3(count):
    """POP3 sessions that RETR and DELE, killed -9 before QUIT (nothing may
    be deleted) or, one in four, around QUIT (only DELEted messages may
    go)."""
    rnd = random.Random(SEED)
    subreaper()
    killed_before_quit = quits = deleted = sizes_left = 0
    seed_pop3()
    for s in range(count):
        if len(md_state()) < 3:
            before = seed_pop3()
            for i in range(7):      # a few more, so deletions stay possible
                n = "17000001%02d.M%dP2Q%d.host" % (i, i, i)
                with open(os.path.join(MD, "new", n), "wb") as f:
                    f.write(b"Subject: extra %d\n\nbody\n" % i)
            chown_md()
            before = md_state()
        state = md_state()
        keys = sorted(state)
        with_quit = s % 4 == 0
        cmds = [b"USER u", b"PASS p", b"STAT", b"UIDL", b"RETR 1",
                b"DELE 1", b"RETR 2"]
        if with_quit:
            cmds.append(b"QUIT")
        p = subprocess.Popen(["timeout", T] + WRAP + [POP3],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            for c in cmds:
                p.stdin.write(c + b"\r\n")
                p.stdin.flush()
                time.sleep(rnd.uniform(0, 0.0005 * SLOW))
        except BrokenPipeError:
            pass
        time.sleep(rnd.uniform(0, 0.004 * SLOW_POP3))
        kill_group(p)
        after = md_state()
        for u, data in after.items():
            if u not in state or data != state[u]:
                fail("session %d: %s appeared or changed" % (s, u))
        gone = [u for u in keys if u not in after]
        if with_quit:
            quits += 1
            deleted += 1 if gone else 0
            if gone and gone != [keys[0]]:
                fail("session %d: QUIT deleted %s, only message 1 was "
                     "DELEted" % (s, gone))
        else:
            killed_before_quit += 1
            if gone:
                fail("session %d killed before QUIT deleted %s" % (s, gone))
        # Only a size cache being written (tmp/<unique>.baremail-sizes,
        # renamed to the maildir's root when whole) may stay behind a killed
        # session: never a message, and the 36-hour rule of tmp/ removes it.
        left = files("tmp")
        if [n for n in left if not n.endswith(".baremail-sizes")]:
            fail("session %d left tmp files %s" % (s, left))
        for n in left:
            os.unlink(os.path.join(MD, "tmp", n))
            sizes_left += 1
    print("figures: %d POP3 sessions killed with -9: %d before QUIT "
          "deleted nothing, %d around QUIT deleted at most the DELEted "
          "message (%d had deleted it); no message changed; %d size "
          "caches left half-written in tmp/" %
          (count, killed_before_quit, quits, deleted, sizes_left))


def main():
    cmd = sys.argv[1]
    global FALLBACK
    FALLBACK = len(sys.argv) > 4 and sys.argv[4] == "fallback"
    if cmd == "inject-smtp":
        inject_smtp(sys.argv[2], sys.argv[3])
    elif cmd == "inject-pop3":
        inject_pop3(sys.argv[2], sys.argv[3])
    elif cmd == "kill-commit":
        kill_commit()
    elif cmd == "kill-smtp":
        kill_smtp(int(sys.argv[2]))
    elif cmd == "kill-pop3":
        kill_pop3(int(sys.argv[2]))
    else:
        fail("unknown subcommand " + cmd)


if __name__ == "__main__":
    main()
