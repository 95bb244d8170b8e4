# Shared by every bats file.  Each test gets its own maildir and config
# under $BATS_TEST_TMPDIR, and every program runs under timeout(1).
#
# A line '! cmd' never fails a bats test (errexit ignores it): write
# 'run ! cmd', 'run -1 grep ...' or an explicit [ ... ] (scripts/analyze.sh
# rejects the bare form).
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

# The account sessions switch to when the tests run as root (CI does):
# the programs refuse to run as root without [user] name.
TEST_USER=baremail-test
T=${BAREMAIL_TIMEOUT:-30}		# seconds any one program may take
PY=/usr/bin/python3			# Debian's, with Debian's python3-* modules

# Programs under test may run under a wrapper (valgrind) in some CI passes.
WRAP=${BAREMAIL_WRAPPER:-}

baremail_setup() {
	MD="$BATS_TEST_TMPDIR/Maildir"
	CONF="$BATS_TEST_TMPDIR/baremail.conf"
	mkdir -p "$MD"
	{
		echo "[maildir]"
		echo "path = $MD"
		echo "[smtp]"
		echo "hostname = test.example"
		if [ "$(id -u)" = 0 ]; then
			echo "[user]"
			echo "name = $TEST_USER"
		fi
	} > "$CONF"
	if [ "$(id -u)" = 0 ]; then
		# bats makes its temporary directories 0700: let the
		# unprivileged account reach its maildir.
		local d="$BATS_TEST_TMPDIR"
		while [ "$d" != / ] && [ "$d" != "$(dirname "$BATS_RUN_TMPDIR")" ]; do
			chmod a+x "$d"
			d=$(dirname "$d")
		done
		chown -R "$TEST_USER" "$MD"
		programs_reachable
	fi
	export BAREMAIL_CONFIG="$CONF"
}

# Programs that xinetd or setpriv start as $TEST_USER must be reachable by
# it: a checkout under /root (mode 0700) is not.  Then the test uses
# copies in its own directory, which setup made reachable.
programs_reachable() {
	setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --clear-groups \
	    test -x "${SMTP_SESSION:-/nonexistent}" 2>/dev/null && return 0
	local v bin="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$bin"
	for v in SMTP_SESSION POP3_SESSION SENDMAIL BAREMAIL; do
		[ -n "${!v:-}" ] || continue
		cp "${!v}" "$bin/"
		export "$v=$bin/$(basename "${!v}")"
	done
	chmod -R a+rX "$bin"
}

setup() {
	baremail_setup
}

# Appends a key to the test's config: conf_set SECTION KEY VALUE.
conf_set() {
	printf '[%s]\n%s = %s\n' "$1" "$2" "$3" >> "$CONF"
}

# Joins its arguments as CRLF lines.
crlf() {
	local l
	for l in "$@"; do printf '%s\r\n' "$l"; done
}

# smtp LINE...: one session over a pipe, output in $output, status in $status.
smtp() {
	run bash -c 'crlf() { local l; for l in "$@"; do printf "%s\r\n" "$l"; done; }
		crlf "${@:4}" | timeout "$1" $2 "$3"' _ "$T" "$WRAP" "$SMTP_SESSION" "$@"
}

# pop3 LINE...: likewise for pop3-session.
pop3() {
	run bash -c 'crlf() { local l; for l in "$@"; do printf "%s\r\n" "$l"; done; }
		crlf "${@:4}" | timeout "$1" $2 "$3"' _ "$T" "$WRAP" "$POP3_SESSION" "$@"
}

