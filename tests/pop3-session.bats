#!/usr/bin/env bats
# pop3-session over a pipe and over a socket (systemd-socket-activate
# --inetd), by hand and with real clients: poplib, curl, mpop, fetchmail.

load helpers

teardown() {
	listen_stop
}

# p3 LINE...: a piped session; $output and ${lines[@]} without the CRs.
p3() {
	pop3 "$@"
	output=${output//$'\r'/}
	# valgrind's own complaints (it cannot unlink its vgdb FIFOs once the
	# program has dropped root) are not the program's output.
	output=$(printf '%s\n' "$output" | grep -v '^==[0-9]*== ')
	mapfile -t lines <<<"$output"
}

# The status word of every reply line ("+OK +OK -ERR"); the test messages
# never start a line with either.
codes() {
	printf '%s\n' "$output" | grep -oE '^(\+OK|-ERR)' | tr '\n' ' ' | sed 's/ $//'
}

# Python with a session driver: session(cmds) runs pop3-session over a
# pipe and returns [(status line, multi-line body or None)], the body
# un-dot-stuffed; crlf(bytes) is what RETR must send for a stored file.
PYLIB='
import os, re, socket, subprocess, sys, time
SESSION = os.environ["POP3_SESSION"]
WRAP = os.environ.get("BAREMAIL_WRAPPER", "").split()
T = os.environ.get("BAREMAIL_TIMEOUT", "30")
MD = os.environ["MD"]
def run(data):
    return subprocess.run(["timeout", T] + WRAP + [SESSION], input=data,
        stdout=subprocess.PIPE, check=True).stdout
def parse(out, cmds):
    pos = 0
    def line():
        nonlocal pos
        e = out.index(b"\r\n", pos)
        l = out[pos:e]
        pos = e + 2
        return l
    replies = []
    line()
    for c in cmds:
        words = c.split()
        verb = words[0].upper() if words else ""
        l = line()
        multi = verb in ("CAPA", "RETR", "TOP") or (verb in ("LIST", "UIDL") and len(words) == 1)
        if l.startswith(b"+OK") and multi:
            body = bytearray()
            while True:
                x = line()
                if x == b".":
                    break
                if x.startswith(b"."):
                    x = x[1:]
                body += x + b"\r\n"
            replies.append((l.decode(), bytes(body)))
        else:
            replies.append((l.decode(), None))
    assert pos == len(out), out[pos:pos + 200]
    return replies
def session(cmds):
    return parse(run(b"".join(c.encode() + b"\r\n" for c in cmds)), cmds)
def crlf(d):
    d = d.replace(b"\0", b"")
    d = re.sub(rb"(?<!\r)\n", b"\r\n", d)
    if d and not d.endswith(b"\n"):
        d += b"\r\n"
    if b"\r\n\r\n" not in d and not d.startswith(b"\r\n"):
        d += b"\r\n"
    return d
def files():
    r = {}
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(MD, sub)):
            r[n] = open(os.path.join(MD, sub, n), "rb").read()
    return r
'
py() {
	MD="$MD" timeout "$T" "$PY" -c "$PYLIB
$1" "${@:2}"
}

# Three messages: LF-stored with S= and W= (as BareMail writes them, in
# new/), CRLF-stored without sizes and one headers-only, in cur/.
seed3() {
	printf 'From: a@x\nSubject: one\n\nbody one\n.starts with a dot\n.\n' |
	    md_put new "1700000001.M1P1Q1.host,S=54,W=60"
	printf 'From: b@x\r\nSubject: two\r\n\r\nbody two\r\n' |
	    md_put cur "1700000002.M2P2Q2.host:2,"
	printf 'From: c@x\nSubject: three, no body' |
	    md_put cur "1700000003.M3P3Q3.host:2,F"
}

# ---- greeting, CAPA, authorization ----

@test "greeting is +OK with an APOP timestamp" {
	p3 "QUIT"
	[[ "${lines[0]}" =~ ^\+OK\ .*\ \<[0-9]+\.[0-9]+@[^\>]+\>$ ]]
	[ "$(codes)" = "+OK +OK" ]
}

