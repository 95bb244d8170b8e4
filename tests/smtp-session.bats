#!/usr/bin/env bats
# smtp-session over a pipe and over a socket (systemd-socket-activate
# --inetd), by hand and with real clients: smtplib, curl, swaks, msmtp.

load helpers

teardown() {
	listen_stop
	if [ -n "${FULL_MNT:-}" ]; then umount "$FULL_MNT" 2>/dev/null || true; fi
}

# Not root: the full-disk test mounts its tmpfs in a user namespace.
if [ "$(id -u)" != 0 ]; then SUDO_NS="unshare -rm"; fi

# smtpb FORMAT: a piped session fed printf FORMAT (raw bytes: \r \n \0 ...).
smtpb() {
	run bash -c 'printf "$3" | timeout "$1" $2 "$4"' _ "$T" "$WRAP" "$1" \
	    "$SMTP_SESSION"
}

# The stored message with what changes from run to run masked: the
# values of generated Date:/Message-ID:, the Received: id and date.
stored() {
	local f
	f=$(only_message) || return 1
	sed -E -e 's/^(Date: )[A-Z][a-z]{2}, [0-9]+ [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$/\1DATE/' \
	    -e 's/^(Message-ID: <)[0-9.a-f]+@test\.example>$/\1ID@test.example>/' \
	    -e 's/ id [0-9]+\.M[0-9]+P[0-9]+R[0-9a-f]+Q[0-9]+\.[^ ;]+/ id NAME/' \
	    -e 's/(; |^\t)[A-Z][a-z]{2}, [0-9]+ [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$/\1DATE/' "$f"
}

# The body of the only message (after the first empty line).
body() {
	local f
	f=$(only_message) || return 1
	sed '1,/^$/d' "$f"
}

# One ordinary message: smtp_msg LINE... (the content lines, no final dot).
smtp_msg() {
	smtp "EHLO client.example" "MAIL FROM:<a@x.example>" \
	    "RCPT TO:<b@y.example>" "DATA" "$@" "." "QUIT"
}

# The last reply line (log lines on stderr are mixed into $output).
last_reply() {
	printf '%s\n' "$output" | tr -d '\r' | grep -E '^[0-9]{3}[ -]' | tail -1
}

# Every reply with a code in 2xx/4xx/5xx carries an enhanced status code
# (RFC 2034), except the greeting and the EHLO/HELO response.
all_enhanced() {
	printf '%s\n' "$output" | tr -d '\r' | grep -E '^[245][0-9][0-9] ' |
	    grep -vE '^220 test\.example ESMTP' |
	    grep -vE '^250 (HELP|test\.example)$' |
	    grep -vE '^[245][0-9][0-9] [245]\.[0-9]{1,3}\.[0-9]{1,3} ' && return 1
	return 0
}

# ---- greeting, EHLO, the small commands ----

@test "greeting is 220 with the host name, QUIT is 221, exit 0" {
	smtp "QUIT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = $'220 test.example ESMTP BareMail\r' ]
	[ "$(final_codes)" = "220 221" ]
	[[ "${lines[1]}" == "221 2.0.0 "* ]]
}

@test "EHLO advertises the extensions in order, AUTH LOGIN PLAIN CRAM-MD5, no STARTTLS" {
	smtp "EHLO client.example" "QUIT"
	want=$'250-test.example\r
250-PIPELINING\r
250-SIZE 52428800\r
250-8BITMIME\r
250-SMTPUTF8\r
250-ENHANCEDSTATUSCODES\r
250-CHUNKING\r
250-AUTH LOGIN PLAIN CRAM-MD5\r
250 HELP\r'
	[ "$(printf '%s\n' "$output" | sed -n '2,10p')" = "$want" ]
	[[ "${output,,}" != *starttls* ]]
}

@test "SIZE advertises max_message_size" {
	conf_set smtp max_message_size 1k
	smtp "EHLO c" "QUIT"
	grep -q $'^250-SIZE 1024\r$' <<<"$output"
}

@test "HELO is 250; EHLO and HELO without a name are 501" {
	smtp "HELO client" "EHLO" "HELO" "QUIT"
	[ "$(final_codes)" = "220 250 501 501 221" ]
}

@test "NOOP, RSET, VRFY (252), EXPN (502), HELP (214), unknown (500)" {
	smtp "NOOP" "RSET" "VRFY root" "EXPN staff" "HELP" "FROB" "VRFY" "QUIT"
	[ "$(final_codes)" = "220 250 250 252 502 214 500 501 221" ]
	all_enhanced
}

@test "every reply carries an enhanced status code" {
	smtp "EHLO c" "HELO c" "NOOP" "MAIL FROM:<a@x>" "MAIL FROM:<a@x>" \
	    "RCPT TO:<b@y>" "RCPT TO:" "DATA" "x" "." "RSET" "VRFY x" "EXPN x" \
	    "HELP" "BOGUS" "AUTH PLAIN AGEAYg==" "AUTH LOGIN" "BDAT x" "QUIT"
	[ "$(final_codes)" = "220 250 250 250 250 503 250 501 354 250 250 252 502 214 500 235 503 503 221" ]
	all_enhanced
}

@test "commands are case-insensitive and may end in a bare LF" {
	smtpb 'ehlo c\nmail from:<a@x>\nrcpt to:<b@y>\ndata\r\nhi\r\n.\r\nquit\n'
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(body)" = hi ]
}

# ---- order and syntax ----

@test "DATA before RCPT, RCPT before MAIL and a second MAIL are 503" {
	smtp "EHLO t" "DATA" "RCPT TO:<b@y>" "MAIL FROM:<a@x>" "DATA" \
	    "MAIL FROM:<a@x>" "QUIT"
	[ "$(final_codes)" = "220 250 503 503 250 503 503 221" ]
	[ "$(count_messages)" = 0 ]
}

@test "MAIL and RCPT without an address, or with garbage, are 501" {
	smtp "EHLO t" "MAIL" "MAIL TO:<a@x>" "MAIL FROM:<a@x" "MAIL FROM:<a@x>" \
	    "RCPT TO:<>" "RCPT TO:" "RCPT TO:<b@y>junk" "RCPT" "QUIT"
	[ "$(final_codes)" = "220 250 501 501 501 250 501 501 501 501 221" ]
}

