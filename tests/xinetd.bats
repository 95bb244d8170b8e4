#!/usr/bin/env bats
# The xinetd entries, run by a real xinetd in the foreground: the shipped
# entries with only what a test must change (ports, account, paths, log
# file), mail in with curl, out with poplib.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	baremail_setup
	command -v xinetd >/dev/null || skip "xinetd is not installed"
	SMTP_PORT=$(free_port)
	SUB_PORT=$(free_port)
	POP3_PORT=$(free_port)
	SUBS_PORT=$(free_port)
	POP3S_PORT=$(free_port)
	XCONF="$BATS_TEST_TMPDIR/xinetd.conf"
	XLOG="$BATS_TEST_TMPDIR/xinetd.log"
	XPID="$BATS_TEST_TMPDIR/xinetd.pid"
	: >"$XLOG"
	write_conf smtp "$SMTP_PORT" "$SMTP_SESSION"
	write_conf submission "$SUB_PORT" "$SMTP_SESSION"
	write_conf pop3 "$POP3_PORT" "$POP3_SESSION"
	write_conf submissions "$SUBS_PORT" "$SMTP_SESSION"
	write_conf pop3s "$POP3S_PORT" "$POP3_SESSION"
}

teardown() {
	xinetd_stop
}

# write_conf NAME PORT PROGRAM: appends the built entry baremail-NAME to
# the config, changed only where the test must: its port (UNLISTED, so
# /etc/services is not consulted), the test account, the program under
# test (under $WRAP when set), the test's maildir and config, a log file.
# The entry's own server_args (--tls=...) stay, after the wrapper's.
write_conf() {
	local entry="$BAREMAIL_BUILD/xinetd/baremail-$1" port=$2 server args=""
	[ -f "$entry" ]
	if [ -n "$WRAP" ]; then
		# shellcheck disable=SC2086
		set -- "$1" "$2" $WRAP "$3"
		server=$(command -v "$3")
		shift 3
		args="$* $(sed -n 's/^\tserver_args\t*= //p' "$entry")"
	else
		server=$3
	fi
	local user=$TEST_USER
	[ "$(id -u)" = 0 ] || user=$(id -un)
	sed -e "s|^\(\tport\t*= \).*|\1$port\n\ttype\t\t= UNLISTED|" \
	    -e "s|^\(\tuser\t*= \).*|\1$user|" \
	    -e "s|^\(\tgroup\t*= \).*|\1$(id -gn "$user")|" \
	    -e "s|^\(\tserver\t*= \).*|\1$server|" \
	    -e "s|^\(\tenv\t*= \).*|\1MAILDIR=$MD BAREMAIL_CONFIG=$CONF|" \
	    -e "s|^\(\tlog_type\t*= \).*|\1FILE $XLOG|" \
	    "$entry" >"$XCONF.part"
	[ -z "$args" ] || sed -i '/^\tserver_args\t/d' "$XCONF.part"
	[ -z "$args" ] ||
	    sed -i "s|^\(\tserver\t*= .*\)|\1\n\tserver_args\t= $args|" "$XCONF.part"
	cat "$XCONF.part" >>"$XCONF"
	rm "$XCONF.part"
}

xinetd_start() {
	timeout 300 xinetd -dontfork -f "$XCONF" -pidfile "$XPID" \
	    </dev/null >"$BATS_TEST_TMPDIR/xinetd.out" 2>&1 3>&- &
	XINETD_TIMEOUT_PID=$!
	local i p
	for i in $(seq 200); do
		local up=0
		for p in "$SMTP_PORT" "$SUB_PORT" "$POP3_PORT" "$SUBS_PORT" \
		    "$POP3S_PORT"; do
			ss -Hltn "sport = :$p" | grep -q . && up=$((up + 1))
		done
		[ "$up" = 5 ] && [ -s "$XPID" ] && return 0
		sleep 0.05
	done
	cat "$BATS_TEST_TMPDIR/xinetd.out" "$XLOG" >&2
	return 1
}

xinetd_stop() {
	if [ -s "${XPID:-}" ]; then
		kill "$(cat "$XPID")" 2>/dev/null || :
		wait "$XINETD_TIMEOUT_PID" 2>/dev/null || :
		rm -f "$XPID"
	fi
}

send() {	# send PORT SUBJECT
	printf 'Subject: %s\r\n\r\nbody of %s\r\n' "$2" "$2" |
	    timeout "$T" curl -sS "smtp://127.0.0.1:$1" \
	    --mail-from cron@host.example --mail-rcpt admin@host.example -T -
}

@test "xinetd takes the five shipped entries and listens on their ports, bound to 127.0.0.1" {
	xinetd_start
	local p
	for p in "$SMTP_PORT" "$SUB_PORT" "$POP3_PORT" "$SUBS_PORT" "$POP3S_PORT"; do
		run ss -Hltn "sport = :$p"
		assert_output --partial "127.0.0.1:$p "
	done
	# The entries say so; the test did not change it.
	run grep -h $'^\tbind' "$BAREMAIL_BUILD"/xinetd/baremail-*
	[ "${#lines[@]}" = 5 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u)" = $'\tbind\t\t= 127.0.0.1' ]
}