@test "CAPA lists exactly the capabilities of the issue" {
	p3 "CAPA" "QUIT"
	[ "${lines[1]}" = "+OK capability list follows" ]
	[ "$(printf '%s\n' "${lines[@]:2:9}")" = "TOP
UIDL
USER
SASL PLAIN LOGIN CRAM-MD5
RESP-CODES
AUTH-RESP-CODE
PIPELINING
EXPIRE NEVER
LOGIN-DELAY 0" ]
	[[ "${lines[11]}" =~ ^IMPLEMENTATION\ BareMail-[0-9] ]]
	[ "${lines[12]}" = "." ]
	[ "${lines[13]}" = "+OK BareMail POP3 signing off" ]
}

@test "USER/PASS accepts any name and password, PASS alone too" {
	seed3
	p3 "USER nobody" "PASS wrong" "STAT" "QUIT"
	[ "$(codes)" = "+OK +OK +OK +OK +OK" ]
	[ "${lines[2]}" = "+OK logged in, 3 messages" ]
	p3 "PASS" "STAT" "QUIT"
	[ "$(codes)" = "+OK +OK +OK +OK" ]
}

@test "USER without a name is -ERR, and the session goes on" {
	p3 "USER" "USER x" "QUIT"
	[ "$(codes)" = "+OK -ERR +OK +OK" ]
	[ "${lines[1]}" = "-ERR missing user name" ]
}

@test "APOP accepts any digest and needs both arguments" {
	seed3
	p3 "APOP someone" "APOP someone c4c9334bac560ecc979e58001b3e22fb" "LIST 1" "QUIT"
	[ "$(codes)" = "+OK -ERR +OK +OK +OK" ]
	[ "${lines[3]}" = "+OK 1 60" ]
}

@test "AUTH PLAIN with an initial response" {
	p3 "AUTH PLAIN $(printf '\0user\0pass' | base64)" "STAT" "QUIT"
	[ "$(codes)" = "+OK +OK +OK +OK" ]
	[ "${lines[1]}" = "+OK logged in, 0 messages" ]
}

@test "AUTH PLAIN without initial response waits for '+ ' as Thunderbird expects" {
	p3 "AUTH PLAIN" "$(printf '\0user\0pass' | base64)" "STAT" "QUIT"
	[ "${lines[1]}" = "+ " ]
	[ "${lines[2]}" = "+OK logged in, 0 messages" ]
	[ "${lines[3]}" = "+OK 0 0" ]
}

@test "AUTH PLAIN: '*' cancels, '=' is an empty response, what is not base64 is accepted as SMTP does" {
	p3 "AUTH PLAIN" "*" "AUTH PLAIN =" "QUIT"
	[ "${lines[1]}" = "+ " ]
	[ "${lines[2]}" = "-ERR authentication cancelled" ]
	[ "${lines[3]}" = "+OK logged in, 0 messages" ]
	p3 "AUTH PLAIN" "not base64!" "STAT" "QUIT"
	[ "${lines[1]}" = "+ " ]
	[ "${lines[2]}" = "+OK logged in, 0 messages" ]
	[ "${lines[3]}" = "+OK 0 0" ]
}

@test "AUTH PLAIN: an over-long response is -ERR and the session goes on" {
	p3 "AUTH PLAIN" "$(head -c 20000 /dev/zero | tr '\0' A)" "STAT" "QUIT"
	[ "${lines[1]}" = "+ " ]
	[ "${lines[2]}" = "-ERR SASL response too long" ]
	[ "${lines[3]}" = "+OK 0 0" ]
}

@test "AUTH LOGIN prompts for user name and password" {
	p3 "AUTH LOGIN" "$(printf user | base64)" "$(printf pw | base64)" "QUIT"
	[ "${lines[1]}" = "+ VXNlcm5hbWU6" ]
	[ "${lines[2]}" = "+ UGFzc3dvcmQ6" ]
	[ "${lines[3]}" = "+OK logged in, 0 messages" ]
	p3 "AUTH LOGIN $(printf user | base64)" "$(printf pw | base64)" "QUIT"
	[ "${lines[1]}" = "+ UGFzc3dvcmQ6" ]
	[ "${lines[2]}" = "+OK logged in, 0 messages" ]
}

@test "AUTH CRAM-MD5 challenges with the greeting's timestamp and accepts any digest" {
	p3 "AUTH CRAM-MD5" "$(printf 'user 0123456789abcdef0123456789abcdef' | base64 -w0)" "QUIT"
	ts=$(printf '%s\n' "${lines[0]}" | grep -o '<.*>')
	[ "${lines[1]}" = "+ $(printf '%s' "$ts" | base64 -w0)" ]
	[ "${lines[2]}" = "+OK logged in, 0 messages" ]
}

@test "AUTH without a mechanism lists them; an unknown one is -ERR" {
	p3 "AUTH" "AUTH GSSAPI" "AUTH XOAUTH2 abc" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:1:5}")" = "+OK SASL mechanisms follow
PLAIN
LOGIN
CRAM-MD5
." ]
	[ "${lines[6]}" = "-ERR unsupported SASL mechanism" ]
	[ "${lines[7]}" = "-ERR unsupported SASL mechanism" ]
}

@test "a client that skips authorization is served as if logged in" {
	seed3
	p3 "STAT" "LIST" "RETR 2" "QUIT"
	[ "${lines[1]}" = "+OK 3 $((60 + 37 + 38))" ]
	[ "$(codes)" = "+OK +OK +OK +OK +OK" ]
}

@test "USER, PASS, APOP and AUTH are -ERR after login" {
	p3 "USER a" "PASS b" "USER a" "PASS b" "APOP a b" "AUTH PLAIN" "NOOP" "QUIT"
	[ "$(codes)" = "+OK +OK +OK -ERR -ERR -ERR -ERR +OK +OK" ]
	[ "${lines[3]}" = "-ERR USER not allowed in the TRANSACTION state" ]
}

@test "[pop3] exclusive: a second session gets -ERR [IN-USE]; the first is unaffected" {
	seed3
	conf_set pop3 exclusive yes
	mkfifo "$BATS_TEST_TMPDIR/in"
	timeout "$T" $WRAP "$POP3_SESSION" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out1" 3>&- &
	first=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
	crlf "USER a" "PASS b" >&5
	for _ in $(seq 100); do grep -q 'logged in' "$BATS_TEST_TMPDIR/out1" && break; sleep 0.05; done
	p3 "USER a" "PASS b" "STAT" "QUIT"
	[ "${lines[2]}" = "-ERR [IN-USE] maildir in use by another session, try again later" ]
	[ "${lines[3]}" = "-ERR [IN-USE] maildir in use by another session, try again later" ]
	crlf "DELE 1" "QUIT" >&5
	exec 5>&-
	wait "$first"
	tr -d '\r' < "$BATS_TEST_TMPDIR/out1" | grep -q '^+OK BareMail POP3 signing off (1 messages deleted)'
	[ "$(count_messages)" = 2 ]
	# Once the first is gone, the lock is free again.
	p3 "USER a" "PASS b" "QUIT"
	[ "$(codes)" = "+OK +OK +OK +OK" ]
}

# ---- STAT, LIST, sizes ----

@test "STAT and LIST give each message's size exactly as RETR sends it" {
	seed3
	printf 'X: lone\rCR\nNUL\0byte\n\nbody\n' | md_put cur "1700000004.M4P4Q4.host:2,S"
	printf 'X: 1\n\nno final newline' | md_put new "1700000005.M5P5Q5.host"
	py '
r = session(["STAT", "LIST"] + ["RETR %d" % i for i in range(1, 6)] + ["QUIT"])
sizes = [int(l.split()[1]) for l in r[1][1].decode().splitlines()]
bodies = [b for _, b in r[2:7]]
assert [len(b) for b in bodies] == sizes, (sizes, [len(b) for b in bodies])
assert r[0][0] == "+OK 5 %d" % sum(sizes), r[0]
for st, b in r[2:7]:
    assert st == "+OK %d octets" % len(b) or st == "+OK message follows", st
'
}

@test "W= in the name is the size: a login opens no message file" {
	# The number is deliberately not the file's real size, and the file
	# cannot be read by the session: LIST must still answer from the name.
	printf 'Subject: x\n\nhi\n' | md_put cur "1700000001.M1P1Q1.host,S=16,W=12345:2,S"
	chmod 000 "$MD/cur/"*
	p3 "STAT" "LIST" "LIST 1" "QUIT"
	[ "${lines[1]}" = "+OK 1 12345" ]
	[ "${lines[3]}" = "1 12345" ]
	[ "${lines[5]}" = "+OK 1 12345" ]
}