# The reply code of each reply's last line, space-separated ("220 250 221").
final_codes() {
	printf '%s\n' "$output" | tr -d '\r' | sed -n 's/^\([0-9][0-9][0-9]\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}

# Files in the maildir's new/ and cur/, and leftovers in tmp/.
count_messages() {
	find "$MD/new" "$MD/cur" -type f 2>/dev/null | wc -l
}
count_tmp() {
	find "$MD/tmp" -type f 2>/dev/null | wc -l
}
# The one message in the maildir (fails if there is not exactly one).
only_message() {
	local f
	f=$(find "$MD/new" "$MD/cur" -type f)
	[ "$(printf '%s\n' "$f" | grep -c .)" = 1 ] || { echo "expected one message, got: $f" >&2; return 1; }
	printf '%s\n' "$f"
}

# fresh_top: an empty directory the sessions' account may write in, as a
# new user's home would be; its path in $TOP.
fresh_top() {
	TOP="$BATS_TEST_TMPDIR/fresh"
	mkdir "$TOP"
	if [ "$(id -u)" = 0 ]; then chown "$TEST_USER" "$TOP"; fi
}

# assert_made_0700 DIR...: each is a directory of mode 0700, owned by the
# account the sessions run as.
assert_made_0700() {
	local d owner
	owner=$(id -un)
	if [ "$(id -u)" = 0 ]; then owner=$TEST_USER; fi
	for d in "$@"; do
		[ -d "$d" ]
		[ "$(stat -c '%a %U' "$d")" = "700 $owner" ]
	done
}

# A free TCP port on loopback.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# md_put SUBDIR NAME: writes stdin to the maildir's SUBDIR/NAME, owned by
# the account the sessions run as (so they may rename and delete it).
md_put() {
	mkdir -p "$MD/tmp" "$MD/new" "$MD/cur"
	cat > "$MD/$1/$2"
	if [ "$(id -u)" = 0 ]; then chown -R "$TEST_USER" "$MD"; fi
}

# listen_inetd PROGRAM ARG...: serves PROGRAM on 127.0.0.1:$PORT, one
# process per connection, in the background until listen_stop (call it
# from teardown).  The programs' log goes to $LISTEN_LOG, by default
# $BATS_TEST_TMPDIR/listen.log.
listen_inetd() {
	PORT=$(free_port)
	timeout "${LISTEN_TIMEOUT:-120}" systemd-socket-activate --inetd -a -l "127.0.0.1:$PORT" \
	    -E BAREMAIL_CONFIG $WRAP "$@" \
	    </dev/null >/dev/null 2>"${LISTEN_LOG:-$BATS_TEST_TMPDIR/listen.log}" 3>&- &
	LISTEN_PID=$!
	local i
	for i in $(seq 200); do
		ss -Hltn "sport = :$PORT" | grep -q . && return 0
		sleep 0.05
	done
	echo "nothing listens on $PORT" >&2
	return 1
}
listen_stop() {
	if [ -n "${LISTEN_PID:-}" ]; then
		kill "$LISTEN_PID" 2>/dev/null || true
		wait "$LISTEN_PID" 2>/dev/null || true
		LISTEN_PID=
	fi
}

# waiting_status GREETING PROGRAM [ARG...]: starts the program on a FIFO,
# waits for its greeting and copies the /proc status of the process then
# waiting for the client to $BATS_TEST_TMPDIR/status (left empty when no
# greeting came).  Returns the program's exit status.
waiting_status() {
	local greeting=$1 fifo="$BATS_TEST_TMPDIR/in" out="$BATS_TEST_TMPDIR/out" pid spid i
	shift
	rm -f "$fifo" "$out"
	: > "$BATS_TEST_TMPDIR/status"
	mkfifo "$fifo"
	timeout "$T" $WRAP "$@" <"$fifo" >"$out" 2>/dev/null &
	pid=$!
	exec 7>"$fifo"
	for i in $(seq 400); do
		grep -q "^$greeting" "$out" 2>/dev/null && break
		sleep 0.05
	done
	# timeout(1) is our child; the program (or its wrapper) is its child.
	spid=$(pgrep -P "$pid" | head -1)
	if [ -n "$spid" ] && grep -q "^$greeting" "$out"; then
		cat "/proc/$spid/status" > "$BATS_TEST_TMPDIR/status"
	fi
	exec 7>&-
	wait "$pid"
}
