#!/usr/bin/env bats
# Load: many concurrent SMTP connections while POP3 sessions list,
# retrieve and delete; every message accounted for by SHA-256.  Through
# systemd-socket-activate (one session per connection), and through a
# real xinetd whose instances limit is reached on purpose.
# Bounded: 200 x 10 in the plain and ASan passes, 20 x 2 under valgrind
# ($BAREMAIL_WRAPPER set), where a session starts ~50 times slower.
load helpers

LOAD="$BAREMAIL_SOURCE/tests/load.py"

load_size() {
	if [ -n "$WRAP" ]; then echo "20 2"; else echo "200 10"; fi
}

setup() {
	baremail_setup
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -s "${XPID:-}" ]; then
		kill "$(cat "$XPID")" 2>/dev/null || true
		wait "${XINETD_TIMEOUT_PID:-}" 2>/dev/null || true
	fi
}

# serve PROGRAM: one process per connection on a free loopback port,
# printed on stdout; the listener is stopped by teardown.
serve() {
	local port i
	port=$(free_port)
	timeout 900 systemd-socket-activate --inetd -a -l "127.0.0.1:$port" \
	    -E BAREMAIL_CONFIG $WRAP "$1" \
	    </dev/null >/dev/null 2>>"$BATS_TEST_TMPDIR/serve.log" 3>&- &
	PIDS+=($!)
	for i in $(seq 200); do
		ss -Hltn "sport = :$port" | grep -q . && { SERVED=$port; return 0; }
		sleep 0.05
	done
	return 1
}

@test "200 SMTP connections x 10 messages (20 x 2 under valgrind) with POP3 sessions retrieving and deleting: each exactly once, SHA-256 intact" {
	local size sp pp
	size=$(load_size)
	serve "$SMTP_SESSION"; sp=$SERVED
	serve "$POP3_SESSION"; pp=$SERVED
	echo "# load: $size (connections, messages each)" >&3
	# shellcheck disable=SC2086
	run timeout 900 "$PY" "$LOAD" "$sp" "$pp" $size
	printf '%s\n' "$output"
	printf '%s\n' "$output" | grep '^figures:' | sed 's/^/# /' >&3
	[ "$status" = 0 ]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
	# Under valgrind, its reports land in the listener's stderr.
	run -1 grep -E '^==[0-9]+== ' "$BATS_TEST_TMPDIR/serve.log"
}

# xinetd_conf NAME PORT PROGRAM INSTANCES: an entry for NAME derived from
# the shipped one (deploy's xinetd/ entries: the same attributes), with the
# port, the test account, the program (under $WRAP), the test's config,
# a small instances limit and a log file.
xinetd_conf() {
	local entry="$BAREMAIL_BUILD/xinetd/baremail-$1" server args=""
	[ -f "$entry" ]
	if [ -n "$WRAP" ]; then
		server=$(command -v "${WRAP%% *}")
		args="${WRAP#* } $3"
	else
		server=$3
	fi
	local user=$TEST_USER
	[ "$(id -u)" = 0 ] || user=$(id -un)
	sed -e "s|^\(\tport\t*= \).*|\1$2\n\ttype\t\t= UNLISTED|" \
	    -e "s|^\(\tuser\t*= \).*|\1$user|" \
	    -e "s|^\(\tgroup\t*= \).*|\1$(id -gn "$user")|" \
	    -e "s|^\(\tserver\t*= \).*|\1$server|" \
	    -e "s|^\(\tenv\t*= \).*|\1BAREMAIL_CONFIG=$CONF|" \
	    -e "s|^\(\tinstances\t*= \).*|\1$4|" \
	    -e "s|^\(\tper_source\t*= \).*|\1$4|" \
	    -e "s|^\(\tcps\t*= \).*|\11000 1|" \
	    -e "s|^\(\tlog_type\t*= \).*|\1FILE $XLOG|" \
	    -e "${WRAP:+/^\tserver_args\t/d}" \
	    "$entry"
	# Under a wrapper the caller writes server_args (the wrapper's and the
	# program); the entry's own (pop3's --tls=starttls, which offers STLS
	# only with a certificate, and this test has none) is left out.
	[ -z "$args" ] || echo "# server_args for $1: $args" >/dev/null
}

@test "through xinetd with instances = 4: refused connections are clean, retried, nothing lost or doubled" {
	command -v xinetd >/dev/null
	[ "$(id -u)" = 0 ] || [ -z "$WRAP" ] || true
	local sp pp conns msgs
	if [ -n "$WRAP" ]; then conns=12 msgs=2; else conns=40 msgs=5; fi
	sp=$(free_port)
	pp=$(free_port)
	XCONF="$BATS_TEST_TMPDIR/xinetd.conf"
	XLOG="$BATS_TEST_TMPDIR/xinetd.log"
	XPID="$BATS_TEST_TMPDIR/xinetd.pid"
	: >"$XLOG"
	{
		xinetd_conf smtp "$sp" "$SMTP_SESSION" 4
		xinetd_conf pop3 "$pp" "$POP3_SESSION" 4
	} >"$XCONF"
	if [ -n "$WRAP" ]; then
		sed -i "s|^\(\tserver\t*= .*\)|\1\n\tserver_args\t= ${WRAP#* } __PROG__|" "$XCONF"
		awk -v s="$SMTP_SESSION" -v p="$POP3_SESSION" '
		    /^service smtp/ { prog = s } /^service pop3/ { prog = p }
		    { sub(/__PROG__/, prog); print }' "$XCONF" >"$XCONF.new"
		mv "$XCONF.new" "$XCONF"
	fi
	timeout 900 xinetd -dontfork -f "$XCONF" -pidfile "$XPID" \
	    </dev/null >"$BATS_TEST_TMPDIR/xinetd.out" 2>&1 3>&- &
	XINETD_TIMEOUT_PID=$!
	local i
	for i in $(seq 200); do
		ss -Hltn "sport = :$sp" | grep -q . && ss -Hltn "sport = :$pp" | grep -q . &&
		    [ -s "$XPID" ] && break
		sleep 0.05
	done
	[ -s "$XPID" ]
	echo "# xinetd instances = 4: $conns connections x $msgs messages" >&3
	run timeout 900 "$PY" "$LOAD" "$sp" "$pp" "$conns" "$msgs" --retry-refused
	printf '%s\n' "$output"
	printf '%s\n' "$output" | grep '^figures:' | sed 's/^/# /' >&3
	[ "$status" = 0 ]
	# The limit was reached: xinetd logged refusals, and the client saw them.
	grep -q 'FAIL: smtp service_limit\|FAIL: .*service_limit\|per_source_limit' "$XLOG"
	[[ "$output" =~ ([1-9][0-9]*)\ connections\ refused ]]
	[[ "$output" == *"$((conns * msgs)) acknowledged"* ]]
	[ "$(count_messages)" = 0 ]
	[ "$(count_tmp)" = 0 ]
}
