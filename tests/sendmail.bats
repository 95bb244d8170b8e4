#!/usr/bin/env bats
# baremail-sendmail: the command lines daemons really use, byte-exact
# results in the maildir, and the SMTP and dead.letter fallbacks.

load helpers

setup() {
	baremail_setup
	ME=$(id -un)
	MYUID=$(id -u)
	# The maildir's owner: root's deliveries are made as this account.
	OWNER=$ME
	if [ "$MYUID" = 0 ]; then OWNER=$TEST_USER; fi
}

teardown() {
	listen_stop
}

# sm ARG...: the program under test, stdin passed on.
sm() {
	timeout "$T" $WRAP "$SENDMAIL" "$@"
}

# The stored message with what depends on the clock and the process
# masked: generated Date: and Message-ID: values, and Received:'s date.
stored() {
	local f
	f=$(only_message) || return 1
	$PY - "$f" <<'EOF'
import re, sys
data = open(sys.argv[1], 'rb').read()
head, sep, body = data.partition(b'\n\n')
date = rb'[A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}'
head = re.sub(rb'(?m)^Date: ' + date + rb'$', b'Date: DATE', head)
head = re.sub(rb'(?m)^Message-ID: <[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\.[0-9a-f]+@test\.example>$',
    b'Message-ID: <ID@test.example>', head)
head = re.sub(rb'(?m)^(\t.*); ' + date + rb'$', rb'\1; DATE', head)
sys.stdout.buffer.write(head + sep + body)
EOF
}

# expect_stored < WANT: the one stored message is WANT, byte for byte
# (masked as above), with LF line ends, S= and W= right, and owned by
# the maildir's owner.
expect_stored() {
	local f got="$BATS_TEST_TMPDIR/got" want="$BATS_TEST_TMPDIR/want"
	cat > "$want"
	stored > "$got" || return 1
	diff -u "$want" "$got"
	f=$(only_message)
	$PY - "$f" <<'EOF'
import os, re, sys
f = sys.argv[1]
data = open(f, 'rb').read()
assert b'\r' not in data, 'CR stored'
m = re.search(r',S=(\d+),W=(\d+)$', os.path.basename(f))
assert m, 'no S=/W= in ' + f
assert int(m.group(1)) == len(data), (m.group(1), len(data))
assert int(m.group(2)) == len(data) + data.count(b'\n'), (m.group(2), len(data))
EOF
	[ "$(stat -c %U "$f")" = "$OWNER" ]
}

# The value of a field of the one stored message.
field() {
	sed -n "/^\$/q; s/^$1: //p" "$(only_message)"
}

# The From: added for the caller: the passwd full name, if any, and address.
self_from() {
	local name
	name=$(getent passwd "$ME" | cut -d: -f5 | cut -d, -f1)
	if [ -n "$name" ]; then echo "$name <$ME@test.example>"; else echo "$ME@test.example"; fi
}

# A maildir our caller cannot write, and a config pointing at it.
locked_config() {
	mkdir -p "$BATS_TEST_TMPDIR/locked"
	chmod 0555 "$BATS_TEST_TMPDIR/locked"
	LOCKED_CONF="$BATS_TEST_TMPDIR/locked.conf"
	printf '[maildir]\npath = %s\n[smtp]\nhostname = test.example\n[sendmail]\nsmtp = 127.0.0.1:%s\n' \
	    "$BATS_TEST_TMPDIR/locked/Maildir" "$1" > "$LOCKED_CONF"
	SM_HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$SM_HOME"
	chmod 0777 "$SM_HOME"
}

# Sets RUNAS, the prefix that runs a command as an account that is not
# root (root may write any maildir: nobody, from a copy of the program
# any account can reach), and CALLER, that account's name.
other_caller() {
	RUNAS=()
	CALLER=$ME
	if [ "$MYUID" = 0 ]; then
		mkdir -p "$BATS_TEST_TMPDIR/bin"
		# Setup may have copied it there already (a checkout under
		# /root, which other accounts cannot enter).
		[ "$SENDMAIL" -ef "$BATS_TEST_TMPDIR/bin/baremail-sendmail" ] ||
		    cp "$SENDMAIL" "$BATS_TEST_TMPDIR/bin/baremail-sendmail"
		chmod 0755 "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/bin/baremail-sendmail"
		SENDMAIL="$BATS_TEST_TMPDIR/bin/baremail-sendmail"
		CALLER=nobody
		RUNAS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	fi
}

# ---- the real command lines ----