@test "LIST n and UIDL n answer for one message; LIST omits deleted ones" {
	seed3
	p3 "DELE 2" "LIST" "LIST 3" "UIDL" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:2:4}")" = "+OK scan listing follows
1 60
3 38
." ]
	[ "${lines[6]}" = "+OK 3 38" ]
	[ "$(printf '%s\n' "${lines[@]:7:4}")" = "+OK unique-id listing follows
1 1700000001.M1P1Q1.host,S=54,W=60
3 1700000003.M3P3Q3.host
." ]
}

# ---- RETR and TOP ----

@test "RETR sends CRLF lines, dot-stuffed, ending with a dot line" {
	seed3
	crlf "RETR 1" "QUIT" | timeout "$T" $WRAP "$POP3_SESSION" > "$BATS_TEST_TMPDIR/out"
	printf '+OK 60 octets\r\nFrom: a@x\r\nSubject: one\r\n\r\nbody one\r\n..starts with a dot\r\n..\r\n.\r\n' > "$BATS_TEST_TMPDIR/want"
	sed -n '2,9p' "$BATS_TEST_TMPDIR/out" > "$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "RETR of every kind of stored message is byte-exact apart from the client-trap fixes" {
	seed3
	printf 'A: 1\r\n\r\nCRLF stored\r\n.\r\n..two\r\n' | md_put cur "1700000004.M4.host:2,"
	printf 'A: 2\n\nNUL\0 inside\0\n' | md_put cur "1700000005.M5.host:2,"
	printf 'A: 3\nB: headers only\n' | md_put new "1700000006.M6.host"
	printf 'A: 4\n\n\xc3\xa9t\xc3\xa9 8-bit \xff\nlone\rCR\n' | md_put new "1700000007.M7.host"
	head -c 300000 /dev/urandom | base64 | sed 's/^/./' | { printf 'A: 5\n\n'; cat; } |
	    md_put new "1700000008.M8.host"
	py '
f = files()
names = sorted(f, key=lambda n: n.split(",")[0].split(":")[0])
r = session(["RETR %d" % i for i in range(1, 9)] + ["QUIT"])
for n, (st, body) in zip(names, r):
    assert st.startswith("+OK"), st
    assert body == crlf(f[n]), (n, body[:200], crlf(f[n])[:200])
    assert b"\0" not in body
'
}

@test "TOP n 0 sends the headers and the blank line; TOP n k adds k body lines" {
	printf 'H: 1\nH2: 2\n\nl1\n.l2\nl3\n' | md_put cur "1700000001.M1.host:2,"
	p3 "TOP 1 0" "TOP 1 2" "TOP 1 99999999999999999999999999" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:1:5}")" = "+OK message follows
H: 1
H2: 2

