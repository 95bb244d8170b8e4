#!/usr/bin/env bats
# Round trips: what smtp-session accepts, pop3-session hands out byte for
# byte, apart from the trace fields smtp-session puts on top.

load helpers

teardown() {
	listen_stop
	if [ -n "${SMTP_PID:-}" ]; then
		kill "$SMTP_PID" 2>/dev/null || true
		wait "$SMTP_PID" 2>/dev/null || true
	fi
}

# Python: smtp_pipe(msgs) delivers each message (CRLF bytes, not stuffed)
# through one piped smtp-session; pop3_pipe(n) retrieves n messages through
# one piped pop3-session and returns their un-stuffed bytes; check(sent,
# got) asserts got is sent below trace fields only.
PYLIB='
import os, re, subprocess, sys
WRAP = os.environ.get("BAREMAIL_WRAPPER", "").split()
T = os.environ.get("BAREMAIL_TIMEOUT", "30")
def smtp_pipe(msgs):
    data = b"EHLO client.example\r\n"
    for m in msgs:
        data += b"MAIL FROM:<cron@host.example>\r\nRCPT TO:<admin@example.org>\r\nDATA\r\n"
        data += re.sub(rb"(?m)^\.", b"..", m) + b".\r\n"
    data += b"QUIT\r\n"
    out = subprocess.run(["timeout", T] + WRAP + [os.environ["SMTP_SESSION"]], input=data,
        stdout=subprocess.PIPE, check=True).stdout
    assert out.count(b"\r\n250 2.0.0 ") == len(msgs), out[-500:]
def pop3_pipe(n):
    cmds = b"".join(b"RETR %d\r\n" % i for i in range(1, n + 1)) + b"QUIT\r\n"
    out = subprocess.run(["timeout", T] + WRAP + [os.environ["POP3_SESSION"]], input=cmds,
        stdout=subprocess.PIPE, check=True).stdout
    lines = out.split(b"\r\n")
    assert lines[0].startswith(b"+OK"), lines[0]
    msgs, i = [], 1
    for _ in range(n):
        assert lines[i].startswith(b"+OK"), lines[i]
        i += 1
        body = []
        while lines[i] != b".":
            body.append(lines[i][1:] if lines[i].startswith(b".") else lines[i])
            i += 1
        i += 1
        msgs.append(b"".join(l + b"\r\n" for l in body))
    assert lines[i].startswith(b"+OK"), lines[i]
    return msgs
TRACE = re.compile(rb"\A((Return-Path|X-Original-To|Received|Delivered-To): [^\r\n]*\r\n([ \t][^\r\n]*\r\n)*)+")
def check(sent, got):
    m = TRACE.match(got)
    assert m, got[:300]
    assert got[m.end():] == sent, (len(got) - m.end(), len(sent), got[m.end():m.end() + 300], sent[:300])
def sample(big=False):
    msgs = [
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@x>\r\nFrom: a@x\r\nSubject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\n. \r\nend\r\n",
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <2@x>\r\nFrom: a@x\r\nSubject: lone CR\r\n\r\nbefore\rafter\r\n\rstarts with CR\r\nmid\r\r\rline\r\n",
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <3@x>\r\nFrom: a@x\r\nSubject: =?UTF-8?B?w6l0w6k=?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xac\r\nlatin-1 \xe9\xe8\xff\x80\r\n",
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <4@x>\r\nFrom: a@x\r\nSubject: empty body\r\n\r\n",
    ]
    if big:
        import base64
        chunk = base64.encodebytes(os.urandom(3 * 1024 * 1024)).replace(b"\n", b"\r\n")
        body = b"".join(chunk + b".dot line %d \xc3\xa9\r\n" % k for k in range(5))
        msgs.append(b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <5@x>\r\nFrom: a@x\r\nSubject: 20 MB\r\n\r\n" + body)
        assert len(msgs[-1]) > 20 * 1000 * 1000
    return msgs
'
py() {
	timeout "$T" "$PY" -c "$PYLIB
$1" "${@:2}"
}

@test "round trip over pipes: dots, lone CRs, 8-bit and UTF-8 come back byte for byte" {
	py '
sent = sample()
smtp_pipe(sent)
got = pop3_pipe(len(sent))
for s, g in zip(sent, got):
    check(s, g)
'
	[ "$(count_messages)" = 4 ]
	# Stored with LF ends, as mail readers expect.
	run -1 grep -l $'\r$' "$MD"/cur/*
}

@test "round trip of a 20 MB message" {
	py '
sent = sample(big=True)[-1:]
smtp_pipe(sent)
got = pop3_pipe(1)
check(sent[0], got[0])
'
}

@test "round trip: LIST sizes are the octets RETR sends, from W= in smtp-session's names" {
	py '
smtp_pipe(sample())
out = subprocess.run(["timeout", T] + WRAP + [os.environ["POP3_SESSION"]],
    input=b"LIST\r\nQUIT\r\n", stdout=subprocess.PIPE, check=True).stdout
sizes = [int(l.split()[1]) for l in out.split(b"\r\n")[2:6]]
got = pop3_pipe(4)
octets = [len(g) for g in got]
assert sizes == octets, (sizes, octets)
'
	for f in "$MD"/cur/*; do [[ "$f" == *,W=* ]]; done
}

@test "round trip over sockets: smtplib in, poplib out, then deleted" {
	listen_inetd "$SMTP_SESSION"
	SMTP_PID=$LISTEN_PID SMTP_PORT=$PORT
	listen_inetd "$POP3_SESSION"
	py '
import smtplib, poplib
# smtplib turns a lone CR into CRLF itself: that message is for the pipes.
sent = [m for m in sample() if b"lone CR" not in m]
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    for m in sent:
        s.sendmail("cron@host.example", ["admin@example.org"], m)
p = poplib.POP3("127.0.0.1", int(sys.argv[2]), timeout=20)
p.user("u"); p.pass_("p")
assert p.stat()[0] == len(sent)
for i, m in enumerate(sent):
    resp, lines, octets = p.retr(i + 1)
    check(m, b"".join(l + b"\r\n" for l in lines))
    p.dele(i + 1)
p.quit()
' "$SMTP_PORT" "$PORT"
	[ "$(count_messages)" = 0 ]
}
