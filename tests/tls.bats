#!/usr/bin/env bats
# TLS: STARTTLS (587), implicit TLS (465), STLS (110) and implicit TLS
# (995) through systemd-socket-activate, with real clients at their
# default TLS settings, certificate verification on.  setup_file makes the
# certificate with baremail-tls (its names include localhost and
# 127.0.0.1) and trusts its CA for the length of this file.

bats_require_minimum_version 1.5.0
load helpers

# The names the certificate is for, and where clients connect.
HOST=127.0.0.1

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	local d="$BATS_FILE_TMPDIR/pki"
	mkdir -p "$d"
	# The product's own certificate and its one trust step, as a user
	# takes them: baremail-tls create, then baremail-tls trust.
	: > "$BATS_FILE_TMPDIR/empty.conf"
	export TLS_ARGS="-c $BATS_FILE_TMPDIR/empty.conf -d $d -o root"
	# shellcheck disable=SC2086
	timeout 60 "$BAREMAIL_TLS" $TLS_ARGS create >/dev/null
	# shellcheck disable=SC2086
	timeout 60 "$BAREMAIL_TLS" $TLS_ARGS trust >/dev/null
	export TLS_TRUSTED=1
}

teardown_file() {
	if [ -n "${TLS_TRUSTED:-}" ]; then
		# shellcheck disable=SC2086
		timeout 60 "$BAREMAIL_TLS" $TLS_ARGS untrust >/dev/null
	fi
}

setup() {
	[ "$(id -u)" = 0 ] || skip "installs a CA in the system store: needs root"
	baremail_setup
	TLS_DIR="$BATS_TEST_TMPDIR/tls"
	mkdir -p "$TLS_DIR"
	cp "$BATS_FILE_TMPDIR/pki/server.crt" "$BATS_FILE_TMPDIR/pki/server.key" "$TLS_DIR/"
	# As installed: the key readable by the service account only.
	chown "$TEST_USER" "$TLS_DIR/server.key"
	chmod 600 "$TLS_DIR/server.key"
	chmod 644 "$TLS_DIR/server.crt"
	conf_set tls certificate "$TLS_DIR/server.crt"
	conf_set tls key "$TLS_DIR/server.key"
	LISTENERS=()
}

teardown() {
	local p
	for p in "${LISTENERS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# serve VAR NAME PROGRAM ARG...: serves PROGRAM on a free port, put in
# $VAR; its log goes to $BATS_TEST_TMPDIR/NAME.log.
serve() {
	LISTEN_LOG="$BATS_TEST_TMPDIR/$2.log" listen_inetd "${@:3}"
	LISTENERS+=("$LISTEN_PID")
	LISTEN_PID=
	printf -v "$1" %s "$PORT"
}

# Python with ssl and what the tests share: ctx() is the default,
# verifying context of Home Assistant, poplib users and the like.
PYLIB='
import os, poplib, smtplib, socket, ssl, sys, time
HOST = "127.0.0.1"
TO = float(os.environ["T"])   # a wait for the server (long under valgrind)
def ctx():
    return ssl.create_default_context()
MSG = b"Subject: tls\r\n\r\nover TLS\r\n"
'
py() {
	T="$T" timeout $((T * 3)) "$PY" -c "$PYLIB
$1" "${@:2}"
}

# wait_for_lines N PATTERN FILE: until FILE holds N lines matching PATTERN.
wait_for_lines() {
	local i
	for i in $(seq $((T * 10))); do
		[ "$(grep -c "$2" "$3")" -ge "$1" ] && break
		sleep 0.1
	done
	[ "$(grep -c "$2" "$3")" = "$1" ]
}

# The messages stored, and nothing left in tmp/.
stored_ok() {
	[ "$(count_messages)" = "$1" ]
	[ "$(count_tmp)" = 0 ]
}

# ---- Listeners and what they offer ----

@test "--tls=starttls: EHLO offers STARTTLS, after TLS it does not; --tls=off and the default do not" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	serve P25 mta "$SMTP_SESSION"
	serve P25off off "$SMTP_SESSION" --tls=off
	py '
for port, want in ((int(sys.argv[1]), True), (int(sys.argv[2]), False), (int(sys.argv[3]), False)):
    with smtplib.SMTP(HOST, port, timeout=TO) as s:
        s.ehlo()
        assert s.has_extn("starttls") == want, (port, s.esmtp_features)
        if want:
            s.starttls(context=ctx())
            s.ehlo()
            assert not s.has_extn("starttls"), s.esmtp_features
            assert s.has_extn("auth"), s.esmtp_features
        else:
            code, msg = s.docmd("STARTTLS")
            assert code == 502, (code, msg)
' "$P587" "$P25" "$P25off"
}