." ]
	[ "$(printf '%s\n' "${lines[@]:6:7}")" = "+OK message follows
H: 1
H2: 2

l1
..l2
." ]
	[ "$(printf '%s\n' "${lines[@]:13:8}")" = "+OK message follows
H: 1
H2: 2

l1
..l2
l3
." ]
}

@test "a message without a blank line is served with one, so TOP works" {
	printf 'Subject: only headers\nX: y' | md_put cur "1700000001.M1.host:2,"
	crlf "TOP 1 0" "RETR 1" "LIST 1" "QUIT" | timeout "$T" $WRAP "$POP3_SESSION" > "$BATS_TEST_TMPDIR/out"
	printf '+OK message follows\r\nSubject: only headers\r\nX: y\r\n\r\n.\r\n' > "$BATS_TEST_TMPDIR/want"
	sed -n '2,6p' "$BATS_TEST_TMPDIR/out" | cmp - "$BATS_TEST_TMPDIR/want"
	sed -n '7,11p' "$BATS_TEST_TMPDIR/out" | sed 's/^+OK.*/+OK message follows\r/' | cmp - "$BATS_TEST_TMPDIR/want"
	grep -q $'^+OK 1 31\r$' "$BATS_TEST_TMPDIR/out"
}

@test "NUL bytes in a stored message never reach the client" {
	printf 'S: x\0y\n\nab\0\0c\n' | md_put cur "1700000001.M1.host:2,"
	crlf "LIST 1" "RETR 1" "QUIT" | timeout "$T" $WRAP "$POP3_SESSION" > "$BATS_TEST_TMPDIR/out"
	[ "$(tr -cd '\0' < "$BATS_TEST_TMPDIR/out" | wc -c)" = 0 ]
	grep -q $'^+OK 1 14\r$' "$BATS_TEST_TMPDIR/out"
	grep -q $'^abc\r$' "$BATS_TEST_TMPDIR/out"
}

@test "RETR of a 20 MB message streams: memory stays small" {
	head -c 15000000 /dev/urandom | base64 -w 76 | { printf 'Subject: big\n\n'; cat; } |
	    md_put cur "1700000001.M1.host:2,"
	py '
r = session(["LIST 1", "RETR 1", "QUIT"])
want = crlf(open(os.path.join(MD, "cur", os.listdir(os.path.join(MD, "cur"))[0]), "rb").read())
assert r[1][1] == want
assert r[0][0] == "+OK 1 %d" % len(want)
'
	# Peak RSS of the session alone (KiB, by GNU time): a 20 MB RETR
	# costs no more than a 30-byte one (the baseline differs under ASan).
	printf 'Subject: small\n\nx\n' | md_put cur "1700000002.M2.host:2,"
	for n in 1 2; do
		crlf "RETR $n" "QUIT" | timeout "$T" /usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss$n" \
		    $WRAP "$POP3_SESSION" >/dev/null
	done
	echo "peak RSS $(cat "$BATS_TEST_TMPDIR/rss1") KiB, baseline $(cat "$BATS_TEST_TMPDIR/rss2") KiB"
	# Under valgrind the wrapper's own memory dominates: plain runs only.
	[ -n "$WRAP" ] || [ $(($(cat "$BATS_TEST_TMPDIR/rss1") - $(cat "$BATS_TEST_TMPDIR/rss2"))) -lt 1024 ]
}

@test "bad message numbers are -ERR and never reach the file system" {
	seed3
	p3 "RETR 0" "RETR 4" "RETR -1" "RETR +1" "RETR 1x" "RETR 0x1" "RETR 18446744073709551617" \
	    "RETR 99999999999999999999999999999999999999" "RETR" "TOP 1" "TOP x 1" "TOP 1 -1" \
	    "LIST 9" "UIDL 0" "DELE 4" "LIST 1 2" "RETR 1 2" "RETR 01" "QUIT"
	[ "$(codes)" = "+OK $(printf -- '-ERR %.0s' $(seq 17))+OK +OK" ]
	[ "${lines[1]}" = "-ERR no such message" ]
	[ "${lines[3]}" = "-ERR invalid message number" ]
	[ "${lines[9]}" = "-ERR missing message number" ]
	[ "${lines[10]}" = "-ERR TOP needs a message number and a line count" ]
	[ "${lines[12]}" = "-ERR invalid line count" ]
	[ "${lines[16]}" = "-ERR too many arguments" ]
}

@test "an unknown command, garbage, NUL bytes and a 100 KB line get -ERR and the session goes on" {
	seed3
	{
		crlf "XYZZY" "LIST 1"
		printf 'RE\0TR 1\r\n'
		head -c 100000 /dev/zero | tr '\0' A; printf '\r\n'
		printf '\x01\x02\xff garbage\r\n'
		printf '\r\n'
		crlf "list 1" "QUIT"
	} | timeout "$T" $WRAP "$POP3_SESSION" > "$BATS_TEST_TMPDIR/out"
	output=$(tr -d '\r' < "$BATS_TEST_TMPDIR/out")
	[ "$(codes)" = "+OK -ERR +OK -ERR -ERR -ERR -ERR +OK +OK" ]
	grep -qx -- '-ERR unknown command' <<<"$output"
	grep -qx -- '-ERR NUL byte in command' <<<"$output"
	grep -qx -- '-ERR line too long' <<<"$output"
	grep -qx -- '-ERR empty command' <<<"$output"
}

@test "20 errors in a row close the session; an +OK in between resets the count" {
	seed3
	args=()
	for _ in $(seq 19); do args+=(BOGUS); done
	p3 "${args[@]}" "NOOP" "${args[@]}" BOGUS "STAT" "QUIT"
	[ "$(codes | wc -w)" = $((1 + 19 + 1 + 20)) ]
	[ "${lines[-1]}" = "-ERR unknown command (20 errors in a row, closing)" ]
	[ "$status" = 0 ]
}

# ---- UIDL ----

@test "UIDL is stable across sessions, flag changes, deliveries; unique and RFC 1939 shaped" {
	seed3
	long=$(printf 'x%.0s' $(seq 120))
	printf 'S: long\n\nb\n' | md_put new "1700000004.M4P4Q4.$long"
	p3 "UIDL" "QUIT"
	first=$(printf '%s\n' "${lines[@]:2:4}")
	# Every UID: 1..70 characters in 0x21..0x7E, and all different.
	printf '%s\n' "${lines[@]:2:4}" | awk '{ print $2 }' > "$BATS_TEST_TMPDIR/uids"
	run -1 env LC_ALL=C grep -vE '^[!-~]{1,70}$' "$BATS_TEST_TMPDIR/uids"
	[ "$(sort -u "$BATS_TEST_TMPDIR/uids" | wc -l)" = 4 ]
	p3 "UIDL" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:2:4}")" = "$first" ]
	# A flag change by another program (a mail reader marks it replied).
	mv "$MD/cur/1700000002.M2P2Q2.host:2," "$MD/cur/1700000002.M2P2Q2.host:2,RS"
	# Retrieval sets S on the others at QUIT.
	p3 "RETR 1" "RETR 3" "RETR 4" "QUIT"
	ls "$MD/cur" | grep -q '^1700000001.*:2,S$'
	# An unrelated delivery comes last and changes nothing before it.
	printf 'S: new\n\nb\n' | md_put new "1700000009.M9P9Q9.host,S=10,W=13"
	p3 "UIDL" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:2:4}")" = "$first" ]
	[[ "${lines[6]}" =~ ^5\ 1700000009 ]]
}

@test "UIDLs and sizes of a maildir other programs wrote are those of the committed fixture" {
	# tests/fixtures/foreign-maildir holds names as Postfix, procmail,
	# Courier, qmail, Dovecot and BareMail write them; the .expected file
	# was written by pop3-session before the size cache existed (commit
	# "tests: a foreign maildir and its UIDL/LIST ..."). A client keeps
	# UIDLs across upgrades: they must never change.
	cp -a "$BAREMAIL_SOURCE/tests/fixtures/foreign-maildir/." "$MD/"
	mkdir -p "$MD/tmp"
	if [ "$(id -u)" = 0 ]; then chown -R "$TEST_USER" "$MD"; fi
	want=$(cat "$BAREMAIL_SOURCE/tests/fixtures/foreign-maildir.expected")
	# Twice: the second session may answer from what the first learned.
	for i in 1 2; do
		p3 "UIDL" "LIST" "STAT" "QUIT"
		[ "$(printf '%s\n' "${lines[@]:1}")" = "$want" ]
	done
}

