#!/usr/bin/python3
"""Records what real clients send, as seeds for fuzz-smtp and fuzz-pop3.

Starts a loopback listener; for every connection it runs the session
program (smtp-session or pop3-session, from a build directory) on a pair
of pipes, relays bytes both ways, and keeps the client's bytes.  Each
client run becomes one seed file: a mode byte (0: one read per chunk the
client wrote... see fuzz-common.h) followed by the client's bytes.

usage: fuzz/record-seeds.py BUILD_DIR [OUT_DIR]   (default fuzz/corpus)
Clients used when installed: curl, swaks, msmtp, mpop, fetchmail, and
Python's smtplib and poplib; plus hand-written Thunderbird- and
Outlook-style dialogues (no GUI client runs here).
"""
import os
import shutil
import smtplib
import poplib
import socket
import subprocess
import sys
import tempfile
import threading

BUILD = sys.argv[1]
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus")
TMP = tempfile.mkdtemp(prefix="baremail-seeds-")
MD = os.path.join(TMP, "Maildir")
CONF = os.path.join(TMP, "baremail.conf")
T = "30"

with open(CONF, "w") as f:
    f.write("[maildir]\npath = %s\n[smtp]\nhostname = seeds.example\n" % MD)
    if os.getuid() == 0:
        f.write("[user]\nname = baremail-test\n")
os.makedirs(MD)
if os.getuid() == 0:
    os.chmod(TMP, 0o755)
    shutil.chown(MD, "baremail-test")


class Recorder:
    """A listener that runs PROG per connection and records client bytes."""

    def __init__(self, prog):
        self.prog = prog
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.recorded = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        p = subprocess.Popen(["timeout", T, self.prog, "-c", CONF],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        data = bytearray()

        def down():
            while True:
                b = p.stdout.read1(65536)
                if not b:
                    break
                try:
                    conn.sendall(b)
                except OSError:
                    break
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t = threading.Thread(target=down, daemon=True)
        t.start()
        while True:
            try:
                b = conn.recv(65536)
            except OSError:
                break
            if not b:
                break
            data += b
            try:
                p.stdin.write(b)
                p.stdin.flush()
            except OSError:
                break
        try:
            p.stdin.close()
        except OSError:
            pass
        t.join(30)
        p.wait()
        conn.close()
        with self.lock:
            self.recorded.append(bytes(data))

    def take(self):
        with self.lock:
            r, self.recorded = self.recorded, []
        return b"".join(r)


def save(target, name, data, mode=0):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([mode]) + data)
    print("%s/%s: %d bytes" % (target, name, len(data)))