@test "--tls=starttls: CAPA lists STLS before TLS only, USER/PASS work both ways" {
	serve P110 pop "$POP3_SESSION" --tls=starttls
	serve P2110 plain "$POP3_SESSION"
	py '
p = poplib.POP3(HOST, int(sys.argv[1]), timeout=TO)
assert "STLS" in p.capa(), p.capa()
p.stls(context=ctx())
assert "STLS" not in p.capa(), p.capa()
p.user("any"); p.pass_("any")
assert p.stat()[0] == 0
p.quit()
# Plain text keeps working on the same listener.
p = poplib.POP3(HOST, int(sys.argv[1]), timeout=TO)
p.user("any"); p.pass_("any"); p.quit()
p = poplib.POP3(HOST, int(sys.argv[2]), timeout=TO)
assert "STLS" not in p.capa(), p.capa()
try:
    p._shortcmd("STLS")
    raise SystemExit("STLS accepted on a plain listener")
except poplib.error_proto as e:
    assert b"not offered" in e.args[0], e
p.quit()
' "$P110" "$P2110"
	grep -q 'STLS: TLSv1\.[23], ' "$BATS_TEST_TMPDIR/pop.log"
}

@test "usage: a bad --tls value exits 64 and names the values" {
	# stderr apart from stdout, or it would count as the connection.
	run bash -c 'timeout "$1" "$2" --tls=maybe 2>&1 >/dev/null' _ "$T" "$SMTP_SESSION"
	[ "$status" = 64 ]
	[[ "$output" == *'"maybe" is not off, starttls or implicit'* ]]
	run timeout "$T" "$POP3_SESSION" --tls
	[ "$status" = 64 ]
}

# ---- A plain session never loads the TLS library ----

@test "maps: a plain session maps no libssl or libcrypto, a TLS session does" {
	serve P smtp "$SMTP_SESSION" --tls=starttls
	py '
import re
log = sys.argv[2]
def maps():
    for _ in range(100):
        pids = re.findall(r"as PID (\d+)", open(log).read())
        if pids:
            break
        time.sleep(0.05)
    return open("/proc/%s/maps" % pids[-1]).read()
with smtplib.SMTP(HOST, int(sys.argv[1]), timeout=TO) as s:
    s.ehlo()
    assert s.has_extn("starttls")
    m = maps()
    assert "smtp-session" in m, m
    assert "libssl" not in m and "libcrypto" not in m, m
    s.starttls(context=ctx())
    s.ehlo()
    m = maps()
    assert "libssl.so.3" in m and "libcrypto.so.3" in m, m
' "$P" "$BATS_TEST_TMPDIR/smtp.log"
}

# ---- SMTP clients at their defaults ----

@test "curl --ssl-reqd smtp:// (STARTTLS) and smtps:// (implicit), with a login" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	printf 'Subject: curl starttls\r\n\r\nbody\r\n' |
	    timeout "$T" curl -sS --ssl-reqd "smtp://$HOST:$P587" -u any:any \
	    --mail-from a@x --mail-rcpt b@y -T -
	printf 'Subject: curl smtps\r\n\r\nbody\r\n' |
	    timeout "$T" curl -sS "smtps://$HOST:$P465" -u any:any \
	    --mail-from a@x --mail-rcpt b@y -T -
	stored_ok 2
	[ "$(grep -l '^	by test.example (BareMail) with ESMTPSA$' "$MD"/new/* | wc -l)" = 2 ]
	[ "$(grep -lE '^	\(TLSv1\.[23], [A-Z0-9_-]+\) id ' "$MD"/new/* | wc -l)" = 2 ]
	# The summary line names the protocol and the cipher too.
	wait_for_lines 1 'session from 127\.0\.0\.1: 1 message(s), [0-9]* bytes, quit, TLSv1\.[23] ' "$BATS_TEST_TMPDIR/sub.log"
	wait_for_lines 1 'session from 127\.0\.0\.1: 1 message(s), [0-9]* bytes, quit, TLSv1\.[23] ' "$BATS_TEST_TMPDIR/subs.log"
}