@test "sizes of names without W= are learned once: the next session reads no message for LIST" {
	printf 'Subject: a\n\nPostfix\n' | md_put new "1700000001.V803I1M1.postfix.lan"
	printf 'Subject: b\n\nprocmail\n' | md_put cur "1700000002.77_1.procmail:2,S"
	printf 'Subject: c\n\nCourier\n' | md_put cur "1700000003.M1P2V3I4_0.courier,S=20:2,S"
	p3 "LIST" "QUIT"
	want=$(printf '%s\n' "${lines[@]:1:5}")
	[ "$want" = "$(printf '+OK scan listing follows\n1 23\n2 24\n3 23\n.')" ]
	# The cache: a dot file in the maildir's root, the session's own.
	[ -f "$MD/.baremail-sizes" ] && [ "$(stat -c %a "$MD/.baremail-sizes")" = 600 ]
	[ "$(find "$MD/tmp" -type f | wc -l)" = 0 ]
	# RETR checks each cached size against its file; all hold, so the
	# cache is left as it is (a rename would give it a new inode).
	ino=$(stat -c %i "$MD/.baremail-sizes")
	p3 "LIST" "RETR 1" "RETR 2" "RETR 3" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:1:5}")" = "$want" ]
	[ "$(stat -c %i "$MD/.baremail-sizes")" = "$ino" ]
	# Unreadable now: LIST can only answer from the cache.
	chmod 000 "$MD"/cur/*
	p3 "LIST" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:1:5}")" = "$want" ]
	# Without the cache, LIST has to read them (and cannot).
	rm "$MD/.baremail-sizes"
	p3 "LIST" "QUIT"
	[ "$(printf '%s\n' "${lines[@]:1:5}")" != "$want" ]
}

@test "a size from the cache that the file no longer has: RETR says -ERR and logs it, then the truth" {
	printf 'Subject: a\n\nbody\n' | md_put cur "1700000001.V803I1M1.postfix.lan:2,S"
	p3 "LIST" "QUIT"
	[ "${lines[2]}" = "1 20" ]
	# Another program rewrites the file under the same name.
	printf 'Subject: a\n\nbody\nmore\n' > "$MD/cur/1700000001.V803I1M1.postfix.lan:2,S"
	crlf "LIST" "RETR 1" "RETR 1" "LIST 1" "QUIT" |
	    timeout "$T" $WRAP "$POP3_SESSION" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	out=$(tr -d '\r' < "$BATS_TEST_TMPDIR/out")
	mapfile -t lines <<<"$out"
	[ "${lines[2]}" = "1 20" ]
	[[ "${lines[4]}" = "-ERR [SYS/TEMP] message 1 is not the size LIST said, try again" ]]
	grep -q 'has 26 octets, the size cache said 20' "$BATS_TEST_TMPDIR/err"
	# Retried, it goes out whole, with its true size, and LIST agrees.
	[ "${lines[5]}" = "+OK 26 octets" ]
	[ "${lines[11]}" = "+OK 1 26" ]
	# The next session has the new size from the cache.
	p3 "LIST 1" "QUIT"
	[ "${lines[1]}" = "+OK 1 26" ]
	# Larger than RETR's buffer (counted apart from the sending): the same.
	{ printf 'Subject: big\n\n'; head -c 40000 /dev/zero | tr '\0' 'x'; printf '\n'; } |
	    md_put cur "1700000002.V803I2M2.postfix.lan:2,S"
	p3 "LIST 2" "QUIT"
	[ "${lines[1]}" = "+OK 2 40018" ]
	printf 'more\n' >> "$MD/cur/1700000002.V803I2M2.postfix.lan:2,S"
	p3 "RETR 2" "LIST 2" "QUIT"
	[ "${lines[1]}" = "-ERR [SYS/TEMP] message 2 is not the size LIST said, try again" ]
	[ "${lines[2]}" = "+OK 2 40024" ]
}

@test "a size LIST could not read is checked by RETR: -ERR and logged, then the truth" {
	# Another program's name (no S=, no W=), unreadable when LIST sizes
	# it: LIST can only say 0, RETR (readable by then) sends 18 octets.
	printf 'Subject: a\n\nhi\n' | md_put cur "1700000001.V803I1M1.postfix.lan:2,"
	chmod 000 "$MD"/cur/*
	py '
p = subprocess.Popen(["timeout", T] + WRAP + [SESSION], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
f = p.stdout
f.readline()
p.stdin.write(b"LIST 1\r\n"); p.stdin.flush()
assert f.readline() == b"+OK 1 0\r\n"
for n in os.listdir(os.path.join(MD, "cur")):
    os.chmod(os.path.join(MD, "cur", n), 0o644)
p.stdin.write(b"RETR 1\r\nRETR 1\r\nLIST 1\r\nQUIT\r\n"); p.stdin.flush()
out = p.stdout.read()
p.wait()
assert out.startswith(b"-ERR [SYS/TEMP] message 1 is not the size LIST said, try again\r\n"
    b"+OK 18 octets\r\nSubject: a\r\n\r\nhi\r\n.\r\n+OK 1 18\r\n"), out
' 2>"$BATS_TEST_TMPDIR/err"
	grep -q 'has 18 octets, LIST said 0' "$BATS_TEST_TMPDIR/err"
	# What RETR counted is kept for the next session.
	p3 "LIST 1" "QUIT"
	[ "${lines[1]}" = "+OK 1 18" ]
}

@test "RLIMIT_FSIZE: a size cache that cannot be written is logged, the session ends normally" {
	# valgrind writes files of its own at start (its stand-ins for
	# /proc/self/cmdline and auxv), which a zero limit stops first.
	[ -z "$WRAP" ] || skip "the file size limit stops valgrind itself"
	printf 'Subject: a\n\nbody\n' | md_put cur "1700000001.V803I1M1.postfix.lan:2,S"
	# The log goes through a pipe: a file would be under the limit too.
	run bash -c 'set -o pipefail; { printf "LIST\r\nQUIT\r\n" |
	    timeout "$1" prlimit --fsize=0 $2 "$3" 2>&1 >&3 | cat >"$4"; } 3>&1' _ "$T" "$WRAP" "$POP3_SESSION" "$BATS_TEST_TMPDIR/err"
	[ "$status" = 0 ]
	[[ "$output" == *"+OK BareMail POP3 signing off"* ]]
	grep -q 'cannot write the size cache .baremail-sizes: File too large' "$BATS_TEST_TMPDIR/err"
	grep -q 'session end (quit)' "$BATS_TEST_TMPDIR/err"
	[ ! -e "$MD/.baremail-sizes" ]
	[ "$(find "$MD/tmp" -type f | wc -l)" = 0 ]
}

@test "a damaged size cache is ignored and rewritten; sizes stay right" {
	printf 'Subject: a\n\nbody\n' | md_put cur "1700000001.V803I1M1.postfix.lan:2,S"
	printf 'Subject: b\n\nbody\n' | md_put cur "1700000002.99_1.procmail:2,S"
	p3 "LIST" "QUIT"
	want=$(printf '%s\n' "${lines[@]:1}")
	good=$(od -An -tx1 "$MD/.baremail-sizes")
	for damage in 'truncate -s 30' 'truncate -s 0' 'dd if=/dev/urandom bs=40 count=1 conv=notrunc of=' 'printf x>>'; do
		if [[ $damage = *= ]] || [[ $damage = *'>>' ]]; then
			eval "$damage\"$MD/.baremail-sizes\"" 2>/dev/null
		else
			$damage "$MD/.baremail-sizes"
		fi
		p3 "LIST" "QUIT"
		[ "$(printf '%s\n' "${lines[@]:1}")" = "$want" ]
		[ "$(od -An -tx1 "$MD/.baremail-sizes")" = "$good" ]
	done
}

# ---- snapshot, DELE, QUIT, UPDATE ----

@test "login moves new/ to cur/ and numbers messages oldest first" {
	printf 'S: 3\n\n' | md_put cur "1700000300.M1.host:2,S"
	printf 'S: 1\n\n' | md_put new "1700000100.M1.host"
	printf 'S: 2\n\n' | md_put cur "1700000200.M1.host:2,"
	p3 "TOP 1 0" "TOP 2 0" "TOP 3 0" "QUIT"
	[ "$(printf '%s\n' "${lines[@]}" | grep '^S:' | tr '\n' ' ')" = "S: 1 S: 2 S: 3 " ]
	[ -z "$(ls "$MD/new")" ]
	[ -f "$MD/cur/1700000100.M1.host:2," ]
}

@test "mail delivered during a session shows up in the next one" {
	seed3
	py '
p = subprocess.Popen(["timeout", T] + WRAP + [SESSION], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
f = p.stdout
f.readline()
p.stdin.write(b"USER a\r\nPASS b\r\n"); p.stdin.flush()
f.readline(); assert f.readline().startswith(b"+OK logged in, 3 messages")
open(os.path.join(MD, "new", "1800000000.M1P1Q1.host"), "wb").write(b"S: late\n\nx\n")
p.stdin.write(b"STAT\r\nLIST 4\r\nQUIT\r\n"); p.stdin.flush()
assert f.readline().startswith(b"+OK 3 ")
assert f.readline() == b"-ERR no such message\r\n"
p.wait()
r = session(["STAT", "QUIT"])
assert r[0][0].startswith("+OK 4 "), r
'
}

@test "DELE marks; the file goes only at QUIT; RSET unmarks" {
	seed3
	p3 "DELE 1" "DELE 1" "RETR 1" "STAT" "RSET" "STAT" "DELE 3" "QUIT"
	[ "$(codes)" = "+OK +OK -ERR -ERR +OK +OK +OK +OK +OK" ]
	[ "${lines[2]}" = "-ERR message 1 already deleted" ]
	[ "${lines[4]}" = "+OK 2 75" ]
	[ "${lines[6]}" = "+OK 3 135" ]
	[ "${lines[8]}" = "+OK BareMail POP3 signing off (1 messages deleted)" ]
	[ "$(count_messages)" = 2 ]
	[ "$(ls "$MD/cur" | grep -c 1700000003)" = 0 ]
}

@test "EOF without QUIT deletes nothing and flags nothing" {
	seed3
	p3 "DELE 1" "DELE 2" "RETR 3"
	[ "$(codes)" = "+OK +OK +OK +OK" ]
	[ "$status" = 0 ]
	[ "$(count_messages)" = 3 ]
	[ -f "$MD/cur/1700000003.M3P3Q3.host:2,F" ]
}

@test "an idle timeout closes without UPDATE" {
	seed3
	conf_set pop3 timeout 1
	py '
p = subprocess.Popen(["timeout", T] + WRAP + [SESSION], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
assert p.stdout.readline().startswith(b"+OK")
p.stdin.write(b"DELE 1\r\nDELE 2\r\n"); p.stdin.flush()
assert p.stdout.readline().startswith(b"+OK message 1 deleted")
assert p.stdout.readline().startswith(b"+OK message 2 deleted")
time.sleep(3)
try:
    p.stdin.write(b"QUIT\r\n"); p.stdin.flush()
except BrokenPipeError:
    pass
assert p.stdout.read() == b""
assert p.wait() == 0
' 2>"$BATS_TEST_TMPDIR/err"
	[ "$(count_messages)" = 3 ]
	grep -q 'session end (timeout)' "$BATS_TEST_TMPDIR/err"
}

@test "RETR sets the S flag at QUIT; TOP does not" {
	seed3
	p3 "RETR 1" "TOP 2 1" "RETR 3" "QUIT"
	[ -f "$MD/cur/1700000001.M1P1Q1.host,S=54,W=60:2,S" ]
	[ -f "$MD/cur/1700000002.M2P2Q2.host:2," ]
	[ -f "$MD/cur/1700000003.M3P3Q3.host:2,FS" ]
}

@test "a message deleted by another session: RETR says so, QUIT skips it silently" {
	seed3
	py '
p = subprocess.Popen(["timeout", T] + WRAP + [SESSION], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
f = p.stdout
f.readline()
p.stdin.write(b"STAT\r\n"); p.stdin.flush()
assert f.readline().startswith(b"+OK 3 ")
r = session(["DELE 1", "DELE 2", "QUIT"])
assert r[2][0].startswith("+OK"), r
p.stdin.write(b"RETR 1\r\nDELE 2\r\nRETR 3\r\nDELE 3\r\nQUIT\r\n"); p.stdin.flush()
out = p.stdout.read().decode()
p.wait()
assert out.startswith("-ERR [SYS/TEMP] message 1 no longer exists (deleted by another session)\r\n"), out
assert "+OK message 2 deleted\r\n" in out
assert out.endswith("+OK BareMail POP3 signing off (1 messages deleted)\r\n"), out
assert files() == {}
'
}

@test "the session logs one summary line" {
	seed3
	crlf "USER alice" "PASS x" "RETR 1" "DELE 2" "QUIT" |
	    timeout "$T" $WRAP "$POP3_SESSION" >/dev/null 2>"$BATS_TEST_TMPDIR/err"
	[ "$(grep -c 'session end' "$BATS_TEST_TMPDIR/err")" = 1 ]
	grep -q 'session end (quit): 3 messages, 1 retrieved, 1 deleted, 60 octets sent' "$BATS_TEST_TMPDIR/err"
	grep -q 'alice' "$BATS_TEST_TMPDIR/err"
}

@test "10 000 pipelined RETRs are answered in order, fast" {
	mkdir -p "$MD/cur"
	py '
for i in range(2000):
    open(os.path.join(MD, "cur", "17%08d.M%dP1Q1.host:2," % (i, i)), "wb").write(b"Subject: %d\n\n%s\n" % (i, b"x" * 500))
'
	if [ "$(id -u)" = 0 ]; then chown -R "$TEST_USER" "$MD"; fi
	py '
cmds = ["RETR %d" % (i % 2000 + 1) for i in range(10000)] + ["QUIT"]
t = time.time()
r = session(cmds)
t = time.time() - t
for i, (st, body) in enumerate(r[:-1]):
    assert body.startswith(b"Subject: %d\r\n" % (i % 2000)), (i, body[:30])
print("10000 RETR in %.2f s" % t)
assert t < (60 if WRAP else 5), t
'
}

@test "the maildir cannot be opened: -ERR [SYS/TEMP] and EX_TEMPFAIL" {
	touch "$BATS_TEST_TMPDIR/file"
	run bash -c "printf 'QUIT\r\n' | timeout $T $WRAP $POP3_SESSION -m $BATS_TEST_TMPDIR/file/x"
	[ "$status" = 75 ]
	[[ "$output" == *"-ERR [SYS/TEMP] mailbox unavailable"* ]]
}

@test "a maildir that does not exist yet (nor its parents) is an empty mailbox" {
	fresh_top
	run bash -c 'printf "USER u\r\nPASS p\r\nSTAT\r\nLIST\r\nUIDL\r\nQUIT\r\n" |
	    timeout "$1" $2 "$3" -m "$4"' _ "$T" "$WRAP" "$POP3_SESSION" "$TOP/a/b/Maildir"
	[ "$status" -eq 0 ]
	mapfile -t lines <<<"${output//$'\r'/}"
	[ "${lines[0]:0:4}" = "+OK " ]
	[ "${lines[3]}" = "+OK 0 0" ]
	[ "${lines[4]}" = "+OK scan listing follows" ]
	[ "${lines[5]}" = "." ]
	[ "${lines[6]}" = "+OK unique-id listing follows" ]
	[ "${lines[7]}" = "." ]
	[ "${lines[8]}" = "+OK BareMail POP3 signing off (0 messages deleted)" ]
	# Made as smtp-session would make it, ready for the first delivery.
	assert_made_0700 "$TOP/a" "$TOP/a/b" "$TOP/a/b/Maildir" "$TOP/a/b/Maildir/new"
}

# ---- over a socket, with real clients ----

@test "socket: a Thunderbird-like dialogue (CAPA, AUTH PLAIN without initial response, ... QUIT)" {
	seed3
	listen_inetd "$POP3_SESSION"
	py '
import base64
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
f = s.makefile("rb")
def cmd(c, multi=False):
    if c is not None:
        s.sendall(c.encode() + b"\r\n")
    l = f.readline()
    body = []
    if multi and l.startswith(b"+OK"):
        while True:
            x = f.readline()
            if x == b".\r\n":
                break
            body.append(x)
    return l, body
assert cmd(None)[0].startswith(b"+OK")
l, caps = cmd("CAPA", True)
assert b"SASL PLAIN LOGIN CRAM-MD5\r\n" in caps and b"UIDL\r\n" in caps and b"TOP\r\n" in caps
assert cmd("AUTH PLAIN")[0] == b"+ \r\n"
assert cmd(base64.b64encode(b"\0tb@example\0secret").decode())[0].startswith(b"+OK")
assert cmd("STAT")[0] == b"+OK 3 135\r\n"
assert cmd("LIST", True)[1] == [b"1 60\r\n", b"2 37\r\n", b"3 38\r\n"]
uids = cmd("UIDL", True)[1]
assert len(uids) == 3
l, top = cmd("TOP 1 0", True)
assert top == [b"From: a@x\r\n", b"Subject: one\r\n", b"\r\n"], top
l, msg = cmd("RETR 1", True)
assert sum(len(x) for x in msg) == 60 + 2, msg
assert cmd("DELE 1")[0].startswith(b"+OK")
assert cmd("NOOP")[0].startswith(b"+OK")
l, top = cmd("TOP 2 20", True)
assert top[-1] == b"body two\r\n"
assert cmd("NOOP")[0].startswith(b"+OK")
assert cmd("QUIT")[0].startswith(b"+OK")
assert f.read() == b""
' "$PORT"
	[ "$(count_messages)" = 2 ]
}

@test "socket: Python poplib user/pass, apop, capa, top, uidl, retr, dele" {
	seed3
	listen_inetd "$POP3_SESSION"
	py '
import poplib
port = int(sys.argv[1])
p = poplib.POP3("127.0.0.1", port, timeout=20)
caps = p.capa()
assert "TOP" in caps and "UIDL" in caps and caps["SASL"] == ["PLAIN", "LOGIN", "CRAM-MD5"], caps
assert caps["IMPLEMENTATION"][0].startswith("BareMail"), caps
p.user("someone"); p.pass_("anything")
assert p.stat() == (3, 135)
resp, uids, _ = p.uidl()
assert [u.split()[0] for u in uids] == [b"1", b"2", b"3"]
resp, lines, octets = p.top(1, 1)
assert lines == [b"From: a@x", b"Subject: one", b"", b"body one"], lines
resp, lines, octets = p.retr(1)
assert lines[-2:] == [b".starts with a dot", b"."], lines
p.dele(2)
p.quit()
f = files()
assert len(f) == 2 and any(n.endswith(":2,S") and n.startswith("1700000001") for n in f), f
p = poplib.POP3("127.0.0.1", port, timeout=20)
p.apop("someone", "secret")
assert p.uidl(1).split()[2] == uids[0].split()[1]
assert p.stat()[0] == 2
p.quit()
' "$PORT"
}

@test "socket: curl pop3:// lists, retrieves and sends -X commands" {
	seed3
	listen_inetd "$POP3_SESSION"
	url="pop3://127.0.0.1:$PORT"
	run timeout "$T" curl -sS -u any:thing "$url/"
	[ "$status" = 0 ]
	[ "$(printf '%s' "$output" | tr -d '\r')" = "1 60
2 37
3 38" ]
	timeout "$T" curl -sS -u any:thing "$url/2" > "$BATS_TEST_TMPDIR/got"
	printf 'From: b@x\r\nSubject: two\r\n\r\nbody two\r\n' | cmp - "$BATS_TEST_TMPDIR/got"
	run timeout "$T" curl -sS -u any:thing "$url/" -X UIDL
	[[ "$output" == *"1 1700000001.M1P1Q1.host,S=54,W=60"* ]]
	run timeout "$T" curl -sS -u any:thing "$url/1" -X DELE -I
	[ "$status" = 0 ]
	[ "$(count_messages)" = 2 ]
}

@test "socket: mpop keeps mail, then deletes it, delivering byte for byte" {
	seed3
	listen_inetd "$POP3_SESSION"
	out="$BATS_TEST_TMPDIR/out"
	mkdir -p "$out/tmp" "$out/new" "$out/cur"
	cat > "$BATS_TEST_TMPDIR/mpoprc" <<-EOF
	account test
	host 127.0.0.1
	port $PORT
	user someone
	password whatever
	auth user
	tls off
	uidls_file $BATS_TEST_TMPDIR/uidls
	delivery maildir $out
	EOF
	chmod 600 "$BATS_TEST_TMPDIR/mpoprc"
	cp -r "$MD" "$BATS_TEST_TMPDIR/before"
	run timeout "$T" mpop -C "$BATS_TEST_TMPDIR/mpoprc" --keep=on -q test
	echo "$output"
	[ "$status" = 0 ]
	[ "$(ls "$out/new" | wc -l)" = 3 ]
	[ "$(count_messages)" = 3 ]
	# Kept mail is not fetched twice: mpop remembers the UIDs.
	run timeout "$T" mpop -C "$BATS_TEST_TMPDIR/mpoprc" --keep=on -q test
	echo "$output"
	[ "$status" = 0 ]
	[ "$(ls "$out/new" | wc -l)" = 3 ]
	# Deleting: mpop sends DELE for what it already has, and QUIT.
	run timeout "$T" mpop -C "$BATS_TEST_TMPDIR/mpoprc" --keep=off -q test
	echo "$output"
	[ "$status" = 0 ]
	[ "$(count_messages)" = 0 ]
	[ "$(ls "$out/new" | wc -l)" = 3 ]
	# What arrived is what was stored (in the CRLF view, written back with
	# LF ends), after the Received: field mpop adds.
	py '
import glob
want = sorted(crlf(open(f, "rb").read()).replace(b"\r\n", b"\n")
    for f in glob.glob(sys.argv[1] + "/*/*"))