@test "MAIL without HELO is accepted (forgiving)" {
	smtp "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" "hi" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 354 250 221" ]
	grep -q '^Received: from unknown (local)$' "$(only_message)"
}

@test "null sender, a space after the colon, no brackets and a source route are accepted" {
	smtp "EHLO t" "MAIL FROM:<>" "RCPT TO: <b@y>" "RCPT TO:c@z" \
	    "RCPT TO:<@r1.example,@r2.example:d@w>" "RCPT TO:<postmaster>" \
	    "DATA" "x" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 250 250 250 354 250 221" ]
	f=$(only_message)
	[ "$(sed -n 1p "$f")" = "Return-Path: <>" ]
	[ "$(sed -n 2p "$f")" = "X-Original-To: b@y, c@z, d@w, postmaster" ]
}

@test "a sender given without brackets becomes Return-Path <address>" {
	smtp "HELO t" "MAIL FROM: a@x.example" "RCPT TO:b@y" "DATA" "x" "." "QUIT"
	[ "$(sed -n 1p "$(only_message)")" = "Return-Path: <a@x.example>" ]
}

@test "more recipients than max_recipients get 452 4.5.3; the message still goes" {
	conf_set smtp max_recipients 3
	smtp "EHLO t" "MAIL FROM:<a@x>" "RCPT TO:<r1@y>" "RCPT TO:<r2@y>" \
	    "RCPT TO:<r3@y>" "RCPT TO:<r4@y>" "DATA" "x" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 250 250 452 354 250 221" ]
	grep -q $'^452 4.5.3 ' <<<"$output"
	grep -qx 'X-Original-To: r1@y, r2@y, r3@y' "$(only_message)"
}

@test "X-Original-To lists every recipient once, folded under 79 columns" {
	args=()
	for i in $(seq 1 30); do args+=("RCPT TO:<recipient-number-$i@example.org>"); done
	smtp "EHLO t" "MAIL FROM:<a@x>" "${args[@]}" "RCPT TO:<recipient-number-1@example.org>" \
	    "DATA" "x" "." "QUIT"
	f=$(only_message)
	# The unfolded field holds the 30 addresses, in order.
	got=$(sed -n '/^X-Original-To:/,/^Received:/p' "$f" | sed '$d' |
	    tr -d '\n' | sed 's/^X-Original-To: //; s/\t/ /g')
	want=$(for i in $(seq 1 30); do printf 'recipient-number-%s@example.org, ' "$i"; done |
	    sed 's/, $//')
	[ "$got" = "$want" ]
	[ "$(sed -n '/^X-Original-To:/,/^Received:/p' "$f" | sed '$d' | awk 'length > 78' | wc -l)" = 0 ]
	[ "$(sed -n '/^X-Original-To:/,/^Received:/p' "$f" | wc -l)" -gt 10 ]
}

# ---- what is stored ----

@test "stored message: Return-Path, X-Original-To, Received, then the content with Date and Message-ID added" {
	smtp_msg "Subject: hello" "From: a@x.example" "" "body line" "..dotted" \
	    ".." "last"
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	want='Return-Path: <a@x.example>
X-Original-To: b@y.example
Received: from client.example (local)
	by test.example (BareMail) with ESMTP id NAME
	for <b@y.example>; DATE
Subject: hello
From: a@x.example
Date: DATE
Message-ID: <ID@test.example>

body line
.dotted
.
last'
	[ "$(stored)" = "$want" ]
	# LF line ends only, and the reply names the stored file.
	[ "$(grep -c $'\r' "$(only_message)")" = 0 ]
	name=$(basename "$(only_message)")
	grep -q "^250 2.0.0 Ok: queued as ${name%%,*}"$'\r$' <<<"$output"
}

@test "Date and Message-ID the message has are kept and not added twice" {
	smtp_msg "Message-ID: <mine@client>" "date: Mon, 1 Jan 2024 00:00:00 +0000" \
	    "Subject: s" "" "b"
	f=$(only_message)
	[ "$(grep -ci '^date:' "$f")" = 1 ]
	[ "$(grep -ci '^message-id:' "$f")" = 1 ]
	grep -qx 'Message-ID: <mine@client>' "$f"
	grep -qx 'date: Mon, 1 Jan 2024 00:00:00 +0000' "$f"
}

@test "a message with no header section gets Date and Message-ID before an empty line" {
	smtp_msg "just a line" "another"
	want='Date: DATE
Message-ID: <ID@test.example>

just a line
another'
	[ "$(stored | sed '1,5d')" = "$want" ]
}

@test "a message with no header section whose first line is a long separator keeps it in the body" {
	sep=$(head -c 100 /dev/zero | tr '\0' =)
	smtp_msg "$sep" "Disk report"
	# The line used to be taken for a field (name characters past 80
	# bytes), Date: and the empty line going in after it.
	want="Date: DATE
Message-ID: <ID@test.example>

$sep
Disk report"
	[ "$(stored | sed '1,5d')" = "$want" ]
}

@test "lines that begin with a dot arrive intact (dot-stuffing undone)" {
	smtp_msg "Subject: dots" "" ".." "..." "...." "..a" ". space"
	[ "$(body)" = $'.\n..\n...\n.a\n space' ]
}

@test "8-bit and UTF-8 content and headers are stored byte for byte" {
	smtp_msg "Subject: caf$(printf '\xc3\xa9') $(printf '\xe2\x9c\x93')" "" \
	    "$(printf 'Gr\xc3\xbc\xc3\x9fe \xf0\x9f\x93\xa7')" "$(printf 'latin1 \xe9\xe8 \xff\x80')"
	f=$(only_message)
	grep -qx "$(printf 'Subject: caf\xc3\xa9 \xe2\x9c\x93')" "$f"
	[ "$(body | od -An -tx1 | tr -d ' \n')" = "$(printf 'Gr\xc3\xbc\xc3\x9fe \xf0\x9f\x93\xa7\nlatin1 \xe9\xe8 \xff\x80\n' | od -An -tx1 | tr -d ' \n')" ]
}

