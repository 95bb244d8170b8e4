#!/usr/bin/env bats
# The README's service command, ./serve.sh, run from a copy of the checkout
# on a terminal (a pty) as a person would: mail in with curl and swaks, out
# with poplib, log lines on the terminal, stopped with Ctrl-C.  As root the
# copy is under /root, which the sessions' account cannot enter.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	if [ "$(id -u)" = 0 ]; then
		CHECKOUT=$(mktemp -d /root/baremail-serve-test.XXXXXX)
	else
		CHECKOUT="$BATS_FILE_TMPDIR/checkout"
		mkdir -p "$CHECKOUT"
	fi
	export CHECKOUT
	copy_checkout "$CHECKOUT"
	# Runs a command on a new pty, its output to LOG; Ctrl-C (a real
	# ^C typed on the terminal) when STOPFILE appears; exits with the
	# command's status (128+N for a signal).
	PTYRUN="$BATS_FILE_TMPDIR/ptyrun.py"
	export PTYRUN
	cat >"$PTYRUN" <<'EOF'
import os, pty, signal, sys, time, termios, fcntl
log, stopfile, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, master = pty.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(argv[0], argv)
out = open(log, "ab", buffering=0)
os.set_blocking(master, False)
stopped = False
while True:
    try:
        data = os.read(master, 65536)
        if data:
            out.write(data)
            continue
    except BlockingIOError:
        pass
    except OSError:
        pass
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        try:
            out.write(os.read(master, 65536))
        except OSError:
            pass
        sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
                 else 128 + os.WTERMSIG(status))
    if not stopped and os.path.exists(stopfile):
        os.write(master, b"\x03")	# the terminal turns it into SIGINT
        stopped = True
    time.sleep(0.05)
EOF
}

teardown_file() {
	case "${CHECKOUT:-}" in
	/root/baremail-serve-test.*) rm -rf "$CHECKOUT" ;;
	esac
}

# copy_checkout DIR: the checkout's files (tracked and new, not ignored).
copy_checkout() {
	if git -C "$BAREMAIL_SOURCE" rev-parse 2>/dev/null; then
		(cd "$BAREMAIL_SOURCE" &&
		    git ls-files -co --exclude-standard | grep -v '^build' |
		    tar -cf - -T -) | tar -xf - -C "$1"
	else	# an unpacked tarball
		tar -C "$BAREMAIL_SOURCE" --exclude='./build*' \
		    --exclude=./Maildir -cf - . | tar -xf - -C "$1"
	fi
}

setup() {
	baremail_setup
	SMTP_PORT=$(free_port)
	POP3_PORT=$(free_port)
	SUB_PORT=$(free_port)
	SUBS_PORT=$(free_port)
	POP3S_PORT=$(free_port)
	SERVE_LOG="$BATS_TEST_TMPDIR/terminal.log"
	STOP="$BATS_TEST_TMPDIR/stop"
	: >"$SERVE_LOG"
}

teardown() {
	serve_stop || :
}

# serve_start [AS-USER]: ./serve.sh on a pty, until it says it is ready.
serve_start() {
	local dir=$CHECKOUT runas=()
	if [ -n "${1:-}" ]; then
		dir=$USER_CHECKOUT
		runas=(setpriv --reuid="$1" --regid="$1" --init-groups
		    env HOME="$dir" USER="$1")
	fi
	(cd "$dir" && BAREMAIL_SMTP_PORT=$SMTP_PORT BAREMAIL_POP3_PORT=$POP3_PORT \
	    BAREMAIL_SUBMISSION_PORT=$SUB_PORT BAREMAIL_SUBMISSIONS_PORT=$SUBS_PORT \
	    BAREMAIL_POP3S_PORT=$POP3S_PORT exec timeout 600 "${runas[@]}" "$PY" "$PTYRUN" "$SERVE_LOG" "$STOP" \
	    ./serve.sh) </dev/null >/dev/null 2>&1 3>&- &
	SERVE_PID=$!
	local i
	for i in $(seq 3000); do
		grep -q 'Ctrl-C stops them all' "$SERVE_LOG" && break
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$SERVE_LOG"; return 1; }
		sleep 0.1
	done
	for i in $(seq 100); do
		[ "$(ss -Hltn "$(all_ports)" | wc -l)" = 5 ] && return 0
		sleep 0.1
	done
	cat "$SERVE_LOG"
	return 1
}