@test "cronie: -FCronDaemon -i -odi -oem -oi -t -f user stores the message byte for byte, lone dot kept" {
	run sm -FCronDaemon -i -odi -oem -oi -t -f user <<'EOF'
From: "(Cron Daemon)" <user>
To: user
Subject: Cron <user@vm> echo hi
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Auto-Submitted: auto-generated
Precedence: bulk
X-Cron-Env: <SHELL=/bin/sh>
X-Cron-Env: <HOME=/home/user>

hi
.
after the dot
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <user@test.example>
X-Original-To: user@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <user@test.example>; DATE
From: "(Cron Daemon)" <user@test.example>
To: user@test.example
Subject: Cron <user@vm> echo hi
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Auto-Submitted: auto-generated
Precedence: bulk
X-Cron-Env: <SHELL=/bin/sh>
X-Cron-Env: <HOME=/home/user>
Date: DATE
Message-ID: <ID@test.example>

hi
.
after the dot
EOF
}

@test "Debian cron: -FCronDaemon -i -B8BITMIME -oem root keeps 8-bit text and qualifies 'root (Cron Daemon)'" {
	run sm -FCronDaemon -i -B8BITMIME -oem root <<'EOF'
From: root (Cron Daemon)
To: root
Subject: Cron <root@vm> test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit
X-Cron-Env: <SHELL=/bin/sh>
X-Cron-Env: <HOME=/root>
X-Cron-Env: <PATH=/usr/bin:/bin>
X-Cron-Env: <LOGNAME=root>

/etc/cron.daily/logrotate:
Grüße, ½ € – error: skipping "/var/log/x.log"
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <$ME@test.example>
X-Original-To: root@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <root@test.example>; DATE
From: root@test.example (Cron Daemon)
To: root@test.example
Subject: Cron <root@vm> test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit
X-Cron-Env: <SHELL=/bin/sh>
X-Cron-Env: <HOME=/root>
X-Cron-Env: <PATH=/usr/bin:/bin>
X-Cron-Env: <LOGNAME=root>
Date: DATE
Message-ID: <ID@test.example>

/etc/cron.daily/logrotate:
Grüße, ½ € – error: skipping "/var/log/x.log"
EOF
}

@test "anacron: -FAnacron -odi root, without -i a lone dot ends the message" {
	run sm -FAnacron -odi root <<'EOF'
From: Anacron <root>
To: root
Content-Type: text/plain; charset="UTF-8"
Subject: Anacron job 'cron.daily' on vm

/etc/cron.daily/backup:
..two dots stay two dots
.
this line is after the end
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <$ME@test.example>
X-Original-To: root@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <root@test.example>; DATE
From: Anacron <root@test.example>
To: root@test.example
Content-Type: text/plain; charset="UTF-8"
Subject: Anacron job 'cron.daily' on vm
Date: DATE
Message-ID: <ID@test.example>

/etc/cron.daily/backup:
..two dots stay two dots
EOF
}

@test "mdadm: /usr/lib/sendmail -t -froot takes To: and adds Date: and Message-ID:" {
	mkdir -p "$BATS_TEST_TMPDIR/usr/lib"
	ln -s "$SENDMAIL" "$BATS_TEST_TMPDIR/usr/lib/sendmail"
	run timeout "$T" $WRAP "$BATS_TEST_TMPDIR/usr/lib/sendmail" -t -froot <<'EOF'
From: mdadm monitoring <root>
To: root
Subject: Fail event on /dev/md0:vm

This is an automatically generated mail message from mdadm
running on vm

A Fail event had been detected on md device /dev/md0.
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <root@test.example>
X-Original-To: root@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <root@test.example>; DATE
From: mdadm monitoring <root@test.example>
To: root@test.example
Subject: Fail event on /dev/md0:vm
Date: DATE
Message-ID: <ID@test.example>

This is an automatically generated mail message from mdadm
running on vm

A Fail event had been detected on md device /dev/md0.
EOF
}

@test "unattended-upgrades: -oi -t with a MIME message, lone dot kept" {
	run sm -oi -t <<'EOF'
Subject: [vm] unattended-upgrades result 'All upgrades installed'
From: root
To: root
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit
MIME-Version: 1.0

Unattended upgrade result: All upgrades installed
.
Packages that were upgraded:
 libc6
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <$ME@test.example>
X-Original-To: root@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <root@test.example>; DATE
Subject: [vm] unattended-upgrades result 'All upgrades installed'
From: root@test.example
To: root@test.example
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit
MIME-Version: 1.0
Date: DATE
Message-ID: <ID@test.example>

Unattended upgrade result: All upgrades installed
.
Packages that were upgraded:
 libc6
EOF
}