@test "SMTPUTF8 and BODY=8BITMIME: UTF-8 addresses accepted, Received says UTF8SMTP" {
	smtp "EHLO t" "MAIL FROM:<$(printf 'j\xc3\xb6rg')@b$(printf '\xc3\xbc')ro.example> SMTPUTF8 BODY=8BITMIME" \
	    "RCPT TO:<$(printf '\xe7\x94\xa8\xe6\x88\xb7')@example.org>" "DATA" "x" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	f=$(only_message)
	grep -qx "Return-Path: <$(printf 'j\xc3\xb6rg@b\xc3\xbcro.example')>" "$f"
	grep -qx "X-Original-To: $(printf '\xe7\x94\xa8\xe6\x88\xb7')@example.org" "$f"
	grep -q 'with UTF8SMTP id' "$f"
}

@test "NUL bytes and bare CRs in the content are stored; CRLF becomes LF" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nS: x\r\n\r\na\0b\r\nc\rd\r\n.\r\nQUIT\r\n'
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(body | od -An -c | tr -s ' \n' ' ')" = "$(printf 'a\0b\nc\rd\n' | od -An -c | tr -s ' \n' ' ')" ]
}

@test "a DATA line of 100 KB is accepted and stored intact" {
	long=$(head -c 102400 /dev/zero | tr '\0' 'x')
	smtp_msg "Subject: long" "" "$long" "after"
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(body)" = "$long"$'\n'after ]
}

@test "a 20 MB message with dot lines, binary and long lines is stored byte-exact" {
	$PY - "$BATS_TEST_TMPDIR" <<'EOF'
import os, random, sys
d = sys.argv[1]
rnd = random.Random(5321)
lines = [b"Subject: big", b"Date: Mon, 1 Jan 2024 00:00:00 +0000", b"Message-ID: <big@t>", b""]
size = 0
while size < 20 * 1024 * 1024:
    k = rnd.randrange(6)
    if k == 0: l = b"." * rnd.randrange(1, 4) + b"dot line"
    elif k == 1: l = bytes(rnd.randrange(0x80, 0x100) for _ in range(60))
    elif k == 2: l = b"y" * rnd.randrange(900, 5000)
    else: l = b"ordinary text line %d" % size
    lines.append(l)
    size += len(l) + 2
wire = b"EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"
wire += b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
wire += b".\r\nQUIT\r\n"
open(os.path.join(d, "wire"), "wb").write(wire)
open(os.path.join(d, "want"), "wb").write(b"".join(l + b"\n" for l in lines))
EOF
	run bash -c 'timeout "$1" $2 "$3" < "$4"' _ "$T" "$WRAP" "$SMTP_SESSION" "$BATS_TEST_TMPDIR/wire"
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	f=$(only_message)
	# Our three trace fields, then the content exactly.
	tail -n +6 "$f" | cmp - "$BATS_TEST_TMPDIR/want"
	[ "$(count_tmp)" = 0 ]
}

# ---- SIZE ----

@test "a declared SIZE over the limit is 552 5.3.4 at MAIL" {
	conf_set smtp max_message_size 1k
	smtp "EHLO t" "MAIL FROM:<a@x> SIZE=1025" "MAIL FROM:<a@x> SIZE=1024" \
	    "MAIL FROM:<a@x> SIZE=99999999999999999999999" "QUIT"
	[ "$(final_codes)" = "220 250 552 250 503 221" ]
	grep -q '^552 5.3.4 ' <<<"$output"
}

@test "an undeclared oversize body is read to its end, refused with 552, nothing stored" {
	conf_set smtp max_message_size 1k
	big=$(head -c 3000 /dev/zero | tr '\0' 'z')
	# The next transaction follows in the same write: it must be read as commands.
	smtp "EHLO t" "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" "$big" "MAIL FROM:<evil@x>" "." \
	    "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" "small" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 354 552 250 250 354 250 221" ]
	grep -q '^552 5.3.4 ' <<<"$output"
	[ "$(body)" = small ]
	[ "$(count_tmp)" = 0 ]
}

@test "a message of exactly max_message_size is accepted, one byte more is not" {
	conf_set smtp max_message_size 1k
	line=$(head -c 1022 /dev/zero | tr '\0' 'q')	# 1022 + CRLF = 1024
	smtp "EHLO t" "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" "$line" "." \
	    "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" "${line}q" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 354 250 250 250 354 552 221" ]
	[ "$(count_messages)" = 1 ]
}