@test "each entry's port, service name and --tls: 25 plain, 587 and 110 offer STARTTLS/STLS, 465 and 995 TLS" {
	local name port prog tls e
	while read -r name port prog tls; do
		e="$BAREMAIL_BUILD/xinetd/baremail-$name"
		grep -qx $'service '"$name" "$e"
		grep -qx $'\tport\t\t= '"$port" "$e"
		grep -qx $'\tserver\t\t= .*/'"$prog" "$e"
		# The name and port agree with /etc/services (xinetd checks).
		grep -qE "^$name[[:space:]]+$port/tcp" /etc/services
		if [ "$tls" = - ]; then
			run ! grep -q server_args "$e"
		else
			grep -qx $'\tserver_args\t= --tls='"$tls" "$e"
		fi
	done <<-EOF
	smtp 25 smtp-session -
	submission 587 smtp-session starttls
	submissions 465 smtp-session implicit
	pop3 110 pop3-session starttls
	pop3s 995 pop3-session implicit
	EOF
}

@test "mail sent with curl through xinetd on the smtp and submission entries comes back through poplib" {
	xinetd_start
	run send "$SMTP_PORT" "via-smtp-$$"
	assert_success
	run send "$SUB_PORT" "via-submission-$$"
	assert_success
	[ "$(count_messages)" = 2 ]
	run timeout "$T" "$PY" -c '
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
p.user("anyone"); p.pass_("anything")
count = p.stat()[0]
print("count", count)
for i in range(1, count + 1):
    print(b"\n".join(p.retr(i)[1]).decode())
p.dele(1); p.dele(2)
p.quit()
' "$POP3_PORT"
	assert_success
	assert_line "count 2"
	assert_line "Subject: via-smtp-$$"
	assert_line "body of via-smtp-$$"
	assert_line "Subject: via-submission-$$"
	[ "$(count_messages)" = 0 ]
}

# make_cert: baremail-tls's certificate for the sessions, in the test's
# directory, readable by the account they run as; CA in $CA.
make_cert() {
	local owner=$TEST_USER
	[ "$(id -u)" = 0 ] || owner=$(id -un)
	timeout "$T" "$BAREMAIL_TLS" -d "$BATS_TEST_TMPDIR/tls" -o "$owner" >/dev/null
	conf_set tls certificate "$BATS_TEST_TMPDIR/tls/server.crt"
	printf 'key = %s\n' "$BATS_TEST_TMPDIR/tls/server.key" >>"$CONF"
	CA="$BATS_TEST_TMPDIR/tls/ca.crt"
}

@test "TLS through xinetd: STARTTLS on submission, TLS on submissions and pop3s, STLS on pop3, none on smtp" {
	make_cert
	xinetd_start
	local p
	# curl verifies (name and chain) against baremail-tls's CA.
	for p in "$SUB_PORT:smtp" "$SUBS_PORT:smtps"; do
		run bash -c "printf 'Subject: tls-%s\r\n\r\nx\r\n' '${p%%:*}' |
		    timeout $T curl -sS --ssl-reqd --cacert '$CA' \
		    '${p#*:}://localhost:${p%%:*}' \
		    --mail-from a@b --mail-rcpt c@d -T -"
		assert_success
	done
	[ "$(count_messages)" = 2 ]
	# Received: (folded) names TLS in both.
	[ "$(cat "$MD"/new/* | grep -c 'with ESMTPS')" = 2 ]
	run timeout "$T" "$PY" -c '
import poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
p = poplib.POP3_SSL("localhost", int(sys.argv[2]), context=ctx, timeout=20)
p.user("a"); p.pass_("b")
print("pop3s", p.stat()[0])
p.quit()
p = poplib.POP3("localhost", int(sys.argv[3]), timeout=20)
p.stls(context=ctx)
p.user("a"); p.pass_("b")
print("stls", p.stat()[0])
p.quit()
' "$CA" "$POP3S_PORT" "$POP3_PORT"
	assert_success
	assert_line 'pop3s 2'
	assert_line 'stls 2'
	# Port 25 does not offer STARTTLS, though the certificate is there;
	# 587 does.
	run bash -c "printf 'EHLO x\r\nQUIT\r\n' | timeout $T curl -sS telnet://127.0.0.1:$SMTP_PORT"
	refute_output --partial STARTTLS
	assert_output --partial '250 HELP'
	run bash -c "printf 'EHLO x\r\nQUIT\r\n' | timeout $T curl -sS telnet://127.0.0.1:$SUB_PORT"
	assert_output --partial '250-STARTTLS'
}

@test "sessions under xinetd run as the entry's account, never root" {
	[ "$(id -u)" = 0 ] || skip "only root can make xinetd switch accounts"
	xinetd_start
	run send "$SMTP_PORT" "owner-$$"
	assert_success
	run stat -c %U "$(only_message)"
	assert_output "$TEST_USER"
}