@test "logwatch: -t qualifies the bare 'From: Logwatch'" {
	run sm -t <<'EOF'
To: root
From: Logwatch
Subject: Logwatch for vm (Linux)
Auto-Submitted: auto-generated
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Type: text/plain; charset="iso-8859-1"

 ################### Logwatch 7.8 (01/22/23) ####################
        Processing Initiated: Tue Nov 24 06:25:01 2026
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <$ME@test.example>
X-Original-To: root@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <root@test.example>; DATE
To: root@test.example
From: Logwatch@test.example
Subject: Logwatch for vm (Linux)
Auto-Submitted: auto-generated
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Type: text/plain; charset="iso-8859-1"
Date: DATE
Message-ID: <ID@test.example>

 ################### Logwatch 7.8 (01/22/23) ####################
        Processing Initiated: Tue Nov 24 06:25:01 2026
EOF
}

@test "Proxmox: -B 8BITMIME -f from -- rcpt keeps its Date:, folded fields and '..'" {
	run sm -B 8BITMIME -f root@pve.example -- admin@example.com <<'EOF'
Content-Type: multipart/alternative;
	boundary="----_=_NextPart_001_1700000000"
MIME-Version: 1.0
From: Proxmox VE <root@pve.example>
To: admin@example.com
Date: Mon, 01 Jan 2024 00:00:00 GMT
Subject: vzdump backup status (pve.example): backup successful

This is a multi-part message in MIME format.

------_=_NextPart_001_1700000000
Content-Type: text/plain;
	charset="UTF-8"
Content-Transfer-Encoding: 8bit

Details
..
------_=_NextPart_001_1700000000--
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <root@pve.example>
X-Original-To: admin@example.com
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <admin@example.com>; DATE
Content-Type: multipart/alternative;
	boundary="----_=_NextPart_001_1700000000"
MIME-Version: 1.0
From: Proxmox VE <root@pve.example>
To: admin@example.com
Date: Mon, 01 Jan 2024 00:00:00 GMT
Subject: vzdump backup status (pve.example): backup successful
Message-ID: <ID@test.example>

This is a multi-part message in MIME format.

------_=_NextPart_001_1700000000
Content-Type: text/plain;
	charset="UTF-8"
Content-Transfer-Encoding: 8bit

Details
..
------_=_NextPart_001_1700000000--
EOF
}

@test "Proxmox: -N never -f from -- rcpt: the value of -N is no recipient" {
	run sm -N never -f root@pve.example -- admin@example.com <<'EOF'
From: Proxmox VE <root@pve.example>
To: admin@example.com
Subject: test

body
EOF
	[ "$status" -eq 0 ]
	[ "$(field X-Original-To)" = "admin@example.com" ]
	[ "$(field Return-Path)" = "<root@pve.example>" ]
}

# A sendmail for mail(1) clients: runs the program under test.
mta_script() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$WRAP" "$SENDMAIL" > "$BATS_TEST_TMPDIR/bin/sendmail"
	chmod +x "$BATS_TEST_TMPDIR/bin/sendmail"
}

# Waits for a message that a mail client's child delivers.
wait_message() {
	local i
	for i in $(seq 100); do
		[ "$(count_messages)" -ge 1 ] && return 0
		sleep 0.1
	done
	return 1
}

@test "mail -s subject root through s-nail (mta pointed at it)" {
	command -v s-nail || skip "s-nail is not installed (scripts/deps.sh installs it)"
	mta_script
	echo "disk almost full" | HOME="$BATS_TEST_TMPDIR" MAILRC=/dev/null \
	    timeout "$T" s-nail -n -S "mta=$BATS_TEST_TMPDIR/bin/sendmail" \
	    -S sendwait -s "subject here" root
	wait_message
	[ "$(field Subject)" = "subject here" ]
	[ "$(field To)" = "root@test.example" ]
	[ "$(field From)" = "$(self_from)" ]
	[ "$(field X-Original-To)" = "root@test.example" ]
	[ "$(field Message-ID | grep -c '@test.example>$')" = 1 ]
	[ "$(grep -c '^Date: ' "$(only_message)")" = 1 ]
	[ "$(sed '1,/^$/d' "$(only_message)")" = "disk almost full" ]
}