@test "the CR of a line end is counted when its LF fills a write buffer: max_message_size + 1 is refused" {
	# The LF of the last line is the 8192nd byte stored (an 8 KB piece
	# goes to the maildir there); the message is 8201 bytes with its
	# nine CRs, one over the limit.  The CR used to be counted after the
	# piece was checked, so that message was accepted (DATA and BDAT).
	conf_set smtp max_message_size 8200
	x=$(head -c 1000 /dev/zero | tr '\0' x)
	y=$(head -c 183 /dev/zero | tr '\0' y)
	body=$(crlf "$x" "$x" "$x" "$x" "$x" "$x" "$x" "$x" "$y"; echo .)
	[ "${#body}" = 8202 ]	# the message, and the dot without its CRLF
	smtp "EHLO t" "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" \
	    "$x" "$x" "$x" "$x" "$x" "$x" "$x" "$x" "$y" "." \
	    "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" \
	    "$x" "$x" "$x" "$x" "$x" "$x" "$x" "$x" "${y%y}" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 354 552 250 250 354 250 221" ]
	[ "$(count_messages)" = 1 ]
	rm -f "$MD"/new/*
	printf 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 8201 LAST\r\n%sQUIT\r\n' \
	    "${body%.}" > "$BATS_TEST_TMPDIR/wire"
	run bash -c 'timeout "$1" $2 "$3" < "$4"' _ "$T" "$WRAP" "$SMTP_SESSION" "$BATS_TEST_TMPDIR/wire"
	[ "$(final_codes)" = "220 250 250 250 552 221" ]
	[ "$(count_messages)" = 0 ]
}

@test "a bare-LF DATA is sized with CRLF line ends: 1000 bytes in 100 lines are 1100 and over 1k" {
	conf_set smtp max_message_size 1k
	body=$(for i in $(seq 100); do printf 'xxxxxxxxx\\n'; done)
	# The same client, 92 lines (920 bytes, 1012 with CRLF), is accepted.
	small=$(for i in $(seq 92); do printf 'xxxxxxxxx\\n'; done)
	smtpb "EHLO t\\nMAIL FROM:<a@x>\\nRCPT TO:<b@y>\\nDATA\\n$body.\\nMAIL FROM:<a@x>\\nRCPT TO:<b@y>\\nDATA\\n$small.\\nQUIT\\n"
	[ "$(final_codes)" = "220 250 250 250 354 552 250 250 354 250 221" ]
	[ "$(count_messages)" = 1 ]
}

# ---- PIPELINING ----

@test "pipelining: two transactions in one write get every reply, in order, in one batch" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\none\r\n.\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\ntwo\r\n.\r\nRSET\r\nQUIT\r\n'
	[ "$(final_codes)" = "220 250 250 250 250 354 250 250 250 354 250 250 221" ]
	[ "$(count_messages)" = 2 ]
	cat "$MD"/new/* | grep -qx one
	cat "$MD"/new/* | grep -qx two
}

@test "pipelining: the replies to a whole batch leave in one write" {
	command -v strace >/dev/null
	printf 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nNOOP\r\nRSET\r\n' > "$BATS_TEST_TMPDIR/in"
	# Everything arrives before the session reads; QUIT comes later.
	run bash -c '{ cat "$4"; sleep 1; printf "QUIT\r\n"; } |
	    timeout "$1" strace -f -s 2000 -e trace=write -o "$5" "$3"' _ "$T" "" \
	    "$SMTP_SESSION" "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/trace"
	[ "$(final_codes)" = "220 250 250 250 250 250 250 221" ]
	# One write for the greeting and the batch (read together), one for QUIT.
	[ "$(grep -c 'write(1,' "$BATS_TEST_TMPDIR/trace")" -le 3 ]
	grep 'write(1,' "$BATS_TEST_TMPDIR/trace" | head -1 | grep -q '^[0-9]* *write(1, "220 .*250 2.1.5 Ok.*250 2.1.5 Ok.*250 2.0.0 Ok\\r\\n250 2.0.0 Ok\\r\\n"'
}

@test "pipelining: messages sent together are made durable together (group commit), each 250 after its fsync of new/" {
	command -v strace >/dev/null
	$PY - "$BATS_TEST_TMPDIR/in" <<'EOF'
import sys
out = [b"EHLO t\r\n"]
for i in range(100):
    out.append(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: %d\r\n\r\nbody %d\r\n.\r\n" % (i, i))
out.append(b"QUIT\r\n")
open(sys.argv[1], "wb").write(b"".join(out))
EOF
	# LeakSanitizer cannot run under ptrace (an ASan build would fail at exit).
	run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    bash -c 'timeout "$1" strace -f -y -s 100000 -e trace=fsync,renameat2,write -o "$4" "$2" < "$3"' _ \
	    "$T" "$SMTP_SESSION" "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/trace"
	[ "$status" = 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0 Ok: queued as')" = 100 ]
	[ "$(count_messages)" = 100 ]
	# Every stored body once.
	[ "$(cat "$MD"/new/* | grep -c '^body ')" = 100 ]
	[ "$(cat "$MD"/new/* | grep '^body ' | sort -u | wc -l)" = 100 ]
	# A fsync per file, but far fewer of new/ (at most 32 messages each).
	syncs=$(grep -c 'fsync([0-9]*<[^>]*/new>) = 0' "$BATS_TEST_TMPDIR/trace")
	[ "$syncs" -ge 4 ] && [ "$syncs" -le 50 ]
	# No 250 reaches the client before its message's move into new/ and a
	# fsync of new/ after it.
	$PY - "$BATS_TEST_TMPDIR/trace" <<'EOF'
import re, sys
moved, durable, n = set(), set(), 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r'renameat2\(.*/new>, "([^",]+)[^"]*",.*\) = 0', line)
    if m:
        moved.add(m.group(1))
    elif re.search(r"fsync\(\d+<[^>]*/new>\) = 0", line):
        durable |= moved
        moved = set()
    elif re.match(r"^\d+\s+write\(1", line):
        for q in re.findall(r"queued as ([^\\ ]+)", line):
            assert q in durable, q
            n += 1
assert n == 100, n
EOF
}

@test "pipelining: a client that waits for each reply gets one fsync of new/ per message, as before" {
	command -v strace >/dev/null
	$PY - "$SMTP_SESSION" "$BATS_TEST_TMPDIR/trace" <<'EOF'
import subprocess, sys, os
p = subprocess.Popen(["strace", "-f", "-y", "-e", "trace=fsync", "-o", sys.argv[2], sys.argv[1]],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def ask(b, last):
    if b:
        p.stdin.write(b); p.stdin.flush()
    got = b""
    while not got.startswith(last) and last not in got:
        got += os.read(p.stdout.fileno(), 4096)
    return got
ask(b"", b"220 ")
ask(b"EHLO t\r\n", b"250 HELP")
for i in range(5):
    ask(b"MAIL FROM:<a@x>\r\n", b"250 ")
    ask(b"RCPT TO:<b@y>\r\n", b"250 ")
    ask(b"DATA\r\n", b"354 ")
    ask(b"x\r\n.\r\n", b"250 2.0.0 Ok: queued")
p.stdin.write(b"QUIT\r\n"); p.stdin.close(); p.wait()
EOF
	[ "$(grep -c 'fsync([0-9]*<[^>]*/new>) = 0' "$BATS_TEST_TMPDIR/trace")" = 5 ]
	[ "$(count_messages)" = 5 ]
}

# ---- DATA end rules and SMTP smuggling ----

@test "EOF inside DATA stores nothing and exits 0" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: x\r\n\r\nbody without end\r\n'
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250 250 250 354" ]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
}