got = []
for f in glob.glob(sys.argv[2] + "/new/*"):
    d = open(f, "rb").read()
    assert d.startswith(b"Received: "), d[:100]
    d = re.sub(rb"\AReceived: [^\n]*\n([ \t][^\n]*\n)*", b"", d)
    got.append(d)
assert sorted(got) == want, (sorted(got), want)
' "$BATS_TEST_TMPDIR/before" "$out"
}

@test "socket: fetchmail delivers through an MDA into a second maildir, byte for byte" {
	seed3
	printf 'A: 1\n\n.dot\n..two dots\n\xc3\xa9\n' | md_put new "1700000004.M4.host"
	listen_inetd "$POP3_SESSION"
	dest="$BATS_TEST_TMPDIR/fetched"
	mkdir -p "$dest"
	cat > "$BATS_TEST_TMPDIR/fetchmailrc" <<-EOF
	poll 127.0.0.1 port $PORT protocol pop3 uidl
	    user "someone" password "x" is root here
	    mda "/bin/sh -c 'cat > $dest/\$\$'"
	    no rewrite keep
	EOF
	chmod 600 "$BATS_TEST_TMPDIR/fetchmailrc"
	cp -r "$MD" "$BATS_TEST_TMPDIR/before"
	run timeout "$T" fetchmail -f "$BATS_TEST_TMPDIR/fetchmailrc" -i "$BATS_TEST_TMPDIR/fetchids" \
	    --invisible --nosslcertck --nosyslog -s --pidfile "$BATS_TEST_TMPDIR/fm.pid"
	echo "$output"
	[ "$status" = 0 ]
	[ "$(ls "$dest" | wc -l)" = 4 ]
	# fetchmail hands the MDA LF lines: the stored files come back intact.
	for f in "$BATS_TEST_TMPDIR"/before/new/* "$BATS_TEST_TMPDIR"/before/cur/*; do
		want=$(py 'sys.stdout.buffer.write(crlf(open(sys.argv[1], "rb").read()).replace(b"\r\n", b"\n"))' "$f" | md5sum)
		found=no
		for g in "$dest"/*; do
			if [ "$(md5sum < "$g")" = "$want" ]; then found=yes; fi
		done
		[ "$found" = yes ] || { echo "not fetched intact: $f"; return 1; }
	done
	[ "$(count_messages)" = 4 ]
}

@test "socket: two sessions at once, one deleting while the other retrieves" {
	for i in $(seq 1 50); do
		printf 'Subject: %d\n\n%s\n' "$i" "$(head -c 1000 /dev/zero | tr '\0' x)" |
		    md_put cur "17000000$(printf %02d "$i").M$i.host:2,"
	done
	listen_inetd "$POP3_SESSION"
	py '
import poplib, threading
port = int(sys.argv[1])
reader = poplib.POP3("127.0.0.1", port, timeout=20)
reader.user("phone"); reader.pass_("x")
deleter = poplib.POP3("127.0.0.1", port, timeout=20)
deleter.user("desktop"); deleter.pass_("x")
assert reader.stat()[0] == 50 and deleter.stat()[0] == 50
got, errs = [], []
def read_all():
    for i in range(1, 51):
        try:
            got.append(reader.retr(i)[1])
        except poplib.error_proto as e:
            errs.append(str(e))
t = threading.Thread(target=read_all)
t.start()
for i in range(1, 51):
    deleter.dele(i)
deleter.quit()
t.join()
assert len(got) + len(errs) == 50
for e in errs:
    assert "[SYS/TEMP]" in e and "no longer exists" in e, e
for l in got:
    assert l[0].startswith(b"Subject: ") and l[2] == b"x" * 1000
reader.quit()
assert files() == {}
' "$PORT"
}

@test "socket: TCP_NODELAY is set on the connection" {
	seed3
	# Traced by strace, not under the valgrind wrapper (it cannot host strace).
	WRAP= listen_inetd strace -o "$BATS_TEST_TMPDIR/strace" -e trace=setsockopt "$POP3_SESSION"
	py '
import poplib
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
p.user("a"); p.pass_("b")
assert p.stat()[0] == 3
p.quit()
' "$PORT"
	listen_stop
	grep -qE '^setsockopt\(1, (SOL_TCP|IPPROTO_TCP), TCP_NODELAY, \[1\], 4\) = 0' "$BATS_TEST_TMPDIR/strace"
}