@test "mail -s subject root through bsd-mailx (set sendmail=...)" {
	command -v bsd-mailx || skip "bsd-mailx is not installed (scripts/deps.sh installs it)"
	mta_script
	printf 'set sendmail=%s\n' "$BATS_TEST_TMPDIR/bin/sendmail" > "$BATS_TEST_TMPDIR/mailrc"
	echo "raid degraded" | HOME="$BATS_TEST_TMPDIR" MAILRC="$BATS_TEST_TMPDIR/mailrc" \
	    timeout "$T" bsd-mailx -s "bsd subject" root
	wait_message
	[ "$(field Subject)" = "bsd subject" ]
	[ "$(field To)" = "root@test.example" ]
	[ "$(field X-Original-To)" = "root@test.example" ]
	[ "$(sed '1,/^$/d' "$(only_message)")" = "raid degraded" ]
}

@test "an unclosed quote in an address field gets @host on its own line: the next field is intact" {
	run sm -t <<'EOF'
To: "Ops team <ops>
Cc: root
Subject: disk

full
EOF
	[ "$status" -eq 0 ]
	f=$(only_message)
	# "@test.example" used to land after the line end, as the start
	# of the next field ("@test.exampleCc: root").
	grep -qx 'To: "Ops team <ops>@test.example' "$f"
	grep -qx 'Cc: root@test.example' "$f"
	grep -qx 'Subject: disk' "$f"
	run -1 grep -q '^@' "$f"
}

@test "-t with a recipient also on the command line, in To: and in Cc: names it once" {
	run sm -t root <<'EOF'
To: root, admin
Cc: root@test.example
Subject: twice

b
EOF
	[ "$status" -eq 0 ]
	# It was "root@test.example, root@test.example, admin@test.example,
	# root@test.example"; smtp-session names a repeated RCPT once too.
	[ "$(field X-Original-To)" = "root@test.example, admin@test.example" ]
}

# ---- options ----

@test "-t takes To:, Cc: and Bcc: (groups, names, comments), removes Bcc:, adds the arguments" {
	run sm -t extra <<'EOF'
To: Admin <admin>, "Joe Q." <joe@example.com>
Cc: ops (the team), undisclosed-recipients:;
Bcc: secret@example.com,
 hidden
Subject: s

b
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <$ME@test.example>
X-Original-To: extra@test.example, admin@test.example, joe@example.com,
	ops@test.example, secret@example.com, hidden@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local; DATE
To: Admin <admin@test.example>, "Joe Q." <joe@example.com>
Cc: ops@test.example (the team), undisclosed-recipients:;
Subject: s
Date: DATE
Message-ID: <ID@test.example>
From: $(self_from)

b
EOF
}