@test "EOF anywhere else ends the session quietly with status 0" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n'
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250 250 250" ]
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nx\r\n.\r\n'
	[ "$status" -eq 0 ]
	[ "$(count_messages)" = 1 ]
	smtpb 'EHLO t\r\nNOOP'	# a last line without its end is not a command
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250" ]
}

@test "a printf | nc script: bare LF everywhere, ended by LF . LF" {
	smtpb 'HELO script\nMAIL FROM:<cron@h>\nRCPT TO:<root>\nDATA\nSubject: disk\n\nsda is failing\n..hidden\n.\nQUIT\n'
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(body)" = $'sda is failing\n.hidden' ]
	grep -qx 'Subject: disk' "$(only_message)"
}

@test "bare LF inside a CRLF message is a line end, stored as LF" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: s\r\n\r\none\ntwo\r\nthree\n\r\n.\r\nQUIT\r\n'
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(body | tr '\n' '|')" = 'one|two|three||' ]
}

# smuggle END: a CRLF message whose content holds END followed by a whole
# second transaction; exactly one message must be stored, holding it all.
smuggle() {
	smtpb "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: s\r\n\r\nfirst$1MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nSubject: smuggled\r\n\r\nsecond\r\n.\r\nQUIT\r\n"
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(count_messages)" = 1 ]
	grep -q 'MAIL FROM:<evil@x>' "$(only_message)"
	grep -qx 'second' "$(only_message)"
	[[ "$(grep -h '^Return-Path' "$MD"/new/*)" != *evil* ]]
}

@test "smuggling: LF . LF inside a CRLF message is content" {
	smuggle '\n.\n'
}

@test "smuggling: CR . CR is content" {
	smuggle '\r.\r'
}

@test "smuggling: LF . CRLF is content" {
	smuggle '\n.\r\n'
}

@test "smuggling: CRLF . LF is content" {
	smuggle '\r\n.\n'
}