# The filter for ss(8) that matches the five listening ports.
all_ports() {
	local p f="sport = :$SMTP_PORT"
	for p in "$POP3_PORT" "$SUB_PORT" "$SUBS_PORT" "$POP3S_PORT"; do
		f="$f or sport = :$p"
	done
	echo "( $f )"
}

# Ctrl-C; returns serve.sh's exit status.
serve_stop() {
	[ -n "${SERVE_PID:-}" ] || return 0
	touch "$STOP"
	local rc=0
	wait "$SERVE_PID" || rc=$?
	SERVE_PID=
	return "$rc"
}

pop3_dump() {	# pop3_dump: every message through poplib, then deleted
	timeout "$T" "$PY" -c '
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
p.user("me"); p.pass_("whatever")
n = p.stat()[0]
print("count", n)
for i in range(1, n + 1):
    print(b"\n".join(p.retr(i)[1]).decode())
p.quit()
' "$POP3_PORT"
}

@test "serve.sh builds and serves: curl and swaks in, poplib out, mail in ./Maildir" {
	serve_start
	assert_file_contains "$SERVE_LOG" "SMTP  127.0.0.1:$SMTP_PORT"
	assert_file_contains "$SERVE_LOG" "POP3  127.0.0.1:$POP3_PORT"
	local before
	before=$(find "$CHECKOUT/Maildir/new" "$CHECKOUT/Maildir/cur" -type f | wc -l)
	run bash -c "printf 'Subject: curl-$$\r\n\r\nsent by curl\r\n' |
	    timeout $T curl -sS smtp://127.0.0.1:$SMTP_PORT \
	    --mail-from me@example.org --mail-rcpt you@example.org -T -"
	assert_success
	run timeout "$T" swaks --server "127.0.0.1:$SMTP_PORT" \
	    --from me@example.org --to you@example.org \
	    --header "Subject: swaks-$$" --body "sent by swaks"
	assert_success
	assert_output --partial '<-  250 2.0.0'
	local after
	after=$(find "$CHECKOUT/Maildir/new" "$CHECKOUT/Maildir/cur" -type f | wc -l)
	[ "$after" = $((before + 2)) ]
	run pop3_dump
	assert_success
	assert_line "Subject: curl-$$"
	assert_line "sent by curl"
	assert_line "Subject: swaks-$$"
	assert_line "sent by swaks"
}

@test "serve.sh prints how to send a test message and how to read it" {
	serve_start
	assert_file_contains "$SERVE_LOG" "curl -sS smtp://127.0.0.1:$SMTP_PORT"
	assert_file_contains "$SERVE_LOG" "swaks --server 127.0.0.1:$SMTP_PORT"
	assert_file_contains "$SERVE_LOG" "mutt -f pop://any@127.0.0.1:$POP3_PORT/"
	assert_file_contains "$SERVE_LOG" 'Thunderbird'
	# The curl line it prints works as printed.
	local line
	line=$(grep -A1 "^  printf 'Subject: hello" "$SERVE_LOG" | tr -d '\r' | tr '\n' ' ')
	run timeout "$T" bash -c "$line"
	assert_success
}