@test "-ti grouped is -t -i; without -t, To: names no recipient and Bcc: stays" {
	run sm -ti <<'EOF'
To: root
Subject: grouped

.
EOF
	[ "$status" -eq 0 ]
	[ "$(field X-Original-To)" = "root@test.example" ]
	[ "$(sed '1,/^$/d' "$(only_message)")" = "." ]
	rm -f "$MD"/new/*
	run sm someone <<'EOF'
To: root
Bcc: other
Subject: plain

x
EOF
	[ "$status" -eq 0 ]
	[ "$(field X-Original-To)" = "someone@test.example" ]
	[ "$(field Bcc)" = "other@test.example" ]
}

@test "-f '<>' gives an empty Return-Path; From: names the caller" {
	run sm -f '<>' root <<'EOF'
Subject: bounce

b
EOF
	[ "$status" -eq 0 ]
	[ "$(field Return-Path)" = "<>" ]
	[ "$(field From)" = "$(self_from)" ]
}

@test "-F puts the full name into an added From:, quoted when it must be; -r is -f" {
	run sm -F 'Backup, Inc. "nightly"' -r backup root <<'EOF'
Subject: done

b
EOF
	[ "$status" -eq 0 ]
	[ "$(field From)" = '"Backup, Inc. \"nightly\"" <backup@test.example>' ]
	[ "$(field Return-Path)" = "<backup@test.example>" ]
	rm -f "$MD"/new/*
	# A From: of its own is kept as it is.
	run sm -F Ignored root <<'EOF'
From: Robot <robot@example.com>

b
EOF
	[ "$(field From)" = "Robot <robot@example.com>" ]
	[ "$(grep -c '^From:' "$(only_message)")" = 1 ]
}

@test "a message without headers gets them and an empty line before it" {
	run sm root <<'EOF'
just a line: of text
second
EOF
	[ "$status" -eq 0 ]
	expect_stored <<EOF
Return-Path: <$ME@test.example>
X-Original-To: root@test.example
Received: (from $ME, uid $MYUID)
	by test.example (baremail-sendmail) with local
	for <root@test.example>; DATE
Date: DATE
Message-ID: <ID@test.example>
From: $(self_from)

just a line: of text
second
EOF
}

@test "CRLF input is stored with LF; a last line without its end gets one" {
	run bash -c 'printf "Subject: crlf\r\nTo: root\r\n\r\nline one\r\nbare\rCR\r\nlast" |
	    timeout "$1" $2 "$3" root' _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 0 ]
	f=$(only_message)
	[ "$(sed '1,/^$/d' "$f" | od -An -c | tr -s ' ')" = "$(printf 'line one\nbare\rCR\nlast\n' | od -An -c | tr -s ' ')" ]
	# W= counts what POP3 sends: each LF as CRLF (the lone CR stays).
	$PY - "$f" <<'EOF'
import re, sys
d = open(sys.argv[1], 'rb').read()
assert b'\r\n' not in d
w = int(re.search(r',W=(\d+)', sys.argv[1]).group(1))
assert w == len(d) + d.count(b'\n'), (w, len(d))
EOF
}

@test "CRLF input: a lone dot line ends the message there too" {
	run bash -c 'printf "Subject: d\r\n\r\nkept\r\n.\r\nlost\r\n" |
	    timeout "$1" $2 "$3" root' _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 0 ]
	[ "$(sed '1,/^$/d' "$(only_message)")" = "kept" ]
}

@test "recipients: commas in one argument, a name and angle brackets, and -- before a dash" {
	run sm -- 'a, Bee <b@example.com>' c -d <<'EOF'
Subject: r

b
EOF
	[ "$status" -eq 0 ]
	[ "$(field X-Original-To)" = "a@test.example, b@example.com, c@test.example, -d@test.example" ]
}

@test "unknown options are a warning, never a lost message" {
	run sm -Zfoo -J --weird -oXy -Ofoo=bar -m -e -v -n -G -U -x -c -s -L tag -h 3 -R hdrs -V envid -X /tmp/no-log root <<'EOF'
Subject: still here

b
EOF
	[ "$status" -eq 0 ]
	[[ "$output" == *"unknown option -Zfoo ignored"* ]]
	[[ "$output" == *"unknown option -J ignored"* ]]
	[[ "$output" == *"unknown option --weird ignored"* ]]
	[ "$(field Subject)" = "still here" ]
	[ "$(field X-Original-To)" = "root@test.example" ]
	[ ! -e /tmp/no-log ]
}

@test "-f at the very end lacks a value: a warning, and the message goes" {
	run sm root -f <<'EOF'
Subject: x

b
EOF
	[ "$status" -eq 0 ]
	[[ "$output" == *"option -f needs a value"* ]]
	[ "$(field Return-Path)" = "<$ME@test.example>" ]
}

@test "without any recipient the message still reaches the maildir, with a warning" {
	run sm -t <<'EOF'
Subject: nobody named

b
EOF
	[ "$status" -eq 0 ]
	[[ "$output" == *"no recipients"* ]]
	[ "$(field X-Original-To)" = "root@test.example" ]
}

@test "-bm and -O IgnoreDots=true work like the default and -i" {
	run sm -bm -O IgnoreDots=true root <<'EOF'
Subject: x

.
after
EOF
	[ "$status" -eq 0 ]
	[ "$(sed '1,/^$/d' "$(only_message)" | tr '\n' ' ')" = ". after " ]
}

@test "-bp reports an empty queue, also as mailq; -q, -q15m, -bi and newaliases do nothing" {
	run sm -bp
	[ "$status" -eq 0 ]
	[ "$output" = "Mail queue is empty" ]
	ln -s "$SENDMAIL" "$BATS_TEST_TMPDIR/mailq"
	ln -s "$SENDMAIL" "$BATS_TEST_TMPDIR/newaliases"
	run timeout "$T" $WRAP "$BATS_TEST_TMPDIR/mailq"
	[ "$status" -eq 0 ]
	[ "$output" = "Mail queue is empty" ]
	for args in -q -q15m -qf -bi -I; do
		run sm $args </dev/null
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
	run timeout "$T" $WRAP "$BATS_TEST_TMPDIR/newaliases"
	[ "$status" -eq 0 ]
	[ "$(count_messages)" = 0 ]
}

@test "-bd and -bt are refused with 64 (EX_USAGE)" {
	run sm -bd </dev/null
	[ "$status" -eq 64 ]
	[[ "$output" == *"never runs as a daemon"* ]]
	run sm -bt </dev/null
	[ "$status" -eq 64 ]
	[ "$(count_messages)" = 0 ]
}

@test "-bv says every address reaches the maildir" {
	run sm -bv root 'x@example.com'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "root@test.example... deliverable: maildir $MD" ]
	[ "${lines[1]}" = "x@example.com... deliverable: maildir $MD" ]
}

@test "--help and --version print to stdout" {
	run sm --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run sm --version
	[ "$status" -eq 0 ]
	[[ "$output" == "baremail-sendmail (BareMail) "* ]]
}

@test "-bs runs the SMTP session on stdin and stdout" {
	run bash -c 'printf "EHLO me\r\nMAIL FROM:<cron@host>\r\nRCPT TO:<admin>\r\nDATA\r\nSubject: via bs\r\n\r\nhello\r\n..dot\r\n.\r\nQUIT\r\n" |
	    timeout "$1" $2 "$3" -bs 2>/dev/null' _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	[ "$(field Subject)" = "via bs" ]
	[ "$(field Return-Path)" = "<cron@host>" ]
	[ "$(sed '1,/^$/d' "$(only_message)" | tr '\n' ' ')" = "hello .dot " ]
	[ "$(stat -c %U "$(only_message)")" = "$OWNER" ]
}

@test "-C FILE chooses the configuration" {
	mkdir -p "$BATS_TEST_TMPDIR/other"
	printf '[maildir]\npath = %s\n[smtp]\nhostname = other.example\n' \
	    "$BATS_TEST_TMPDIR/other/Maildir" > "$BATS_TEST_TMPDIR/other.conf"
	run sm -C "$BATS_TEST_TMPDIR/other.conf" root <<'EOF'
Subject: c

b
EOF
	[ "$status" -eq 0 ]
	[ "$(count_messages)" = 0 ]
	f=$(find "$BATS_TEST_TMPDIR/other/Maildir/new" -type f)
	grep -q '^X-Original-To: root@other.example$' "$f"
}

@test "a message over max_message_size is refused with 65 (EX_DATAERR)" {
	conf_set smtp max_message_size 1k
	run bash -c 'head -c 5000 /dev/zero | tr "\0" x | timeout "$1" $2 "$3" root' _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 65 ]
	[[ "$output" == *"max_message_size"* ]]
	[ "$(count_messages)" = 0 ]
}

# ---- who writes the maildir ----

@test "as root without [user] name it delivers, the file owned by the maildir's owner" {
	[ "$MYUID" = 0 ] || skip "needs root (CI runs as root)"
	printf '[maildir]\npath = %s\n[smtp]\nhostname = test.example\n' "$MD" > "$CONF"
	chown "$TEST_USER" "$MD"
	run sm -t <<'EOF'
To: root
Subject: from cron as root

b
EOF
	[ "$status" -eq 0 ]
	f=$(only_message)
	[ "$(stat -c %U "$f")" = "$TEST_USER" ]
	[ "$(stat -c %U "$MD/new")" = "$TEST_USER" ]
	[ "$(stat -c %U "$MD/tmp")" = "$TEST_USER" ]
	grep -q '^Received: (from root, uid 0)$' "$f"
}

@test "as root, a missing maildir is made for [user] name" {
	[ "$MYUID" = 0 ] || skip "needs root (CI runs as root)"
	rmdir "$MD"
	run sm root <<'EOF'
Subject: s

b
EOF
	[ "$status" -eq 0 ]
	[ "$(stat -c %U "$MD")" = "$TEST_USER" ]
	[ "$(stat -c %U "$(only_message)")" = "$TEST_USER" ]
}

@test "a maildir whose parents do not exist is made (0700 each, the owner's) and delivered to" {
	fresh_top
	conf_set maildir path "$TOP/a/b/Maildir"
	MD=$TOP/a/b/Maildir
	run bash -c 'umask 022; printf "Subject: s\n\nb\n" | timeout "$1" $2 "$3" root' \
	    _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 0 ]
	[ "$(stat -c %U "$(only_message)")" = "$OWNER" ]
	assert_made_0700 "$TOP/a" "$TOP/a/b" "$MD" "$MD/tmp" "$MD/new" "$MD/cur"
}

@test "maildir not writable by the caller: submitted over SMTP to smtp-session" {
	listen_inetd "$SMTP_SESSION"
	locked_config "$PORT"
	other_caller
	run "${RUNAS[@]}" env BAREMAIL_CONFIG="$LOCKED_CONF" HOME="$SM_HOME" \
	    timeout "$T" $WRAP "$SENDMAIL" -t -f cron <<'EOF'
To: root
Subject: through smtp

.. a dot-stuffed line
body
EOF
	[ "$status" -eq 0 ]
	[ ! -e "$SM_HOME/dead.letter" ]
	f=$(only_message)
	[ "$(field Subject)" = "through smtp" ]
	[ "$(field Return-Path)" = "<cron@test.example>" ]
	[ "$(field X-Original-To)" = "root@test.example" ]
	# Both trace lines: ours naming the caller, smtp-session's above it.
	grep -q "^Received: (from $CALLER, uid $(id -u "$CALLER"))\$" "$f"
	grep -q '^Received: from test.example (\[127.0.0.1\])$' "$f"
	[ "$(sed '1,/^$/d' "$f")" = "$(printf '.. a dot-stuffed line\nbody')" ]
	run -1 grep $'\r' "$f"
}

@test "-bs with a maildir the caller may not write: the session is smtp-session's at [sendmail] smtp" {
	# Laravel, Symfony Mailer and Nextcloud run "sendmail -bs" by default,
	# as the web server's account; it used to get "421 service not
	# available" (exit 75) where a message on stdin went over SMTP.
	listen_inetd "$SMTP_SESSION"
	locked_config "$PORT"
	other_caller
	run "${RUNAS[@]}" env BAREMAIL_CONFIG="$LOCKED_CONF" HOME="$SM_HOME" \
	    bash -c 'printf "EHLO app\r\nMAIL FROM:<www@host>\r\nRCPT TO:<admin>\r\nDATA\r\nSubject: via bs\r\n\r\n..dot\r\n.\r\nQUIT\r\n" |
	    timeout "$1" $2 "$3" -bs -i 2>/dev/null' _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 0 ]
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
	grep -q '^250-PIPELINING' <<<"$output"
	[ "$(field Subject)" = "via bs" ]
	[ "$(field Return-Path)" = "<www@host>" ]
	[ "$(sed '1,/^$/d' "$(only_message)")" = ".dot" ]
	[ ! -e "$SM_HOME/dead.letter" ]
}

@test "-bs relayed to a service that hangs up without a word: 421 and exit 75" {
	listen_inetd /bin/true
	locked_config "$PORT"
	other_caller
	run "${RUNAS[@]}" env BAREMAIL_CONFIG="$LOCKED_CONF" HOME="$SM_HOME" \
	    bash -c 'printf "EHLO app\r\nQUIT\r\n" | timeout "$1" $2 "$3" -bs 2>/dev/null' \
	    _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 75 ]
	[ "$(final_codes)" = "421" ]
}

@test "-bs with neither the maildir nor [sendmail] smtp: 421 and exit 75" {
	locked_config "$(free_port)"
	other_caller
	run "${RUNAS[@]}" env BAREMAIL_CONFIG="$LOCKED_CONF" HOME="$SM_HOME" \
	    bash -c 'printf "EHLO app\r\nQUIT\r\n" | timeout "$1" $2 "$3" -bs 2>/dev/null' \
	    _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" -eq 75 ]
	[ "$(final_codes)" = "421" ]
}

@test "a message past RLIMIT_FSIZE: exit 75 with the reason, nothing left in tmp/" {
	# write() fails with EFBIG instead of SIGXFSZ killing the program
	# half way through the file (which stayed in tmp/, the caller told
	# nothing).  Nobody listens on the fallback port.
	conf_set sendmail smtp "127.0.0.1:$(free_port)"
	# ~/dead.letter, the last resort, cannot take it either: what it
	# held stays as it was, without half a message behind it.
	printf 'From cron Thu Jan  1 00:00:00 1970\nSubject: old\n\nkept\n\n' > "$BATS_TEST_TMPDIR/dead.letter"
	cp "$BATS_TEST_TMPDIR/dead.letter" "$BATS_TEST_TMPDIR/dead.before"
	run bash -c '{ printf "Subject: big\n\n"; head -c 200000 /dev/zero | tr "\0" y; } |
	    HOME="$4" timeout "$1" prlimit --fsize=100000 $2 "$3" root' _ "$T" "$WRAP" "$SENDMAIL" "$BATS_TEST_TMPDIR"
	[ "$status" -eq 75 ]
	[[ "$output" == *"File too large"* ]]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
	cmp "$BATS_TEST_TMPDIR/dead.before" "$BATS_TEST_TMPDIR/dead.letter"
}

@test "neither maildir nor SMTP: exit 75 and the message in ~/dead.letter" {
	locked_config "$(free_port)"
	other_caller
	run "${RUNAS[@]}" env BAREMAIL_CONFIG="$LOCKED_CONF" HOME="$SM_HOME" \
	    timeout "$T" $WRAP "$SENDMAIL" -f cron root <<'EOF'
Subject: nowhere to go

From the start of a line
body
EOF
	[ "$status" -eq 75 ]
	[[ "$output" == *"saved in $SM_HOME/dead.letter"* ]]
	[ "$(count_messages)" = 0 ]
	$PY - "$SM_HOME/dead.letter" <<'EOF'
import re, sys
d = open(sys.argv[1], 'rb').read().decode()
assert re.match(r'From cron@test\.example [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\n', d), d
head, body = d.split('\n\n', 1)
assert 'Subject: nowhere to go\n' in head
assert 'Received: (from ' in head
assert body == '>From the start of a line\nbody\n\n', repr(body)
EOF
	# A second one is appended.
	run "${RUNAS[@]}" env BAREMAIL_CONFIG="$LOCKED_CONF" HOME="$SM_HOME" \
	    timeout "$T" $WRAP "$SENDMAIL" root <<<"Subject: two"
	[ "$status" -eq 75 ]
	[ "$(grep -c '^From ' "$SM_HOME/dead.letter")" = 2 ]
}

@test "a broken configuration: exit 78 and the message in ~/dead.letter" {
	echo "[nonsense]" >> "$CONF"
	echo "key = 1" >> "$CONF"
	mkdir -p "$BATS_TEST_TMPDIR/home"
	run env HOME="$BATS_TEST_TMPDIR/home" timeout "$T" $WRAP "$SENDMAIL" root <<<"Subject: kept"
	[ "$status" -eq 78 ]
	[[ "$output" == *"unknown section"* ]]
	grep -q '^Subject: kept$' "$BATS_TEST_TMPDIR/home/dead.letter"
	[ "$(count_messages)" = 0 ]
}

@test "-Dsendmail_links=true installs /usr/sbin/sendmail, /usr/lib/sendmail, mailq and newaliases" {
	local b="$BATS_TEST_TMPDIR/build" dest="$BATS_TEST_TMPDIR/dest"
	timeout 300 meson setup "$b" "$BAREMAIL_SOURCE" --prefix=/usr \
	    -Dsendmail_links=true >/dev/null
	DESTDIR="$dest" timeout 300 meson install -C "$b" --quiet --tags runtime
	[ "$(readlink "$dest/usr/sbin/sendmail")" = baremail-sendmail ]
	[ "$(readlink "$dest/usr/lib/sendmail")" = /usr/sbin/baremail-sendmail ]
	[ -x "$dest/usr/sbin/baremail-sendmail" ]
	run "$dest/usr/sbin/sendmail" -bp
	[ "$status" -eq 0 ]
	[ "$output" = "Mail queue is empty" ]
	[ "$(readlink "$dest/usr/sbin/newaliases")" = baremail-sendmail ]
	# mailq points at the installed path, not into DESTDIR: its name
	# is what matters (tested above with a link of our own).
	[ "$(readlink "$dest/usr/bin/mailq")" = /usr/sbin/baremail-sendmail ]
	run "$dest/usr/sbin/newaliases"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Off by default: no link replaces the machine's MTA.
	timeout 300 meson configure "$b" -Dsendmail_links=false
	rm -rf "$dest"
	DESTDIR="$dest" timeout 300 meson install -C "$b" --quiet --tags runtime
	[ -x "$dest/usr/sbin/baremail-sendmail" ]
	[ ! -e "$dest/usr/sbin/sendmail" ]
	[ ! -L "$dest/usr/sbin/sendmail" ]
	[ ! -L "$dest/usr/lib/sendmail" ]
	[ ! -L "$dest/usr/bin/mailq" ] && [ ! -L "$dest/usr/sbin/newaliases" ]
}

@test "what root delivers, pop3-session can fetch and delete" {
	[ "$MYUID" = 0 ] || skip "needs root (CI runs as root)"
	run sm -FCronDaemon -i -B8BITMIME -oem root <<<"Subject: from root's cron"
	[ "$status" -eq 0 ]
	pop3 "USER admin" "PASS any" "RETR 1" "DELE 1" "QUIT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Subject: from root's cron"* ]]
	[ "$(printf '%s\n' "$output" | tr -d '\r' | grep -c '^+OK')" -ge 5 ]
	[ "$(count_messages)" = 0 ]
}