@test "smuggling: CR . CRLF and CRLF . CR are content" {
	smuggle '\r.\r\n'
	rm -f "$MD"/new/*
	smuggle '\r\n.\r'
}

@test "smuggling: a NUL or a space before the dot is content" {
	smuggle '\r\n\0.\r\n'
	rm -f "$MD"/new/*
	smuggle '\r\n .\r\n'
}

@test "smuggling: a bare-LF message cannot be ended by CR . CR or LF . CRLF plus more" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nline one\nx\r.\rMAIL FROM:<evil@x>\n.\n'
	[ "$(final_codes)" = "220 250 250 250 354 250" ]
	[ "$(count_messages)" = 1 ]
	grep -q 'evil' "$(only_message)"
}

# ---- BDAT (CHUNKING) ----

@test "BDAT chunks are stored without dot-unstuffing, CRLF as LF" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 17\r\nSubject: c\r\n\r\n..aBDAT 8 LAST\r\n\r\n.\r\nb\r\nQUIT\r\n'
	[ "$(final_codes)" = "220 250 250 250 250 250 221" ]
	grep -q '^250 2.0.0 17 octets received' <<<"$output"
	grep -q '^250 2.0.0 Ok: queued as ' <<<"$output"
	[ "$(body)" = $'..a\n.\nb' ]
}

@test "BDAT 0 LAST ends a message; a lone BDAT 0 LAST stores an empty one" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 4\r\nab\r\nBDAT 0 LAST\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 0 LAST\r\nQUIT\r\n'
	[ "$(final_codes)" = "220 250 250 250 250 250 250 250 250 221" ]
	[ "$(count_messages)" = 2 ]
}

@test "BDAT out of sequence is 503 and its chunk is read, not run as commands" {
	smtpb 'EHLO t\r\nBDAT 12\r\nQUIT\r\nQUIT\r\nNOOP\r\nMAIL FROM:<a@x>\r\nBDAT 6 LAST\r\nRSET\r\nDATA\r\nQUIT\r\n'
	[ "$(final_codes)" = "220 250 503 250 250 503 503 221" ]
	[ "$(count_messages)" = 0 ]
}

@test "DATA inside a BDAT sequence is 503; RSET ends it with nothing stored" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 3\r\nabcDATA\r\nRSET\r\nQUIT\r\n'
	[ "$(final_codes)" = "220 250 250 250 250 503 250 221" ]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
}

@test "BDAT over max_message_size is 552 and nothing is stored" {
	conf_set smtp max_message_size 1k
	chunk=$(head -c 600 /dev/zero | tr '\0' 'b')
	smtpb "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 600\r\n${chunk}BDAT 600\r\n${chunk}BDAT 600 LAST\r\n${chunk}NOOP\r\nQUIT\r\n"
	[ "$(final_codes)" = "220 250 250 250 250 552 552 250 221" ]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
}

@test "EOF inside a BDAT chunk stores nothing" {
	smtpb 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 100 LAST\r\nshort'
	[ "$status" -eq 0 ]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
}

# ---- AUTH ----

@test "AUTH LOGIN uses the exact prompts Username: and Password:, any credentials" {
	smtp "EHLO t" "AUTH LOGIN" "$(printf 'anyone' | base64)" "$(printf 'secret' | base64)" \
	    "MAIL FROM:<a@x> AUTH=<>" "RCPT TO:<b@y>" "DATA" "x" "." "QUIT"
	[ "$(final_codes)" = "220 250 334 334 235 250 250 354 250 221" ]
	grep -qx $'334 VXNlcm5hbWU6\r' <<<"$output"
	grep -qx $'334 UGFzc3dvcmQ6\r' <<<"$output"
	grep -q '^235 2.7.0 ' <<<"$output"
	grep -q 'with ESMTPA id' "$(only_message)"
}

@test "AUTH LOGIN with an initial response asks only for the password" {
	smtp "EHLO t" "AUTH LOGIN $(printf 'u' | base64)" "$(printf 'p' | base64)" "QUIT"
	[ "$(final_codes)" = "220 250 334 235 221" ]
	grep -qx $'334 UGFzc3dvcmQ6\r' <<<"$output"
}

@test "AUTH PLAIN with and without an initial response" {
	cred=$(printf '\0user\0pass' | base64)
	smtp "EHLO t" "AUTH PLAIN $cred" "QUIT"
	[ "$(final_codes)" = "220 250 235 221" ]
	smtp "EHLO t" "AUTH PLAIN" "$cred" "QUIT"
	[ "$(final_codes)" = "220 250 334 235 221" ]
	grep -qx $'334 \r' <<<"$output"
}

@test "AUTH CRAM-MD5 sends a base64 msg-id challenge and accepts any digest" {
	smtp "EHLO t" "AUTH CRAM-MD5" "$(printf 'user 0123456789abcdef0123456789abcdef' | base64 -w0)" "QUIT"
	[ "$(final_codes)" = "220 250 334 235 221" ]
	chal=$(printf '%s\n' "$output" | tr -d '\r' | sed -n 's/^334 //p')
	[[ "$(printf '%s' "$chal" | base64 -d)" =~ ^\<[^@]+@test\.example\>$ ]]
}

@test "AUTH: * cancels (501), unknown mechanism 504, twice 503, inside a transaction 503" {
	smtp "EHLO t" "AUTH LOGIN" "*" "AUTH DIGEST-MD5" "MAIL FROM:<a@x>" \
	    "AUTH PLAIN AHUAcA==" "RSET" "AUTH PLAIN AHUAcA==" "AUTH PLAIN AHUAcA==" "QUIT"
	[ "$(final_codes)" = "220 250 334 501 504 250 503 250 235 503 221" ]
	grep -q '^501 5.7.0 ' <<<"$output"
}

@test "AUTH is never required; without it Received says ESMTP" {
	smtp_msg "x"
	grep -q 'with ESMTP id' "$(only_message)"
	smtp "HELO t" "MAIL FROM:<a@x>" "RCPT TO:<b@y>" "DATA" "y" "." "QUIT"
	grep -q 'with SMTP id' "$MD"/new/* 
}

@test "DSN parameters are accepted and ignored" {
	smtp "EHLO t" "MAIL FROM:<a@x> RET=HDRS ENVID=QQ314159 SIZE=10 BODY=7BIT" \
	    "RCPT TO:<b@y> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@y" \
	    "RCPT TO:<c@y> NOTIFY=NEVER" "DATA" "x" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 250 354 250 221" ]
}

# ---- garbage, limits, timeouts ----

@test "NUL bytes, binary garbage and a 100 KB command line get errors, then work goes on" {
	long=$(head -c 102400 /dev/zero | tr '\0' 'A')
	run bash -c '{ printf "EHLO t\r\nNO\0OP\r\n\x01\x02\xff\xfe\r\n%s\r\nNOOP\r\n" "$4"; printf "QUIT\r\n"; } |
	    timeout "$1" $2 "$3"' _ "$T" "$WRAP" "$SMTP_SESSION" "$long"
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250 500 500 500 250 221" ]
	grep -q '^500 5.5.2 Error: line too long' <<<"$output"
}

@test "twenty consecutive errors earn 421 and the door" {
	args=()
	for i in $(seq 1 25); do args+=("BOGUS $i"); done
	smtp "EHLO t" "${args[@]}" "NOOP"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^500 ')" = 20 ]
	[[ "$(last_reply)" == "421 4.7.0 "* ]]
	[ "$(printf '%s\n' "$output" | grep -c '^250 2.0.0')" = 0 ]
}

@test "errors separated by a success do not add up" {
	args=()
	for i in $(seq 1 15); do args+=("BOGUS" "BOGUS" "NOOP"); done
	smtp "${args[@]}" "QUIT"
	[ "$(printf '%s\n' "$output" | grep -c '^421')" = 0 ]
	[[ "$(last_reply)" == "221 "* ]]
}

@test "a silent client gets 421 4.4.2 after [smtp] timeout, exit 0" {
	conf_set smtp timeout 1
	run bash -c '{ printf "EHLO t\r\n"; sleep 5; } | timeout "$1" $2 "$3"' _ "$T" "$WRAP" "$SMTP_SESSION"
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250 421" ]
	grep -q '^421 4.4.2 ' <<<"$output"
}

@test "a client silent inside DATA gets 421 4.4.2; nothing stored, no tmp file" {
	conf_set smtp timeout 1	# DATA waits twice that
	start=$(date +%s)
	run bash -c '{ printf "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\npart\r\n"; sleep 6; } |
	    timeout "$1" $2 "$3"' _ "$T" "$WRAP" "$SMTP_SESSION"
	[ "$(final_codes)" = "220 250 250 250 354 421" ]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
	[ $(( $(date +%s) - start )) -ge 2 ]
}

# ---- delivery failures ----

@test "a maildir that cannot be opened: 421 and exit 75 (EX_TEMPFAIL)" {
	run bash -c 'printf "QUIT\r\n" | timeout "$1" $2 "$3" -m /proc/nonexistent/Maildir' _ "$T" "$WRAP" "$SMTP_SESSION"
	[ "$status" -eq 75 ]
	[[ "$(last_reply)" == "421 4.3.0 "* ]]
}

@test "a maildir whose parents do not exist is made (0700 each) and the message stored" {
	fresh_top
	# umask 022, a new user's: what is made is 0700 all the same.
	run bash -c 'umask 022; printf "EHLO t\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\nQUIT\r\n" |
	    timeout "$1" $2 "$3" -m "$4"' _ "$T" "$WRAP" "$SMTP_SESSION" "$TOP/a/b/Maildir"
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(find "$TOP/a/b/Maildir/new" -type f | wc -l)" = 1 ]
	assert_made_0700 "$TOP/a" "$TOP/a/b" "$TOP/a/b/Maildir" \
	    "$TOP/a/b/Maildir/tmp" "$TOP/a/b/Maildir/new" "$TOP/a/b/Maildir/cur"
}

@test "a delivery that cannot be completed is 451 4.3.0, nothing stored, session goes on" {
	# new/ turns read-only once the session has opened the maildir.
	run timeout "$T" $PY - "$SMTP_SESSION" "$MD" <<'EOF'
import os, subprocess, sys
wrap = os.environ.get("BAREMAIL_WRAPPER", "").split()
p = subprocess.Popen(wrap + [sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(b"EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n")
p.stdin.flush()
out = b""
while b"250 2.1.5" not in out:
    d = os.read(p.stdout.fileno(), 4096)
    if not d: break
    out += d
os.chmod(os.path.join(sys.argv[2], "new"), 0o500)
rest, _ = p.communicate(b"DATA\r\nx\r\n.\r\nNOOP\r\nQUIT\r\n")
sys.stdout.write((out + rest).decode())
EOF
	chmod 0700 "$MD/new"
	[ "$(final_codes)" = "220 250 250 250 354 451 250 221" ]
	grep -q '^451 4.3.0 ' <<<"$output"
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
}

@test "a full disk is 452 4.3.1 and leaves nothing behind" {
	FULL_MNT="$BATS_TEST_TMPDIR/full"
	mkdir -p "$FULL_MNT"
	# The disk floor ([smtp] min_free) would refuse MAIL on 64 KB: off,
	# so that the disk itself fills (baremail.bats tests the floor).
	conf_set smtp min_free 0
	# A 64 KB file system: as root a real mount, else one in a user namespace.
	run ${SUDO_NS:-} bash -c '
	    mount -t tmpfs -o size=64k tmpfs "$1" || exit 1
	    mkdir "$1/M" && { [ -z "$5" ] || chown "$5" "$1/M"; }
	    big=$(head -c 200000 /dev/zero | tr "\\0" f)
	    printf "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n%s\r\n.\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nfits\r\n.\r\nQUIT\r\n" "$big" |
	        timeout 60 $3 "$2" -m "$1/M"
	    echo "new=$(ls "$1/M/new" | wc -l) tmp=$(ls "$1/M/tmp" | wc -l)"
	    umount "$1"' _ "$FULL_MNT" "$SMTP_SESSION" "$WRAP" "" \
	    "$([ "$(id -u)" = 0 ] && echo "$TEST_USER")"
	[ "$(final_codes)" = "220 250 250 250 354 452 250 250 354 250 221" ]
	grep -q '^452 4.3.1 ' <<<"$output"
	grep -q '^new=1 tmp=0$' <<<"$output"
}

@test "a message past RLIMIT_FSIZE is 451, the session goes on and stores the next one" {
	# LimitFSIZE= or ulimit -f: write() must fail (EFBIG), not SIGXFSZ
	# kill the session before any reply and leave its file in tmp/.
	run bash -c 'big=$(head -c 200000 /dev/zero | tr "\0" f)
	    printf "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n%s\r\n.\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nfits\r\n.\r\nQUIT\r\n" "$big" |
	    timeout "$1" prlimit --fsize=100000 $2 "$3"' _ "$T" "$WRAP" "$SMTP_SESSION"
	[ "$status" = 0 ]
	[ "$(final_codes)" = "220 250 250 250 354 451 250 250 354 250 221" ]
	[ "$(count_messages)" = 1 ]
	[ "$(count_tmp)" = 0 ]
}

# ---- the log ----

@test "every session logs one summary line: peer, messages, bytes, result" {
	run bash -c 'printf "EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n" |
	    REMOTE_ADDR=192.0.2.7 timeout "$1" $2 "$3" 2>"$4"' _ "$T" "$WRAP" "$SMTP_SESSION" "$BATS_TEST_TMPDIR/log"
	[ "$(grep -c 'session from' "$BATS_TEST_TMPDIR/log")" = 1 ]
	grep -q 'session from 192.0.2.7: 1 message(s), [0-9]* bytes, quit' "$BATS_TEST_TMPDIR/log"
	grep -q '^Received: from t (\[192.0.2.7\])$' "$(only_message)"
	run bash -c 'printf "EHLO t\r\n" | timeout "$1" $2 "$3" 2>"$4"' _ "$T" "$WRAP" "$SMTP_SESSION" "$BATS_TEST_TMPDIR/log"
	grep -q 'session from local: 0 message(s), 0 bytes, eof' "$BATS_TEST_TMPDIR/log"
}

# ---- over a socket, with real clients ----

# A python client: py_client SCRIPT, with PORT and MD in the environment.
py_client() {
	PORT=$PORT timeout "$T" $PY -c "$1"
}

@test "socket: the Received peer is the client's address and TCP_NODELAY is set" {
	PORT=$(free_port)
	timeout 60 strace -f -e trace=setsockopt -o "$BATS_TEST_TMPDIR/trace" \
	    systemd-socket-activate --inetd -a -l "127.0.0.1:$PORT" -E BAREMAIL_CONFIG \
	    "$SMTP_SESSION" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/listen.log" 3>&- &
	LISTEN_PID=$!
	for i in $(seq 200); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.05; done
	py_client '
import os, smtplib
s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), timeout=30)
s.sendmail("a@x", ["b@y"], b"Subject: s\r\n\r\nbody\r\n")
s.quit()'
	grep -q '^Received: from .* (\[127.0.0.1\])$' "$(only_message)"
	grep -q 'TCP_NODELAY, \[1\]' "$BATS_TEST_TMPDIR/trace"
}

@test "socket: Python smtplib without login" {
	listen_inetd "$SMTP_SESSION"
	py_client '
import os, smtplib
s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), timeout=30)
s.ehlo()
assert s.has_extn("pipelining") and s.has_extn("chunking") and s.has_extn("smtputf8")
s.sendmail("a@x", ["b@y", "c@y"], b"Subject: plain\r\n\r\n.leading dot\r\nend\r\n")
s.quit()'
	[ "$(body)" = $'.leading dot\nend' ]
	grep -qx 'X-Original-To: b@y, c@y' "$(only_message)"
}

@test "socket: Python smtplib login() and each mechanism: CRAM-MD5, PLAIN, LOGIN" {
	listen_inetd "$SMTP_SESSION"
	py_client '
import os, smtplib
port = int(os.environ["PORT"])
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.login("anyone", "any password")	# picks CRAM-MD5 when listed
s.sendmail("a@x", ["b@y"], b"Subject: login\r\n\r\nx\r\n")
s.quit()
for mech in ("CRAM-MD5", "PLAIN", "LOGIN"):
    for initial in (True, False):
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo()
        s.user, s.password = "u-" + mech, "p"
        code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")),
            initial_response_ok=initial)
        assert code == 235, (mech, code)
        s.sendmail("a@x", ["b@y"], b"Subject: " + mech.encode() + b"\r\n\r\nx\r\n")
        s.quit()'
	[ "$(count_messages)" = 7 ]
	[ "$(grep -l 'with ESMTPA id' "$MD"/new/* | wc -l)" = 7 ]
	grep -q 'AUTH CRAM-MD5 accepted for "anyone"' "$BATS_TEST_TMPDIR/listen.log"
	grep -q 'AUTH PLAIN accepted for "u-PLAIN"' "$BATS_TEST_TMPDIR/listen.log"
	grep -q 'AUTH LOGIN accepted for "u-LOGIN"' "$BATS_TEST_TMPDIR/listen.log"
}

@test "socket: Python BDAT client, chunks pipelined" {
	listen_inetd "$SMTP_SESSION"
	py_client '
import os, socket
c = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=30)
body = b"Subject: chunked\r\n\r\n" + b"line\r\n" * 5000
c.sendall(b"EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n")
chunks = [body[i:i + 7000] for i in range(0, len(body), 7000)]
for ch in chunks[:-1]:
    c.sendall(b"BDAT %d\r\n" % len(ch) + ch)
c.sendall(b"BDAT %d LAST\r\n" % len(chunks[-1]) + chunks[-1] + b"QUIT\r\n")
data = b""
while True:
    d = c.recv(65536)
    if not d: break
    data += d
codes = [l[:3] for l in data.split(b"\r\n") if l[3:4] == b" "]
assert codes == [b"220", b"250", b"250", b"250"] + [b"250"] * len(chunks) + [b"221"], codes'
	[ "$(body | grep -c '^line$')" = 5000 ]
}

@test "socket: curl smtp:// (--mail-from --mail-rcpt -T)" {
	listen_inetd "$SMTP_SESSION"
	printf 'Subject: from curl\r\n\r\nhello from curl\r\n.dot line\r\n' > "$BATS_TEST_TMPDIR/m"
	timeout "$T" curl -sS --url "smtp://127.0.0.1:$PORT" --mail-from a@x \
	    --mail-rcpt b@y --mail-rcpt c@y -T "$BATS_TEST_TMPDIR/m"
	[ "$(body)" = $'hello from curl\n.dot line' ]
	grep -qx 'X-Original-To: b@y, c@y' "$(only_message)"
}

@test "socket: swaks plain, --pipeline, and --auth LOGIN, PLAIN, CRAM-MD5" {
	listen_inetd "$SMTP_SESSION"
	timeout "$T" swaks -s 127.0.0.1 -p "$PORT" -f a@x -t b@y --body 'plain' >/dev/null
	run timeout "$T" swaks -s 127.0.0.1 -p "$PORT" -f a@x -t b@y --pipeline --body 'piped'
	[ "$status" -eq 0 ]
	grep -q 'PIPELINING' <<<"$output"
	for mech in LOGIN PLAIN CRAM-MD5; do
		timeout "$T" swaks -s 127.0.0.1 -p "$PORT" -f a@x -t b@y -a "$mech" \
		    -au user -ap pass --body "auth $mech" >/dev/null
	done
	[ "$(count_messages)" = 5 ]
	[ "$(grep -l 'with ESMTPA id' "$MD"/new/* | wc -l)" = 3 ]
	cat "$MD"/new/* | grep -qx 'auth CRAM-MD5'
}

@test "pipe: swaks --pipe drives a session on stdin/stdout" {
	run timeout "$T" swaks --pipe "$SMTP_SESSION" -f a@x -t b@y --pipeline -a LOGIN -au u -ap p --body 'over a pipe'
	[ "$status" -eq 0 ]
	[ "$(body)" = 'over a pipe' ]
}

@test "socket: msmtp, without and with authentication (CRAM-MD5, PLAIN, LOGIN)" {
	listen_inetd "$SMTP_SESSION"
	printf 'Subject: msmtp\n\nvia msmtp\n' |
	    timeout "$T" msmtp --host=127.0.0.1 --port="$PORT" --tls=off --auth=off --from=a@x b@y
	# msmtp 1.8 counts no mechanism as safe without TLS: name them.
	for mech in cram-md5 plain login; do
		printf 'Subject: msmtp %s\n\nvia msmtp auth\n' "$mech" |
		    timeout "$T" msmtp --host=127.0.0.1 --port="$PORT" --tls=off \
		    --auth="$mech" --user="user-$mech" --passwordeval='echo pw' --from=a@x b@y
	done
	[ "$(count_messages)" = 4 ]
	cat "$MD"/new/* | grep -qx 'via msmtp'
	[ "$(grep -l 'with ESMTPA id' "$MD"/new/* | wc -l)" = 3 ]
	grep -q 'AUTH CRAM-MD5 accepted for "user-cram-md5"' "$BATS_TEST_TMPDIR/listen.log"
	grep -q 'AUTH LOGIN accepted for "user-login"' "$BATS_TEST_TMPDIR/listen.log"
}

@test "socket: 50 concurrent clients, 4 messages each: exactly 200 stored, no tmp leftovers" {
	# Fifty sessions at once are slow under valgrind: allow for it.
	LISTEN_TIMEOUT=$((T * 6)) listen_inetd "$SMTP_SESSION"
	PORT=$PORT T=$T timeout $((T * 5)) $PY -c '
import os, smtplib, threading
port = int(os.environ["PORT"])
errors = []
def client(n):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=int(os.environ["T"]) * 4)
        for k in range(4):
            s.sendmail("a@x", ["b@y"], b"Subject: c%d m%d\r\n\r\nbody %d %d\r\n" % (n, k, n, k))
        s.quit()
    except Exception as e:
        errors.append(e)
ts = [threading.Thread(target=client, args=(n,)) for n in range(50)]
for t in ts: t.start()
for t in ts: t.join()
assert not errors, errors'
	[ "$(count_messages)" = 200 ]
	[ "$(count_tmp)" = 0 ]
	[ "$(cat "$MD"/new/* | grep -c '^body ')" = 200 ]
	[ "$(cat "$MD"/new/* | grep '^Subject: ' | sort -u | wc -l)" = 200 ]
}