@test "serve.sh makes its certificate once, says where its CA is, and serves STARTTLS, TLS and STLS" {
	rm -rf "$CHECKOUT/serve-tls"
	serve_start
	local ca="$CHECKOUT/serve-tls/ca.crt"
	assert_file_contains "$SERVE_LOG" "Made the TLS certificate"
	assert_file_contains "$SERVE_LOG" "The TLS certificate's CA is $ca"
	assert_file_contains "$SERVE_LOG" "baremail-tls -d $CHECKOUT/serve-tls trust"
	assert_file_contains "$SERVE_LOG" "submission 127.0.0.1:$SUB_PORT (STARTTLS)"
	assert_file_contains "$SERVE_LOG" "submissions 127.0.0.1:$SUBS_PORT"
	assert_file_contains "$SERVE_LOG" "POP3S 127.0.0.1:$POP3S_PORT"
	assert_file_contains "$SERVE_LOG" "mutt -f pops://any@localhost:$POP3S_PORT/"
	local fp
	fp=$(openssl x509 -in "$ca" -noout -fingerprint -sha256 | sed 's/.*=//')
	assert_file_contains "$SERVE_LOG" "SHA-256 $fp"
	# curl and Python verify against that CA, by name.
	local p
	for p in "$SUB_PORT:smtp" "$SUBS_PORT:smtps"; do
		run bash -c "printf 'Subject: tls-%s\r\n\r\nx\r\n' '${p#*:}' |
		    timeout $T curl -sS --ssl-reqd --cacert '$ca' \
		    '${p#*:}://localhost:${p%%:*}' \
		    --mail-from me@example.org --mail-rcpt you@example.org -T -"
		assert_success
	done
	run timeout "$T" "$PY" -c '
import poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
p = poplib.POP3_SSL("localhost", int(sys.argv[2]), context=ctx, timeout=20)
p.user("a"); p.pass_("b")
n = p.stat()[0]
print("\n".join(b"\n".join(p.retr(i)[1]).decode() for i in range(1, n + 1)))
p.quit()
p = poplib.POP3("127.0.0.1", int(sys.argv[3]), timeout=20)
p.stls(context=ctx)
p.user("a"); p.pass_("b")
print("stls", p.stat()[0])
p.quit()
' "$ca" "$POP3S_PORT" "$POP3_PORT"
	assert_success
	assert_line 'Subject: tls-smtp'
	assert_line 'Subject: tls-smtps'
	assert_output --partial 'with ESMTPS'
	assert_line --regexp '^stls [0-9]+$'
	# The plain port offers no STARTTLS.
	run bash -c "printf 'EHLO x\r\nQUIT\r\n' | timeout $T curl -sS telnet://127.0.0.1:$SMTP_PORT"
	refute_output --partial STARTTLS
	# The next start keeps the same CA: trusting it once is enough.
	serve_stop || :
	: >"$SERVE_LOG"
	rm -f "$STOP"
	serve_start
	assert_file_contains "$SERVE_LOG" "SHA-256 $fp"
	run grep -c 'Made the TLS certificate' "$SERVE_LOG"
	assert_output 0
}

@test "the sessions' log lines reach the terminal, the managers' chatter does not" {
	serve_start
	run bash -c "printf 'Subject: logged\r\n\r\nx\r\n' |
	    timeout $T curl -sS smtp://127.0.0.1:$SMTP_PORT \
	    --mail-from me@example.org --mail-rcpt you@example.org -T -"
	assert_success
	run pop3_dump
	assert_success
	sleep 0.3
	assert_file_contains "$SERVE_LOG" 'smtp-session\[[0-9]*\]: info: .*stored'
	assert_file_contains "$SERVE_LOG" 'pop3-session\[[0-9]*\]: info: '
	assert_file_contains "$SERVE_LOG" "Connection from 127.0.0.1:[0-9]* to 127.0.0.1:$SMTP_PORT"
	run grep -c '^Communication attempt' "$SERVE_LOG"
	assert_output 0
}