def run(cmd, stdin=None):
    if shutil.which(cmd[0]) is None:
        print("skipped (not installed): %s" % cmd[0])
        return False
    subprocess.run(["timeout", T] + cmd, input=stdin, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return True


def wait_quiet(rec, n=1):
    # The relay thread records after the client closed; give it a moment.
    import time
    for _ in range(100):
        with rec.lock:
            if len(rec.recorded) >= n:
                return
        time.sleep(0.05)


MSG = (b"From: Cron Daemon <root@host>\r\nTo: admin@example.org\r\n"
       b"Subject: seed\r\n\r\nline one\r\n.leading dot\r\n..two\r\n"
       b"\xc3\xa9t\xc3\xa9 8-bit\r\n")

smtp = Recorder(os.path.join(BUILD, "smtp-session", "smtp-session"))
pop3 = Recorder(os.path.join(BUILD, "pop3-session", "pop3-session"))
sp, pp = str(smtp.port), str(pop3.port)
msgfile = os.path.join(TMP, "msg.eml")
with open(msgfile, "wb") as f:
    f.write(MSG)

# ---- SMTP clients ----
def smtp_seed(name, cmd, mode=0, stdin=None):
    if run(cmd, stdin):
        wait_quiet(smtp)
        save("fuzz-smtp", name, smtp.take(), mode)

smtp_seed("curl", ["curl", "-s", "smtp://127.0.0.1:%s" % sp, "--mail-from",
                   "cron@host", "--mail-rcpt", "admin@example.org",
                   "--mail-rcpt", "root", "-T", msgfile])
smtp_seed("swaks-pipelining", ["swaks", "-s", "127.0.0.1", "-p", sp, "-f",
                               "a@b", "-t", "c@d,e@f", "--pipeline",
                               "--data", "@" + msgfile], mode=3)
smtp_seed("swaks-auth-plain", ["swaks", "-s", "127.0.0.1", "-p", sp, "-f",
                               "a@b", "-t", "c@d", "-a", "PLAIN", "-au",
                               "user", "-ap", "pass"], mode=0x11)
smtp_seed("swaks-auth-login", ["swaks", "-s", "127.0.0.1", "-p", sp, "-f",
                               "a@b", "-t", "c@d", "-a", "LOGIN", "-au",
                               "user", "-ap", "pass"])
smtp_seed("swaks-auth-cram", ["swaks", "-s", "127.0.0.1", "-p", sp, "-f",
                              "<>", "-t", "c@d", "-a", "CRAM-MD5", "-au",
                              "user", "-ap", "pass"], mode=0x85)
smtp_seed("msmtp", ["msmtp", "--host=127.0.0.1", "--port=" + sp,
                    "--from=cron@host", "--auth=off", "--tls=off",
                    "admin@example.org"], stdin=MSG.replace(b"\r\n", b"\n"))

for name, login in (("smtplib", False), ("smtplib-login", True)):
    s = smtplib.SMTP("127.0.0.1", smtp.port, local_hostname="client.example")
    if login:
        s.login("user", "password")
    s.sendmail("alert@host", ["admin@example.org", "ops@example.org"], MSG,
               mail_options=["SMTPUTF8"] if False else [])
    s.sendmail("", ["x@y"], b"Subject: second\r\n\r\nno trailing newline")
    s.quit()
    wait_quiet(smtp)
    save("fuzz-smtp", name, smtp.take(), 7 if login else 0)

# Hand-written: the edges the protocol issue names.
save("fuzz-smtp", "lf-only-script",
     b"HELO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\nSubject: s\n\nbody\n.\nQUIT\n")
save("fuzz-smtp", "smuggling",
     b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
     b"Subject: one\r\n\r\nbody\n.\nMAIL FROM:<evil@x>\nRCPT TO:<v@x>\n"
     b"DATA\nSubject: smuggled\n\n\r.\r\n.\r\r\n\r\n.\n\r\n.\r\nQUIT\r\n")
save("fuzz-smtp", "size-and-dsn",
     b"EHLO x\r\nMAIL FROM:<a@b> SIZE=99999999 BODY=8BITMIME\r\n"
     b"MAIL FROM:<a@b> SIZE=10 RET=HDRS ENVID=x AUTH=<>\r\n"
     b"RCPT TO:<c@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d\r\n"
     b"RCPT TO:<e@f>\r\nRCPT TO:<g@h>\r\nRCPT TO:<i@j>\r\nRCPT TO:<k@l>\r\n"
     b"RCPT TO:<m@n>\r\nRSET\r\nVRFY root\r\nEXPN list\r\nHELP\r\nNOOP\r\n"
     b"BDAT 5\r\nhelloBDAT 0 LAST\r\nQUIT\r\n")
save("fuzz-smtp", "header-injection",
     b"EHLO x\r\nMAIL FROM:<a@b\rX-Injected: 1>\r\n"
     b"MAIL FROM:<a\x00b@c>\r\nMAIL FROM:<ok@x>\r\n"
     b"RCPT TO:<c@d\nX-Evil: yes>\r\nRCPT TO:<\"quoted\r\n\"@d>\r\n"
     b"RCPT TO:<good@d>\r\nDATA\r\nSubject: s\r\n\r\nb\r\n.\r\nQUIT\r\n")

# ---- POP3 clients: deliver a few messages first ----
for i in range(3):
    s = smtplib.SMTP("127.0.0.1", smtp.port)
    s.sendmail("a@b", ["c@d"], MSG + b"message %d\r\n" % i)
    s.quit()
wait_quiet(smtp, 3)
smtp.take()


def pop3_seed(name, fn_or_cmd, mode=0):
    if callable(fn_or_cmd):
        fn_or_cmd()
    elif not run(fn_or_cmd):
        return
    wait_quiet(pop3)
    save("fuzz-pop3", name, pop3.take(), mode)


def poplib_user():
    p = poplib.POP3("127.0.0.1", pop3.port)
    p.capa()
    p.user("user")
    p.pass_("pass")
    p.stat()
    p.list()
    p.uidl()
    p.retr(1)
    p.top(2, 0)
    p.top(2, 20)
    p.noop()
    p.dele(1)
    p.rset()
    p.quit()


def poplib_apop():
    p = poplib.POP3("127.0.0.1", pop3.port)
    p.apop("user", "secret")
    p.stat()
    p.uidl(1)
    p.list(2)
    p.retr(3)
    p.quit()


pop3_seed("poplib-user", poplib_user)
pop3_seed("poplib-apop", poplib_apop, mode=0x23)
pop3_seed("curl-list", ["curl", "-s", "pop3://user:pass@127.0.0.1:%s/" % pp])
pop3_seed("curl-retr", ["curl", "-s", "pop3://user:pass@127.0.0.1:%s/2" % pp])
pop3_seed("curl-top", ["curl", "-s", "-X", "TOP 1 0",
                       "pop3://user:pass@127.0.0.1:%s/" % pp], mode=5)
mpoprc = os.path.join(TMP, "mpoprc")
with open(mpoprc, "w") as f:
    f.write("account default\nhost 127.0.0.1\nport %s\nuser u\npassword p\n"
            "auth user\ntls off\nkeep on\ndelivery mbox %s/mbox\n"
            % (pp, TMP))
os.chmod(mpoprc, 0o600)
pop3_seed("mpop-keep", ["mpop", "-C", mpoprc, "-q"])
fmrc = os.path.join(TMP, "fetchmailrc")
with open(fmrc, "w") as f:
    f.write("poll 127.0.0.1 port %s protocol pop3 user u password p "
            "keep mda \"cat >/dev/null\"\n" % pp)
os.chmod(fmrc, 0o600)
pop3_seed("fetchmail-keep", ["fetchmail", "-f", fmrc, "--nosslcertck",
                             "--pidfile", os.path.join(TMP, "fm.pid")])
# Thunderbird's order (CAPA, AUTH PLAIN without an initial response, then
# the transaction) and Outlook's bare UIDL, written by hand.
save("fuzz-pop3", "thunderbird",
     b"CAPA\r\nAUTH PLAIN\r\nAHVzZXIAcGFzcw==\r\nSTAT\r\nLIST\r\nUIDL\r\n"
     b"TOP 1 0\r\nRETR 1\r\nNOOP\r\nDELE 1\r\nQUIT\r\n")
save("fuzz-pop3", "outlook",
     b"USER user\r\nPASS pass\r\nSTAT\r\nUIDL\r\nLIST\r\nRETR 2\r\nQUIT\r\n",
     mode=0x13)
save("fuzz-pop3", "auth-login-cram",
     b"AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nAUTH CRAM-MD5\r\n"
     b"dXNlciAwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==\r\nAUTH X\r\n"
     b"AUTH PLAIN *\r\nLIST 0\r\nLIST 99\r\nRETR -1\r\nTOP 1 -5\r\n"
     b"DELE 1\r\nDELE 1\r\nRETR 1\r\nRSET\r\nQUIT\r\n")
save("fuzz-pop3", "no-login", b"STAT\r\nLIST\r\nRETR 3\r\nDELE 2\r\n", mode=0x91)

shutil.rmtree(TMP, ignore_errors=True)