@test "under xinetd stderr is the connection: the client gets replies and no log lines" {
	conf_set log level debug
	xinetd_start
	run timeout "$T" "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
          b"Subject: s\r\n\r\nx\r\n.\r\nBOGUS\r\nQUIT\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("latin-1").replace("\r", ""))
' "$SMTP_PORT"
	assert_success
	assert_line --index 0 --regexp '^220 '
	assert_line --regexp '^221 '
	run bash -c 'printf "%s\n" "$1" | grep -cvE "^[0-9]{3}[ -]"' _ "$output"
	assert_output 0
}

@test "xinetd logs each connection (log_on_success) to the entry's log" {
	xinetd_start
	send "$SMTP_PORT" "logged-$$"
	run timeout "$T" "$PY" -c '
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
p.user("a"); p.pass_("b"); p.stat(); p.quit()
' "$POP3_PORT"
	assert_success
	sleep 0.2
	run grep -E 'START: baremail-(smtp|pop3) pid=[0-9]+ from=127.0.0.1' "$XLOG"
	[ "${#lines[@]}" -ge 2 ] || { cat "$XLOG"; false; }
	run grep -E 'EXIT: baremail-smtp status=0 pid=[0-9]+ duration=' "$XLOG"
	assert_success
}

@test "xinetd stopped by its PID frees the ports" {
	xinetd_start
	local pid
	pid=$(cat "$XPID")
	kill "$pid"
	wait "$XINETD_TIMEOUT_PID" || :
	rm -f "$XPID"
	run ss -Hltn "sport = :$SMTP_PORT"
	assert_output ''
	run ! kill -0 "$pid"
}

@test "as shipped, on ports 25, 587 and 110 by service name, in a network namespace of its own" {
	[ "$(id -u)" = 0 ] || skip "a network namespace of its own needs root"
	# Unchanged but for the program, the account and the maildir: the
	# service names must match /etc/services and the ports.
	: >"$XCONF"
	local name prog
	for name in smtp submission pop3; do
		prog=$SMTP_SESSION
		[ "$name" = pop3 ] && prog=$POP3_SESSION
		local server=$prog args=""
		if [ -n "$WRAP" ]; then
			# shellcheck disable=SC2086
			set -- $WRAP
			server=$(command -v "$1")
			shift
			args="\n\tserver_args\t= $* $prog $(sed -n 's/^\tserver_args\t*= //p' \
			    "$BAREMAIL_BUILD/xinetd/baremail-$name")"
		fi
		sed -e "s|^\(\tuser\t*= \).*|\1$TEST_USER|" \
		    -e "${args:+/^\tserver_args\t/d}" \
		    -e "s|^\(\tgroup\t*= \).*|\1$(id -gn "$TEST_USER")|" \
		    -e "s|^\(\tserver\t*= \).*|\1$server$args|" \
		    -e "s|^\(\tenv\t*= \).*|\1MAILDIR=$MD BAREMAIL_CONFIG=$CONF|" \
		    -e "s|^\(\tlog_type\t*= \).*|\1FILE $XLOG|" \
		    "$BAREMAIL_BUILD/xinetd/baremail-$name" >>"$XCONF"
	done
	# Five lines changed, no more (six under a wrapper: server_args).
	local changed=5
	[ -z "$WRAP" ] || changed=6
	[ "$(diff "$BAREMAIL_BUILD/xinetd/baremail-pop3" \
	    <(sed -n '/^# POP3 with STLS on port 110/,/^}/p' "$XCONF") | grep -c '^<')" = "$changed" ]
	run timeout 120 unshare -n bash -c '
		ip link set lo up
		xinetd -dontfork -f "$1" -pidfile "$2" </dev/null &
		for i in $(seq 100); do
			[ "$(ss -Hltn | grep -c "127.0.0.1:\(25\|587\|110\) ")" = 3 ] && break
			sleep 0.05
		done
		ss -Hltn
		printf "Subject: port25\r\n\r\nx\r\n" | curl -sS smtp://127.0.0.1:25 \
		    --mail-from a@b --mail-rcpt c@d -T - && echo sent-25
		printf "Subject: port587\r\n\r\nx\r\n" | curl -sS smtp://127.0.0.1:587 \
		    --mail-from a@b --mail-rcpt c@d -T - && echo sent-587
		"$3" -c "
import poplib
p = poplib.POP3(\"127.0.0.1\", 110, timeout=20)
p.user(\"a\"); p.pass_(\"b\")
print(\"pop3-count\", p.stat()[0])
p.quit()
"
		kill "$(cat "$2")"
		wait
	' _ "$XCONF" "$XPID" "$PY"
	assert_success
	assert_output --partial '127.0.0.1:25 '
	assert_output --partial '127.0.0.1:587 '
	assert_output --partial '127.0.0.1:110 '
	assert_line sent-25
	assert_line sent-587
	assert_line 'pop3-count 2'
	rm -f "$XPID"
}