@test "swaks --tls and --tlsc, verifying the certificate" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	run timeout "$T" swaks -s "$HOST" -p "$P587" --tls --tls-verify -f a@x -t b@y \
	    -a PLAIN -au someone -ap pw --body 'swaks starttls'
	echo "$output"
	[ "$status" = 0 ]
	run timeout "$T" swaks -s "$HOST" -p "$P465" --tlsc --tls-verify -f a@x -t b@y \
	    --body 'swaks implicit'
	echo "$output"
	[ "$status" = 0 ]
	stored_ok 2
	grep -l 'swaks starttls' "$MD"/new/* | xargs grep -q 'with ESMTPSA$'
	grep -l 'swaks implicit' "$MD"/new/* | xargs grep -q 'with ESMTPS$'
}

@test "msmtp with tls on and auth on, STARTTLS and implicit" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	cat > "$BATS_TEST_TMPDIR/msmtprc" <<-EOF
	defaults
	tls on
	auth on
	user someone
	password pw
	from a@x
	account sub
	host $HOST
	port $P587
	account subs
	host $HOST
	port $P465
	tls_starttls off
	EOF
	chmod 600 "$BATS_TEST_TMPDIR/msmtprc"
	printf 'Subject: msmtp 587\n\nvia msmtp\n' |
	    timeout "$T" msmtp -C "$BATS_TEST_TMPDIR/msmtprc" -a sub b@y
	printf 'Subject: msmtp 465\n\nvia msmtp\n' |
	    timeout "$T" msmtp -C "$BATS_TEST_TMPDIR/msmtprc" -a subs b@y
	stored_ok 2
	[ "$(grep -l 'with ESMTPSA$' "$MD"/new/* | wc -l)" = 2 ]
}

@test "smtplib starttls(default context) and SMTP_SSL(default context), with a login" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	py '
with smtplib.SMTP(HOST, int(sys.argv[1]), timeout=TO) as s:
    s.starttls(context=ctx())
    s.login("homeassistant", "secret")
    s.sendmail("ha@x", ["admin@y"], MSG)
with smtplib.SMTP_SSL(HOST, int(sys.argv[2]), timeout=TO, context=ctx()) as s:
    s.sendmail("ha@x", ["admin@y"], MSG)
' "$P587" "$P465"
	stored_ok 2
	grep -l 'with ESMTPSA$' "$MD"/new/* | grep -q .
	grep -l 'with ESMTPS$' "$MD"/new/* | grep -q .
}

@test "AUTH and MAIL keep working without TLS on a STARTTLS listener" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	py '
with smtplib.SMTP(HOST, int(sys.argv[1]), timeout=TO) as s:
    s.login("plain", "text")
    s.sendmail("a@x", ["b@y"], MSG)
' "$P587"
	stored_ok 1
	grep -q 'with ESMTPA id' "$(only_message)"
}

# ---- POP3 clients at their defaults ----

seed() {
	printf 'Subject: seeded\n\nfor the POP3 clients\n' | md_put new "1700000001.M1P1Q1.host,S=44,W=47"
}

@test "poplib POP3_SSL and stls() with the default context" {
	seed
	serve P110 pop "$POP3_SESSION" --tls=starttls
	serve P995 pops "$POP3_SESSION" --tls=implicit
	py '
p = poplib.POP3(HOST, int(sys.argv[1]), timeout=TO)
p.stls(context=ctx())
p.user("u"); p.pass_("p")
assert b"for the POP3 clients" in b"\n".join(p.retr(1)[1])
p.quit()
p = poplib.POP3_SSL(HOST, int(sys.argv[2]), timeout=TO, context=ctx())
assert "STLS" not in p.capa()
p.user("u"); p.pass_("p")
assert b"for the POP3 clients" in b"\n".join(p.retr(1)[1])
p.quit()
' "$P110" "$P995"
	wait_for_lines 1 'session end (quit): 1 messages, 1 retrieved, 0 deleted, [0-9]* octets sent, TLSv1\.[23] ' "$BATS_TEST_TMPDIR/pops.log"
}

@test "curl pop3s:// and --ssl-reqd pop3:// retrieve the message" {
	seed
	serve P110 pop "$POP3_SESSION" --tls=starttls
	serve P995 pops "$POP3_SESSION" --tls=implicit
	run timeout "$T" curl -sS -u any:any "pop3s://$HOST:$P995/1"
	[ "$status" = 0 ]
	[[ "$output" == *"for the POP3 clients"* ]]
	run timeout "$T" curl -sS --ssl-reqd -u any:any "pop3://$HOST:$P110/1"
	[ "$status" = 0 ]
	[[ "$output" == *"for the POP3 clients"* ]]
}

@test "mpop with tls on and auth on, STLS and implicit" {
	seed
	serve P110 pop "$POP3_SESSION" --tls=starttls
	serve P995 pops "$POP3_SESSION" --tls=implicit
	out="$BATS_TEST_TMPDIR/out"
	mkdir -p "$out/tmp" "$out/new" "$out/cur"
	cat > "$BATS_TEST_TMPDIR/mpoprc" <<-EOF
	defaults
	tls on
	auth on
	user someone
	password whatever
	delivery maildir $out
	uidls_file $BATS_TEST_TMPDIR/uidls-%U-%H
	account stls
	host $HOST
	port $P110
	account pops
	host $HOST
	port $P995
	tls_starttls off
	EOF
	chmod 600 "$BATS_TEST_TMPDIR/mpoprc"
	run timeout "$T" mpop -C "$BATS_TEST_TMPDIR/mpoprc" --keep=on -q stls
	echo "$output"
	[ "$status" = 0 ]
	rm -f "$BATS_TEST_TMPDIR"/uidls-*
	run timeout "$T" mpop -C "$BATS_TEST_TMPDIR/mpoprc" --keep=on -q pops
	echo "$output"
	[ "$status" = 0 ]
	[ "$(grep -l 'for the POP3 clients' "$out"/new/* | wc -l)" = 2 ]
	grep -q 'STLS: TLSv1' "$BATS_TEST_TMPDIR/pop.log"
	grep -q ': TLS: TLSv1' "$BATS_TEST_TMPDIR/pops.log"
}

# fetchmail 6.4 matches a certificate's DNS names only, not its IP
# addresses: it polls localhost.
@test "fetchmail: the plain poll line upgrades with STLS; ssl for implicit TLS" {
	seed
	serve P110 pop "$POP3_SESSION" --tls=starttls
	serve P995 pops "$POP3_SESSION" --tls=implicit
	dest="$BATS_TEST_TMPDIR/fetched"
	mkdir -p "$dest"
	cat > "$BATS_TEST_TMPDIR/fetchmailrc" <<-EOF
	poll localhost port $P110 protocol pop3 user "any" password "any" is root here
	    mda "/bin/sh -c 'cat > $dest/stls-\$\$'" keep
	poll localhost port $P995 protocol pop3 user "any" password "any" is root here ssl
	    mda "/bin/sh -c 'cat > $dest/ssl-\$\$'" keep
	EOF
	chmod 600 "$BATS_TEST_TMPDIR/fetchmailrc"
	run timeout "$T" fetchmail -f "$BATS_TEST_TMPDIR/fetchmailrc" -i "$BATS_TEST_TMPDIR/fetchids" \
	    --nosyslog --pidfile "$BATS_TEST_TMPDIR/fm.pid" -a
	echo "$output"
	[ "$status" = 0 ]
	grep -q 'for the POP3 clients' "$dest"/stls-*
	grep -q 'for the POP3 clients' "$dest"/ssl-*
	grep -q 'STLS: TLSv1' "$BATS_TEST_TMPDIR/pop.log"
}

@test "mutt with Debian's defaults reads pop:// (STLS) and pops://" {
	seed
	serve P110 pop "$POP3_SESSION" --tls=starttls
	serve P995 pops "$POP3_SESSION" --tls=implicit
	# mutt wants a terminal; it opens the mailbox, then the pushed key quits.
	# An unverified certificate would stop it at a prompt: a timeout.
	mkdir -p "$BATS_TEST_TMPDIR/Mail"
	for url in "pop://any@$HOST:$P110/" "pops://any@$HOST:$P995/"; do
		run timeout "$T" env HOME="$BATS_TEST_TMPDIR" TERM=vt100 script -qec \
		    "mutt -F /dev/null -e 'set pop_pass=any' -e 'push <quit>' -f $url" /dev/null
		echo "$output"
		[ "$status" = 0 ]
	done
	grep -q 'STLS: TLSv1' "$BATS_TEST_TMPDIR/pop.log"
	grep -qE 'login \([A-Z0-9/ -]+\) user=any' "$BATS_TEST_TMPDIR/pop.log"
	grep -q ': TLS: TLSv1' "$BATS_TEST_TMPDIR/pops.log"
	grep -qE 'login \([A-Z0-9/ -]+\) user=any' "$BATS_TEST_TMPDIR/pops.log"
}

# ---- Injection and misuse ----

@test "STARTTLS pipelined with RSET and MAIL: the plain-text commands are discarded, never run" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	py '
s = socket.create_connection((HOST, int(sys.argv[1])), timeout=TO)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline()
        lines.append(l)
        if l[3:4] == b" ":
            return lines
assert reply()[0].startswith(b"220 ")
s.sendall(b"EHLO x\r\n"); reply()
# One write: an attacker between client and server appends commands.
s.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x>\r\n")
r = reply()
assert r == [b"220 2.0.0 Ready to start TLS\r\n"], r
t = ctx().wrap_socket(s, server_hostname=HOST)
f = t.makefile("rb")
t.sendall(b"EHLO y\r\n")
r = reply()
assert r[0].startswith(b"250-"), r          # the EHLO, not RSET or MAIL
t.sendall(b"RCPT TO:<b@y>\r\n")
r = reply()
assert r[0].startswith(b"503 "), r          # no MAIL FROM survived
t.sendall(b"QUIT\r\n")
assert reply()[0].startswith(b"221 ")
' "$P587"
	grep -q 'discarded 26 plain-text bytes sent after STARTTLS' "$BATS_TEST_TMPDIR/sub.log"
	stored_ok 0
}

@test "STLS pipelined with USER: the plain-text command is discarded" {
	serve P110 pop "$POP3_SESSION" --tls=starttls
	py '
s = socket.create_connection((HOST, int(sys.argv[1])), timeout=TO)
f = s.makefile("rb")
assert f.readline().startswith(b"+OK ")
s.sendall(b"STLS\r\nUSER evil\r\n")
assert f.readline().startswith(b"+OK "), "STLS"
t = ctx().wrap_socket(s, server_hostname=HOST)
f = t.makefile("rb")
t.sendall(b"NOOP\r\n")
r = f.readline()
assert r.startswith(b"+OK "), r      # the NOOP, not "any password will do"
assert b"password" not in r, r
t.sendall(b"QUIT\r\n")
assert f.readline().startswith(b"+OK ")
' "$P110"
	grep -q 'discarded 11 plain-text bytes sent after STLS' "$BATS_TEST_TMPDIR/pop.log"
	run ! grep -q 'user=evil' "$BATS_TEST_TMPDIR/pop.log"
}

@test "STARTTLS twice, inside a transaction, with an argument: clear errors, the session goes on" {
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	py '
with smtplib.SMTP(HOST, int(sys.argv[1]), timeout=TO) as s:
    s.ehlo()
    s.mail("a@x")
    code, msg = s.docmd("STARTTLS")
    assert code == 503 and b"STARTTLS not allowed in state MAIL" in msg, (code, msg)
    s.rset()
    code, msg = s.docmd("STARTTLS", "now")
    assert code == 501, (code, msg)
    s.starttls(context=ctx())
    s.ehlo()
    code, msg = s.docmd("STARTTLS")
    assert code == 503 and b"TLS already active" in msg, (code, msg)
    s.sendmail("a@x", ["b@y"], MSG)
' "$P587"
	stored_ok 1
	grep -q 'with ESMTPS$' "$(only_message)"
}

@test "STLS twice and in TRANSACTION: -ERR, the session goes on" {
	seed
	serve P110 pop "$POP3_SESSION" --tls=starttls
	py '
p = poplib.POP3(HOST, int(sys.argv[1]), timeout=TO)
p.stls(context=ctx())
for cmd in ("STLS", "STLS x"):
    try:
        p._shortcmd(cmd)
        raise SystemExit(cmd + " accepted")
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR"), e
p.user("u"); p.pass_("p")
try:
    p._shortcmd("STLS")
    raise SystemExit("STLS accepted in TRANSACTION")
except poplib.error_proto as e:
    assert b"not allowed in the TRANSACTION state" in e.args[0], e
assert p.stat()[0] == 1
p.quit()
' "$P110"
}

# ---- Hostile clients ----

@test "garbage instead of a ClientHello: the session ends, logged, nothing stored" {
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	serve P995 pops "$POP3_SESSION" --tls=implicit
	py '
for port in (int(sys.argv[1]), int(sys.argv[2])):
    s = socket.create_connection((HOST, port), timeout=TO)
    s.sendall(b"EHLO plain.text.client\r\nMAIL FROM:<a@x>\r\n" + bytes(range(256)))
    got = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        got += d
    # At most a TLS alert record, never a greeting in plain text.
    assert b"220" not in got and b"+OK" not in got, got
' "$P465" "$P995"
	grep -q 'implicit TLS: handshake: ' "$BATS_TEST_TMPDIR/subs.log"
	grep -q 'implicit TLS: handshake: ' "$BATS_TEST_TMPDIR/pops.log"
	wait_for_lines 1 'Child [0-9]* died with code 0' "$BATS_TEST_TMPDIR/subs.log"
	run ! grep -qE 'died with code [1-9]|signal' "$BATS_TEST_TMPDIR/subs.log" "$BATS_TEST_TMPDIR/pops.log"
	stored_ok 0
}

@test "a stalled handshake times out (the session's timeout, when shorter than 30 s)" {
	conf_set smtp timeout 2
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	py '
for port, starttls in ((int(sys.argv[1]), False), (int(sys.argv[2]), True)):
    s = socket.create_connection((HOST, port), timeout=TO)
    if starttls:
        s.recv(4096)
        s.sendall(b"STARTTLS\r\n")
        assert s.recv(4096).startswith(b"220 2.0.0")
    # Half a ClientHello record header, then nothing.
    s.sendall(b"\x16\x03\x01")
    start = time.monotonic()
    while s.recv(4096):
        pass
    took = time.monotonic() - start
    assert 1 < took < TO, took
' "$P465" "$P587"
	grep -q 'implicit TLS: handshake: timed out' "$BATS_TEST_TMPDIR/subs.log"
	grep -q 'STARTTLS: handshake: timed out' "$BATS_TEST_TMPDIR/sub.log"
}

@test "a TLS alert or a hang-up in mid-DATA stores nothing, leaves nothing in tmp/" {
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	py '
import struct
for how in ("alert", "hangup", "rst"):
    s = smtplib.SMTP_SSL(HOST, int(sys.argv[1]), timeout=TO, context=ctx())
    s.ehlo()
    s.mail("a@x"); s.rcpt("b@y")
    code, _ = s.docmd("DATA")
    assert code == 354
    s.send(b"Subject: half\r\n\r\n" + b"x" * 100000 + b"\r\n")
    if how == "alert":
        # A record the server cannot accept: fatal, mid-DATA.
        socket.socket.sendall(s.sock, b"\x15\x03\x03\x00\x02\x02\x28")
        time.sleep(0.3)
        s.sock.close()
    elif how == "hangup":
        s.sock.shutdown(socket.SHUT_RDWR)
        s.sock.close()
    else:
        s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sock.close()
' "$P465"
	# The sessions end on their own time (slowly under valgrind).
	wait_for_lines 3 'session from 127.0.0.1: 0 message(s)' "$BATS_TEST_TMPDIR/subs.log"
	stored_ok 0
	grep -q 'TLS read: ' "$BATS_TEST_TMPDIR/subs.log"
	run ! grep -qE 'died with code [1-9]|signal' "$BATS_TEST_TMPDIR/subs.log"
}

# ---- No certificate ----

@test "no certificate: STARTTLS/STLS not offered, 454 and -ERR if sent, plain service goes on" {
	seed
	rm "$TLS_DIR/server.crt"
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	serve P110 pop "$POP3_SESSION" --tls=starttls
	py '
with smtplib.SMTP(HOST, int(sys.argv[1]), timeout=TO) as s:
    s.ehlo()
    assert not s.has_extn("starttls"), s.esmtp_features
    code, msg = s.docmd("STARTTLS")
    assert code == 454 and msg.startswith(b"4.7.0"), (code, msg)
    s.login("u", "p")
    s.sendmail("a@x", ["b@y"], MSG)
p = poplib.POP3(HOST, int(sys.argv[2]), timeout=TO)
assert "STLS" not in p.capa(), p.capa()
try:
    p._shortcmd("STLS")
    raise SystemExit("STLS accepted")
except poplib.error_proto as e:
    assert e.args[0].startswith(b"-ERR [SYS/TEMP] TLS not available"), e
p.user("u"); p.pass_("p")
assert p.stat()[0] == 2
p.quit()
' "$P587" "$P110"
	grep -q 'STARTTLS: no readable certificate' "$BATS_TEST_TMPDIR/sub.log"
	grep -q 'STLS: no readable certificate' "$BATS_TEST_TMPDIR/pop.log"
}

@test "an unreadable key: STARTTLS not offered, 454" {
	chown root "$TLS_DIR/server.key"
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	py '
with smtplib.SMTP(HOST, int(sys.argv[1]), timeout=TO) as s:
    s.ehlo()
    assert not s.has_extn("starttls"), s.esmtp_features
    code, msg = s.docmd("STARTTLS")
    assert code == 454, (code, msg)
    s.sendmail("a@x", ["b@y"], MSG)
' "$P587"
	stored_ok 1
}

@test "a key that does not match the certificate: 454 after the offer, logged" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TLS_DIR/server.key" 2>/dev/null
	chown "$TEST_USER" "$TLS_DIR/server.key"
	serve P587 sub "$SMTP_SESSION" --tls=starttls
	py '
with smtplib.SMTP(HOST, int(sys.argv[1]), timeout=TO) as s:
    s.ehlo()
    code, msg = s.docmd("STARTTLS")
    assert code == 454, (code, msg)
    s.sendmail("a@x", ["b@y"], MSG)
' "$P587"
	stored_ok 1
	grep -qE 'STARTTLS: key .*server.key: key values mismatch' "$BATS_TEST_TMPDIR/sub.log"
}

@test "no certificate: implicit TLS logs why and ends at once, no greeting; the listener goes on" {
	rm "$TLS_DIR/server.key"
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	serve P995 pops "$POP3_SESSION" --tls=implicit
	py '
for port in (int(sys.argv[1]), int(sys.argv[2])) * 2:
    s = socket.create_connection((HOST, port), timeout=TO)
    start = time.monotonic()
    assert s.recv(4096) == b""
    # At once: no wait for the client (a wrapper only slows the start).
    assert time.monotonic() - start < (5 if sys.argv[3] == "" else TO)
' "$P465" "$P995" "$WRAP"
	[ "$(grep -c 'implicit TLS: key .*server.key: .*; closing' "$BATS_TEST_TMPDIR/subs.log")" = 2 ]
	[ "$(grep -c 'implicit TLS: key .*server.key: .*; closing' "$BATS_TEST_TMPDIR/pops.log")" = 2 ]
	wait_for_lines 2 'died with code 78' "$BATS_TEST_TMPDIR/subs.log"
	run ! grep -q 'signal' "$BATS_TEST_TMPDIR/subs.log" "$BATS_TEST_TMPDIR/pops.log"
}

@test "a renewed certificate is used from the next connection on, without a restart" {
	serve P465 subs "$SMTP_SESSION" --tls=implicit
	py '
with smtplib.SMTP_SSL(HOST, int(sys.argv[1]), timeout=TO, context=ctx()) as s:
    s.noop()
' "$P465"
	# A self-signed replacement: the next connection must see it (and fail to verify).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.crt" -days 1 \
	    -subj "/CN=renewed" 2>/dev/null
	chown "$TEST_USER" "$TLS_DIR/server.key"
	py '
c = ssl.create_default_context()
c.check_hostname = False
c.verify_mode = ssl.CERT_NONE
with c.wrap_socket(socket.create_connection((HOST, int(sys.argv[1])), timeout=TO)) as t:
    der = t.getpeercert(binary_form=True)
want = ssl.PEM_cert_to_DER_cert(open(sys.argv[2]).read())
assert der == want
' "$P465" "$TLS_DIR/server.crt"
}