@test "Ctrl-C stops all five listeners and leaves nothing behind" {
	serve_start
	local pids all
	all=$(all_ports)
	pids=$(ss -Hltnp "$all" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
	[ "$(printf '%s\n' "$pids" | wc -l)" = 5 ]
	# This serve.sh's own directories, read from a listener's -c and its
	# maildir path: other serve.sh runs on the machine at the same time
	# have directories of the same pattern.
	local conf left
	conf=$(tr '\0' '\n' < "/proc/$(printf '%s\n' "$pids" | head -1)/cmdline" |
	    grep -A1 -x -- -c | tail -1)
	[[ "$conf" == */baremail-serve.*/baremail.conf ]]
	left="${conf%/baremail.conf} $(sed -n 's|^path = \(/run/baremail-serve\.[0-9]*\)/Maildir$|\1|p' "$conf")"
	local rc=0
	serve_stop || rc=$?
	assert_equal "$rc" 130
	run ss -Hltn "$all"
	assert_output ''
	local p
	for p in $pids; do
		run ! kill -0 "$p"
	done
	run bash -c 'ls -d $1 2>/dev/null' _ "$left"
	assert_output ''
}

@test "a port another program has: serve.sh says which and how to pick another, never that it serves, and leaves nothing" {
	# Another program on the submission port, as a second serve.sh or a
	# local MTA's 2587 would be.
	timeout 600 "$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").close(); time.sleep(600)' "$SUB_PORT" "$BATS_TEST_TMPDIR/held" 3>&- &
	local holder=$! i
	for i in $(seq 100); do [ -e "$BATS_TEST_TMPDIR/held" ] && break; sleep 0.1; done
	local rc=0
	(cd "$CHECKOUT" && BAREMAIL_SMTP_PORT=$SMTP_PORT BAREMAIL_POP3_PORT=$POP3_PORT \
	    BAREMAIL_SUBMISSION_PORT=$SUB_PORT BAREMAIL_SUBMISSIONS_PORT=$SUBS_PORT \
	    BAREMAIL_POP3S_PORT=$POP3S_PORT exec timeout 600 "$PY" "$PTYRUN" "$SERVE_LOG" "$STOP" \
	    ./serve.sh) </dev/null >/dev/null 2>&1 3>&- || rc=$?
	kill "$holder"
	wait "$holder" || :
	cat "$SERVE_LOG"
	assert_equal "$rc" 1
	grep -q "Address already in use" "$SERVE_LOG"
	grep -q "serve.sh: cannot listen on 127.0.0.1:$SUB_PORT (another program has it?); pick free ports with BAREMAIL_SMTP_PORT" "$SERVE_LOG"
	run ! grep -q 'BareMail serves' "$SERVE_LOG"
	run ss -Hltn "$(all_ports)"
	assert_output ''
}

@test "as root the sessions run as baremail, from a checkout other accounts cannot enter" {
	[ "$(id -u)" = 0 ] || skip "run as an ordinary user: the next test covers it"
	# The copy sits under /root (mode 0700 here).
	[[ "$CHECKOUT" == /root/* ]]
	run setpriv --reuid=baremail-test --regid=baremail-test --init-groups ls "$CHECKOUT"
	assert_failure
	serve_start
	assert_file_contains "$SERVE_LOG" "serves $CHECKOUT/Maildir as baremail"
	run bash -c "printf 'Subject: owner\r\n\r\nx\r\n' |
	    timeout $T curl -sS smtp://127.0.0.1:$SMTP_PORT \
	    --mail-from me@example.org --mail-rcpt you@example.org -T -"
	assert_success
	run bash -c "stat -c %U $CHECKOUT/Maildir/new/* $CHECKOUT/Maildir/cur/* 2>/dev/null | sort -u"
	assert_output baremail
}

@test "as an ordinary user serve.sh works too, mail in that user's ./Maildir" {
	[ "$(id -u)" = 0 ] || skip "this whole file runs as an ordinary user already"
	USER_CHECKOUT="$BATS_TEST_TMPDIR/user-checkout"
	mkdir -p "$USER_CHECKOUT"
	copy_checkout "$USER_CHECKOUT"
	chown -R "$TEST_USER:" "$USER_CHECKOUT" "$SERVE_LOG"
	chmod a+rx "$PTYRUN"
	chmod a+rwx "$BATS_TEST_TMPDIR"
	serve_start "$TEST_USER"
	assert_file_contains "$SERVE_LOG" "serves $USER_CHECKOUT/Maildir"
	run bash -c "printf 'Subject: by-user\r\n\r\nx\r\n' |
	    timeout $T curl -sS smtp://127.0.0.1:$SMTP_PORT \
	    --mail-from me@example.org --mail-rcpt you@example.org -T -"
	assert_success
	run bash -c "stat -c %U $USER_CHECKOUT/Maildir/new/*"
	assert_output "$TEST_USER"
	run pop3_dump
	assert_line "Subject: by-user"
	local rc=0
	serve_stop || rc=$?
	assert_equal "$rc" 130
}
