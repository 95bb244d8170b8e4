#!/usr/bin/env bats
# The systemd units: systemd-analyze's verdicts on the files, then the real
# thing under a real systemd booted in a container (systemd-nspawn):
# sockets enabled, mail sent with curl, read with poplib, the journal, and
# the sandbox seen from inside a service.

load helpers
load nspawn
bats_require_minimum_version 1.5.0

# One socket and its service per listener, and the certificate's oneshot.
LISTENERS="baremail-smtp baremail-submission baremail-submissions baremail-pop3 baremail-pop3s"
SERVICES=""
UNITS="baremail-tls.service"
for l in $LISTENERS; do
	SERVICES="$SERVICES $l@.service"
	UNITS="$UNITS $l.socket $l@.service"
done
# baremail's own units: system only.
ADMIN_UNITS="baremail-expire.service baremail-expire.timer baremail-notify.service baremail-notify.path"

# configure_tree NAME PREFIX TREE: configures a build for PREFIX (only the
# configuration, nothing is compiled) and lays out in TREE what an install
# would put under PREFIX: the programs under test, the units, sysusers.d,
# tmpfiles.d and the manual pages.
configure_tree() {
	local build="$BATS_FILE_TMPDIR/$1" prefix=$2 tree=$3
	timeout 120 meson setup "$build" "$BAREMAIL_SOURCE" \
	    --prefix="$prefix" \
	    -Dsystemdsystemunitdir="$prefix/lib/systemd/system" \
	    -Dsystemduserunitdir="$prefix/lib/systemd/user" \
	    >"$build.log" 2>&1 || { cat "$build.log" >&2; return 1; }
	local d
	for d in lib/systemd/system lib/systemd/user libexec/baremail sbin \
	    etc/baremail/tls \
	    lib/sysusers.d lib/tmpfiles.d share/man/man5 share/man/man7 \
	    share/man/man8; do
		mkdir -p "$tree/$d"
	done
	local b="$build/systemd" s="$BAREMAIL_SOURCE/systemd"
	cp "$s"/*.socket "$b"/*.service "$tree/lib/systemd/system/"
	cp "$s"/*.timer "$s"/*.path "$tree/lib/systemd/system/"
	mkdir -p "$tree/sbin" && cp "$BAREMAIL" "$tree/sbin/"
	cp "$s"/user/*.socket "$b"/user/*.service "$tree/lib/systemd/user/"
	cp "$s/baremail.sysusers" "$tree/lib/sysusers.d/baremail.conf"
	cp "$s/baremail.tmpfiles" "$tree/lib/tmpfiles.d/baremail.conf"
	cp "$SMTP_SESSION" "$POP3_SESSION" "$tree/libexec/baremail/"
	cp "$build/tls/baremail-tls" "$tree/sbin/"
	cp "$BAREMAIL_SOURCE"/man/*.5 "$tree/share/man/man5/"
	cp "$BAREMAIL_SOURCE"/man/*.7 "$tree/share/man/man7/"
	cp "$BAREMAIL_SOURCE"/man/*.8 "$tree/share/man/man8/"
	chmod -R a+rX "$tree"
}

# Boots the host's own /usr in a container (a tmpfs root, no network but
# its own loopback) with the prefix, units, sysusers.d and tmpfiles.d
# entries bound in (tests/nspawn.bash: LEADER, or NSPAWN_SKIP).
boot_container() {
	local binds=() u
	binds+=(--bind-ro="$BOX:$BOXPREFIX")
	# Where baremail-tls.service writes the certificate.
	mkdir -p "$BATS_FILE_TMPDIR/boxtls"
	binds+=(--bind="$BATS_FILE_TMPDIR/boxtls:$BOXPREFIX/etc/baremail/tls")
	# The system's certificate store as a Debian machine has it (the
	# volatile /etc has none), in directories of the test's that
	# "baremail-tls trust" may change: /usr/local/share/ca-certificates
	# and /etc/ssl, filled at boot by update-ca-certificates.
	mkdir -p "$BATS_FILE_TMPDIR/boxca" "$BATS_FILE_TMPDIR/boxssl/certs"
	cp /etc/ssl/openssl.cnf "$BATS_FILE_TMPDIR/boxssl/"
	binds+=(--bind="$BATS_FILE_TMPDIR/boxca:/usr/local/share/ca-certificates")
	binds+=(--bind="$BATS_FILE_TMPDIR/boxssl:/etc/ssl")
	binds+=(--bind-ro=/etc/ca-certificates.conf)
	[ ! -d /etc/ca-certificates ] || binds+=(--bind-ro=/etc/ca-certificates)
	for u in $UNITS; do
		binds+=(--bind-ro="$BOX/lib/systemd/system/$u:/etc/systemd/system/$u")
	done
	for u in $UNITS; do
		binds+=(--bind-ro="$BOX/lib/systemd/user/$u:/etc/systemd/user/$u")
	done
	for u in $ADMIN_UNITS; do
		binds+=(--bind-ro="$BOX/lib/systemd/system/$u:/etc/systemd/system/$u")
	done
	# An ASan build: LeakSanitizer stops the world with ptrace(), which
	# the sandbox refuses, so its leak check is off in here (the other
	# test files do it); ASan and UBSan errors still fail the session.
	if ldd "$SMTP_SESSION" | grep -q libasan; then
		printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
		    >"$BATS_FILE_TMPDIR/asan.conf"
		# baremail-tls.service runs that build's baremail config.
		for u in $SERVICES baremail-tls.service; do
			binds+=(--bind-ro="$BATS_FILE_TMPDIR/asan.conf:/etc/systemd/system/$u.d/asan.conf")
			binds+=(--bind-ro="$BATS_FILE_TMPDIR/asan.conf:/etc/systemd/user/$u.d/asan.conf")
		done
		for u in baremail-expire.service baremail-notify.service; do
			binds+=(--bind-ro="$BATS_FILE_TMPDIR/asan.conf:/etc/systemd/system/$u.d/asan.conf")
		done
	fi
	# The programs under test were built for another prefix: a drop-in
	# points them at the box's configuration, whose [tls] certificate and
	# key are where the box's baremail-tls.service writes them (and
	# baremail-tls reads it through that build's baremail config).
	printf '[Service]\nEnvironment=BAREMAIL_CONFIG=%s/etc/baremail.conf\n' \
	    "$BOXPREFIX" >"$BATS_FILE_TMPDIR/boxconf.conf"
	for u in $SERVICES baremail-tls.service; do
		binds+=(--bind-ro="$BATS_FILE_TMPDIR/boxconf.conf:/etc/systemd/system/$u.d/boxconf.conf")
	done
	# A user manager starts through PAM.
	binds+=(--bind-ro=/etc/pam.d --bind-ro=/etc/security)
	# awk and others are alternatives' links in /etc.
	binds+=(--bind-ro=/etc/alternatives)
	binds+=(--bind-ro="$BOX/lib/sysusers.d/baremail.conf:/etc/sysusers.d/baremail.conf")
	binds+=(--bind-ro="$BOX/lib/tmpfiles.d/baremail.conf:/etc/tmpfiles.d/baremail.conf")
	binds+=(--bind-ro="$BATS_FILE_TMPDIR/probe:/etc/baremail-probe")
	# The machine's own mail servers would take ports 25 and 110 when
	# the container enables every unit on its first boot: masked, and so
	# are GlusterFS (multihost.bats's) and Alertmanager (run below by
	# hand), which would only slow the boot.
	nspawn_boot -D / --volatile=yes --private-network "${binds[@]}" -- \
	    systemd.mask=dovecot.socket systemd.mask=dovecot.service \
	    systemd.mask=exim4.service systemd.mask=postfix.service \
	    systemd.mask=glusterd.service systemd.mask=glustereventsd.service \
	    systemd.mask=prometheus-alertmanager.service
	[ -z "$NSPAWN_SKIP" ] || return 0
	# The volatile /etc has no hosts file, which every Debian machine
	# has and Go's resolver needs for "localhost".
	in_box sh -c 'test -e /etc/hosts ||
	    printf "127.0.0.1 localhost\n::1 localhost ip6-localhost\n" >/etc/hosts'
	in_box timeout 120 update-ca-certificates --fresh >/dev/null 2>&1 || :
}

setup_file() {
	# For systemd-analyze here: the units name files under this prefix.
	PREFIX="$BATS_FILE_TMPDIR/prefix"
	SYSUNITS="$PREFIX/lib/systemd/system"
	USERUNITS="$PREFIX/lib/systemd/user"
	export PREFIX SYSUNITS USERUNITS
	configure_tree build "$PREFIX" "$PREFIX"
	# For the container: a prefix outside /tmp, which the services do not
	# see (PrivateTmp=), bound in from BOX.
	BOXPREFIX=/opt/baremail
	BOX="$BATS_FILE_TMPDIR/box"
	export BOXPREFIX BOX
	configure_tree boxbuild "$BOXPREFIX" "$BOX"
	# The LAN name and address the TLS tests reach the box by, in the
	# certificate that baremail-tls.service makes at boot.
	LAN_NAME=baremail-lan.test
	LAN_ADDR=192.0.2.25
	export LAN_NAME LAN_ADDR
	{
		echo "[tls]"
		echo "names = $LAN_NAME, $LAN_ADDR"
		echo "certificate = $BOXPREFIX/etc/baremail/tls/server.crt"
		echo "key = $BOXPREFIX/etc/baremail/tls/server.key"
	} >"$BOX/etc/baremail.conf"
	chmod 0644 "$BOX/etc/baremail.conf"
	# bats makes its directories 0700: let the baremail account reach
	# the probe the container runs.
	local d="$BATS_FILE_TMPDIR"
	while [ "$d" != / ] && [ "$d" != "$(dirname "$BATS_RUN_TMPDIR")" ]; do
		chmod a+rx "$d"
		d=$(dirname "$d")
	done
	# The probe: runs as a copy of baremail-smtp@.service whose only
	# change is ExecStart=, and reports what that sandbox allows.
	mkdir -p "$BATS_FILE_TMPDIR/probe"
	cat >"$BATS_FILE_TMPDIR/probe/probe.py" <<'EOF'
import errno, os, socket
def say(what, ok):
    os.write(1, ("%s %s\r\n" % (what, ok)).encode())
def tries(what, fn):
    try:
        fn()
        say(what, "allowed")
    except OSError as e:
        say(what, "refused " + errno.errorcode.get(e.errno, str(e.errno)))
def write(path):
    with open(path, "w") as f:
        f.write("x")
    os.unlink(path)
peer = socket.socket(fileno=os.dup(0)).getpeername()
say("peer", peer[0])
say("uid", os.getuid())
tries("socket-inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
tries("socket-inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
tries("socket-netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW))
tries("socket-unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
tries("write-maildir", lambda: write("/var/lib/baremail/Maildir/tmp/probe"))
tries("write-etc", lambda: write("/etc/probe"))
tries("write-usr", lambda: write("/usr/probe"))
tries("write-var-tmp", lambda: write("/var/tmp/probe"))
tries("read-root", lambda: os.listdir("/root"))
tries("setuid-0", lambda: os.setuid(0))
say("interfaces", ",".join(sorted(os.listdir("/sys/class/net"))))
EOF
	chmod -R a+rX "$BATS_FILE_TMPDIR/probe"
	boot_container
}

teardown_file() {
	nspawn_stop
}

# A failed test shows what the container's journal says about BareMail.
teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${LEADER:-}" ]; then
		in_box journalctl --no-pager -n 40 -o short-monotonic \
		    -u 'baremail-*' 2>&1 | sed 's/^/journal: /' || :
	fi
}

need_box() {
	[ -z "$NSPAWN_SKIP" ] || skip "$NSPAWN_SKIP"
}

@test "systemd-analyze verify: every unit, system and user, with empty stderr" {
	local u
	for u in $UNITS; do
		run --separate-stderr env MANPATH="$PREFIX/share/man" \
		    timeout 60 systemd-analyze verify "$SYSUNITS/$u"
		echo "$u: $stderr"
		[ "$status" = 0 ]
		[ -z "$stderr" ]
		run --separate-stderr env MANPATH="$PREFIX/share/man" \
		    XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR" \
		    timeout 60 systemd-analyze --user verify "$USERUNITS/$u"
		echo "user $u: $stderr"
		[ "$status" = 0 ]
		[ -z "$stderr" ]
	done
}

@test "systemd-analyze verify reports a misspelt key (the check above can fail)" {
	sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$SYSUNITS/baremail-smtp@.service" \
	    >"$BATS_TEST_TMPDIR/baremail-smtp@.service"
	run --separate-stderr timeout 60 systemd-analyze verify "$BATS_TEST_TMPDIR/baremail-smtp@.service"
	[[ "$stderr" == *"Unknown key"* ]]
}

@test "systemd-analyze security: every session service scores 0.2" {
	local s
	for s in $SERVICES; do
		run timeout 60 systemd-analyze security --offline=true \
		    --threshold=10 "$SYSUNITS/$s"
		echo "$output" | tail -1
		[ "$status" = 0 ]
		local score
		score=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
		[ -n "$score" ]
		awk -v s="$score" 'BEGIN { exit !(s <= 0.2) }'
	done
}

@test "the units carry the settings the design asks for" {
	local s
	for s in $LISTENERS; do
		grep -qx 'Accept=yes' "$SYSUNITS/$s.socket"
		grep -qx 'NoDelay=yes' "$SYSUNITS/$s.socket"
		grep -q '^MaxConnections=[0-9]' "$SYSUNITS/$s.socket"
		grep -q '^MaxConnectionsPerSource=[0-9]' "$SYSUNITS/$s.socket"
		# One port per socket.
		[ "$(grep -c '^ListenStream=' "$SYSUNITS/$s.socket")" = 1 ]
		[ "$(grep -c '^ListenStream=' "$USERUNITS/$s.socket")" = 1 ]
	done
	# listener port user-port program --tls
	local l port uport prog tls
	while read -r l port uport prog tls; do
		grep -qx "ListenStream=127.0.0.1:$port" "$SYSUNITS/$l.socket"
		grep -qx "ListenStream=127.0.0.1:$uport" "$USERUNITS/$l.socket"
		local args=""
		[ "$tls" = - ] || args=" --tls=$tls"
		grep -qx "ExecStart=$PREFIX/libexec/baremail/$prog$args" \
		    "$SYSUNITS/$l@.service"
		grep -qx "ExecStart=$PREFIX/libexec/baremail/$prog -c %E/baremail/baremail.conf$args" \
		    "$USERUNITS/$l@.service"
		if [ "$tls" = - ]; then
			# Port 25: no certificate needed, none waited for.
			run ! grep -q baremail-tls "$SYSUNITS/$l.socket"
		else
			grep -qx 'After=baremail-tls.service' "$SYSUNITS/$l.socket"
			grep -qx 'Wants=baremail-tls.service' "$SYSUNITS/$l.socket"
		fi
		grep -qx 'After=baremail-tls.service' "$USERUNITS/$l.socket"
	done <<-EOF
	baremail-smtp 25 2025 smtp-session -
	baremail-submission 587 2587 smtp-session starttls
	baremail-submissions 465 2465 smtp-session implicit
	baremail-pop3 110 2110 pop3-session starttls
	baremail-pop3s 995 2995 pop3-session implicit
	EOF
	for s in $SERVICES; do
		grep -qx 'StandardInput=socket' "$SYSUNITS/$s"
		grep -qx 'StandardError=journal' "$SYSUNITS/$s"
		grep -qx 'PrivateNetwork=yes' "$SYSUNITS/$s"
		grep -qx 'User=baremail' "$SYSUNITS/$s"
		grep -qx 'StandardInput=socket' "$USERUNITS/$s"
	done
	# Enabling the two old sockets enables the new ones.
	grep -qx 'Also=baremail-submission.socket baremail-submissions.socket' \
	    "$SYSUNITS/baremail-smtp.socket"
	grep -qx 'Also=baremail-pop3s.socket' "$SYSUNITS/baremail-pop3.socket"
	# The certificate's oneshot: skipped once the key exists, made for
	# the account the sessions run as.
	local t="$SYSUNITS/baremail-tls.service"
	grep -qx "ConditionPathExists=!$PREFIX/etc/baremail/tls/server.key" "$t"
	grep -qx "ExecStart=$PREFIX/sbin/baremail-tls --owner=baremail create" "$t"
	grep -qx 'Type=oneshot' "$t"
	grep -qx 'DefaultDependencies=no' "$t"
}

@test "booted systemd: the baremail account and maildir come from sysusers.d and tmpfiles.d" {
	need_box
	run in_box getent passwd baremail
	assert_success
	run in_box stat -c '%U %a' /var/lib/baremail/Maildir /var/lib/baremail/Maildir/new
	assert_success
	assert_output $'baremail 700\nbaremail 700'
}

@test "booted systemd: enabled sockets listen, curl sends, poplib reads it back" {
	need_box
	run in_box systemctl enable --now baremail-smtp.socket baremail-pop3.socket
	assert_success
	run in_box systemctl is-active baremail-smtp.socket baremail-pop3.socket
	assert_output $'active\nactive'
	run in_box ss -Hltn
	assert_output --partial '127.0.0.1:25 '
	assert_output --partial '127.0.0.1:587 '
	assert_output --partial '127.0.0.1:110 '

	local tag="nspawn-$$-$RANDOM"
	run bash -c "printf 'Subject: %s\r\n\r\nhello from inside\r\n' '$tag' |
	    nsenter -t $LEADER -m -u -i -n -p -C -- timeout 30 curl -sS -v \
	    smtp://127.0.0.1:25 --mail-from cron@box --mail-rcpt admin@box -T - 2>&1"
	assert_success
	assert_output --partial '< 250 2.0.0'
	# Port 587 is the same service.
	run bash -c "printf 'Subject: %s-587\r\n\r\nsubmitted\r\n' '$tag' |
	    nsenter -t $LEADER -m -u -i -n -p -C -- timeout 30 curl -sS \
	    smtp://127.0.0.1:587 --mail-from cron@box --mail-rcpt admin@box -T -"
	assert_success

	run in_box timeout 30 /usr/bin/python3 -c '
import poplib, sys
p = poplib.POP3("127.0.0.1", 110, timeout=20)
p.user("anyone"); p.pass_("anything")
n = p.stat()[0]
for i in range(1, n + 1):
    sys.stdout.write(b"\n".join(p.retr(i)[1]).decode() + "\n----\n")
p.quit()
'
	assert_success
	assert_output --partial "Subject: $tag"
	assert_output --partial "hello from inside"
	assert_output --partial "Subject: $tag-587"
	# The mail is in the maildir, owned by the account.
	run in_box sh -c 'stat -c %U /var/lib/baremail/Maildir/cur/* | sort -u'
	assert_output baremail
}

@test "booted systemd: the sessions' log lines are in the journal, not on the connection" {
	need_box
	in_box systemctl enable --now baremail-smtp.socket >/dev/null 2>&1
	run bash -c "printf 'Subject: journal\r\n\r\nx\r\n' |
	    nsenter -t $LEADER -m -u -i -n -p -C -- timeout 30 curl -sS -v \
	    smtp://127.0.0.1:25 --mail-from j@box --mail-rcpt admin@box -T - 2>&1"
	assert_success
	# The unique name the server reported must appear in its journal.
	local name
	name=$(printf '%s\n' "$output" | tr -d '\r' | sed -n 's/^< 250 2.0.0 .*queued as \([^ ]*\).*/\1/p' | tail -1)
	[ -n "$name" ]
	in_box journalctl --sync 2>/dev/null || :
	run in_box journalctl --no-pager -o cat -u 'baremail-smtp@*'
	assert_success
	assert_output --partial "$name"
	# Nothing but SMTP replies reached the client.
	run bash -c "printf 'QUIT\r\n' | nsenter -t $LEADER -m -u -i -n -p -C -- \
	    timeout 30 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((\"127.0.0.1\", 25), timeout=20)
s.sendall(b\"EHLO x\\r\\nQUIT\\r\\n\")
data = b\"\"
while True:
    b = s.recv(4096)
    if not b: break
    data += b
sys.stdout.write(data.decode())
'"
	assert_success
	run bash -c "printf '%s\n' \"\$1\" | tr -d '\r' | grep -cvE '^[0-9]{3}[ -]'" _ "$output"
	assert_output 0
}

@test "booted systemd: every session ended well and left no unit behind" {
	need_box
	local i
	for i in $(seq 50); do
		run in_box sh -c "systemctl list-units --all --no-legend 'baremail-*@*.service' | grep -v ' active running ' || :"
		[ -z "$output" ] && break
		sleep 0.1
	done
	assert_output ''
	# Collected units leave their end in the journal.
	run in_box journalctl --no-pager -o cat -u 'baremail-smtp@*' -u 'baremail-pop3@*'
	assert_output --partial 'Deactivated successfully'
	refute_output --partial 'Failed with result'
	refute_output --partial 'status=203'
	refute_output --regexp 'ERROR: (Address|Leak|Undefined)Sanitizer'
	refute_output --partial 'runtime error:'
}

@test "booted systemd: inside the sandbox socket() is refused and only the maildir is writable" {
	need_box
	# The probe runs with the service's exact sandbox: same file, only
	# ExecStart= differs.
	local unit="$BOX/lib/systemd/system/baremail-smtp@.service"
	sed -e 's|^ExecStart=.*|ExecStart=/usr/bin/python3 /etc/baremail-probe/probe.py|' \
	    "$unit" >"$BATS_FILE_TMPDIR/probe/baremail-probe@.service"
	run diff "$unit" "$BATS_FILE_TMPDIR/probe/baremail-probe@.service"
	[ "$(printf '%s\n' "$output" | grep -c '^[<>]')" = 2 ]
	sed -e 's|^ListenStream=.*||' -e 's|^\[Socket\]|[Socket]\nListenStream=127.0.0.1:2999|' \
	    "$SYSUNITS/baremail-smtp.socket" >"$BATS_FILE_TMPDIR/probe/baremail-probe.socket"
	in_box ln -sf /etc/baremail-probe/baremail-probe@.service /etc/baremail-probe/baremail-probe.socket /etc/systemd/system/
	in_box systemctl daemon-reload
	run in_box systemctl start baremail-probe.socket
	assert_success
	run in_box timeout 30 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", 2999), timeout=20)
data = b""
while True:
    b = s.recv(4096)
    if not b: break
    data += b
sys.stdout.write(data.decode().replace("\r", ""))
'
	assert_success
	echo "$output"
	assert_line 'peer 127.0.0.1'
	assert_line --regexp '^socket-inet refused E'
	assert_line --regexp '^socket-inet6 refused E'
	assert_line --regexp '^socket-netlink refused E'
	assert_line 'socket-unix allowed'
	assert_line 'write-maildir allowed'
	assert_line 'write-etc refused EROFS'
	assert_line 'write-usr refused EROFS'
	assert_line --regexp '^read-root refused E'
	assert_line --regexp '^setuid-0 refused E'
	assert_line 'interfaces lo'
	run in_box getent passwd baremail
	local uid
	uid=$(printf '%s\n' "$output" | cut -d: -f3)
	assert_line --index 0 --partial "baremail:x:$uid:"
}

@test "booted systemd: a live smtp-session runs with no capabilities, seccomp on, its own network namespace" {
	need_box
	in_box systemctl enable --now baremail-smtp.socket >/dev/null 2>&1
	# Hold a connection open so the session can be looked at, until
	# /run/baremail-release appears (or 20 s pass).
	in_box rm -f /run/baremail-release
	in_box timeout 30 /usr/bin/python3 -c '
import os, socket, time
s = socket.create_connection(("127.0.0.1", 25), timeout=20)
s.recv(1000)
for i in range(200):
    if os.path.exists("/run/baremail-release"):
        break
    time.sleep(0.1)
' </dev/null >/dev/null 2>&1 3>&- &
	local holder=$! pid="" i
	for i in $(seq 100); do
		pid=$(in_box pgrep -x smtp-session | head -1 || :)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	run in_box cat "/proc/$pid/status"
	assert_line --regexp '^CapEff:[[:space:]]+0+$'
	assert_line --regexp '^CapBnd:[[:space:]]+0+$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	local netns boxns
	netns=$(in_box readlink "/proc/$pid/ns/net")
	boxns=$(in_box readlink /proc/1/ns/net)
	[ -n "$netns" ]
	[ "$netns" != "$boxns" ]
	run in_box nsenter -t "$pid" -n ip -o link
	assert_output --partial 'lo:'
	refute_output --partial 'host0'
	in_box touch /run/baremail-release
	wait "$holder"
}

@test "booted systemd: user units listen on 127.0.0.1:2025 and 2110 (and the TLS ports) and deliver to ~/Maildir" {
	need_box
	in_box useradd -m -s /bin/sh desk
	local uid
	uid=$(in_box id -u desk)
	in_box loginctl enable-linger desk
	local i
	for i in $(seq 100); do
		in_box test -S "/run/user/$uid/systemd/private" && break
		sleep 0.1
	done
	local as_desk=(in_box setpriv --reuid="$uid" --regid="$(in_box id -g desk)"
	    --init-groups
	    env XDG_RUNTIME_DIR="/run/user/$uid")
	# The README's line.
	run "${as_desk[@]}" systemctl --user enable --now \
	    baremail-{smtp,submission,submissions,pop3,pop3s}.socket
	assert_success
	run in_box ss -Hltn
	assert_output --partial '127.0.0.1:2025 '
	assert_output --partial '127.0.0.1:2110 '
	run bash -c "printf 'Subject: desktop\r\n\r\nfor the user\r\n' |
	    nsenter -t $LEADER -m -u -i -n -p -C -- timeout 30 curl -sS \
	    smtp://127.0.0.1:2025 --mail-from me@desk --mail-rcpt desk@desk -T -"
	assert_success
	run in_box sh -c 'stat -c %U /home/desk/Maildir/new/*'
	assert_output desk
	run in_box timeout 30 /usr/bin/python3 -c '
import poplib
p = poplib.POP3("127.0.0.1", 2110, timeout=20)
p.user("desk"); p.pass_("x")
print(b"\n".join(p.retr(1)[1]).decode())
p.quit()
'
	assert_success
	assert_line 'Subject: desktop'
	assert_line 'for the user'
}

@test "booted systemd: the user units' TLS listeners on 2587, 2465 and 2995, with the user's own certificate" {
	need_box
	local uid
	uid=$(in_box id -u desk) || skip "the user units' test made no user"
	run in_box ss -Hltn
	local p
	for p in 2587 2465 2995; do
		assert_output --partial "127.0.0.1:$p "
	done
	# The user's baremail-tls.service made a certificate for the user and
	# the configuration the user's sessions read.
	local d=/home/desk/.config/baremail
	run in_box stat -c '%n %U %a' "$d/tls/server.key" "$d/baremail.conf"
	assert_output "$d/tls/server.key desk 400
$d/baremail.conf desk 600"
	run in_box cat "$d/baremail.conf"
	assert_line "certificate = $d/tls/server.crt"
	run bash -c "printf 'Subject: desktop-tls\r\n\r\nover TLS\r\n' |
	    nsenter -t $LEADER -m -u -i -n -p -C -- timeout 30 curl -sS \
	    --cacert $d/tls/ca.crt smtps://localhost:2465 \
	    --mail-from me@desk --mail-rcpt desk@desk -T -"
	assert_success
	run in_box timeout 30 /usr/bin/python3 -c '
import poplib, ssl
ctx = ssl.create_default_context(cafile="/home/desk/.config/baremail/tls/ca.crt")
p = poplib.POP3_SSL("localhost", 2995, context=ctx, timeout=20)
p.user("desk"); p.pass_("x")
for i in range(1, p.stat()[0] + 1):
    print(b"\n".join(p.retr(i)[1]).decode())
p.quit()
'
	assert_success
	assert_line 'Subject: desktop-tls'
}

@test "booted systemd: baremail-tls.service made the certificate before the TLS sockets listened, then is skipped" {
	need_box
	local d="$BOXPREFIX/etc/baremail/tls"
	run in_box stat -c '%n %U %a' "$d/ca.crt" "$d/server.crt" "$d/server.key"
	assert_output "$d/ca.crt root 644
$d/server.crt root 644
$d/server.key baremail 400"
	run in_box openssl verify -CAfile "$d/ca.crt" -verify_hostname localhost "$d/server.crt"
	assert_success
	# Finished before each TLS socket began to listen.
	local made at s
	made=$(in_box systemctl show -P ExecMainExitTimestampMonotonic baremail-tls.service)
	[ "$made" -gt 0 ]
	for s in baremail-submission baremail-submissions baremail-pop3 baremail-pop3s; do
		at=$(in_box systemctl show -P ActiveEnterTimestampMonotonic "$s.socket")
		echo "$s: $at, certificate: $made"
		[ "$at" -gt "$made" ]
	done
	# Once the files exist, it is skipped and changes nothing.
	local before
	before=$(in_box sha256sum "$d/ca.crt" "$d/server.crt" "$d/server.key")
	run in_box systemctl restart baremail-tls.service
	assert_success
	run in_box systemctl show -P ConditionResult baremail-tls.service
	assert_output no
	[ "$(in_box sha256sum "$d/ca.crt" "$d/server.crt" "$d/server.key")" = "$before" ]
}

@test "booted systemd: enabling baremail-smtp.socket and baremail-pop3.socket enables the TLS sockets too" {
	need_box
	in_box systemctl disable baremail-smtp.socket baremail-pop3.socket
	run in_box systemctl is-enabled baremail-submission.socket baremail-submissions.socket baremail-pop3s.socket
	assert_output $'disabled\ndisabled\ndisabled'
	run in_box systemctl enable baremail-smtp.socket baremail-pop3.socket
	assert_success
	run in_box systemctl is-enabled baremail-submission.socket baremail-submissions.socket baremail-pop3s.socket
	assert_output $'enabled\nenabled\nenabled'
	in_box systemctl start baremail-smtp.socket baremail-pop3.socket \
	    baremail-submission.socket baremail-submissions.socket baremail-pop3s.socket
	run in_box ss -Hltn
	local p
	for p in 25 587 465 110 995; do
		assert_output --partial "127.0.0.1:$p "
	done
}

# go_client: builds tests' Go client (net/smtp's SendMail: STARTTLS when
# offered, verified against the system's roots; PlainAuth when a user is
# given) with the standard library only, no module download, into the
# probe directory the container sees as /etc/baremail-probe.
go_client() {
	command -v go >/dev/null || skip "go is not installed (Debian golang-go)"
	local src="$BATS_FILE_TMPDIR/probe/goclient.go"
	[ -x "$BATS_FILE_TMPDIR/probe/goclient" ] && return 0
	cat >"$src" <<'GO'
// goclient ADDR SUBJECT [USER]: one message through net/smtp.SendMail.
package main

import (
	"fmt"
	"net"
	"net/smtp"
	"os"
)

func main() {
	var auth smtp.Auth
	host, _, _ := net.SplitHostPort(os.Args[1])
	if len(os.Args) > 3 {
		auth = smtp.PlainAuth("", os.Args[3], "any password", host)
	}
	msg := "Subject: " + os.Args[2] + "\r\n\r\nsent by Go's net/smtp\r\n"
	err := smtp.SendMail(os.Args[1], auth, "go@box.test",
		[]string{"admin@box.test"}, []byte(msg))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("sent")
}
GO
	# GOPATH mode, no proxy: nothing but the standard library can build.
	(cd "$BATS_FILE_TMPDIR/probe" &&
	    env GO111MODULE=off GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
	    GOCACHE="$BATS_FILE_TMPDIR/gocache" GOPATH="$BATS_FILE_TMPDIR/gopath" \
	    timeout 300 go build -o goclient goclient.go)
	chmod a+rx "$BATS_FILE_TMPDIR/probe/goclient"
}

# mail_has TEXT: some message in the box's maildir contains TEXT (waits up
# to 30 s, for senders that queue).
mail_has() {
	local i
	for i in $(seq 150); do
		in_box sh -c 'cat /var/lib/baremail/Maildir/new/* /var/lib/baremail/Maildir/cur/* 2>/dev/null' |
		    grep -qF -- "$1" && return 0
		sleep 0.2
	done
	return 1
}

@test "booted systemd: Grafana's pattern, no CA installed: opportunistic STARTTLS delivers on 25 (not offered), fails on 587" {
	need_box
	go_client
	in_box systemctl start baremail-smtp.socket baremail-submission.socket
	in_box "$BOXPREFIX/sbin/baremail-tls" untrust >/dev/null
	run ls "$BATS_FILE_TMPDIR/boxca"
	assert_output ''
	local tag="grafana-$$-$RANDOM"
	run in_box timeout 60 /etc/baremail-probe/goclient 127.0.0.1:25 "$tag"
	echo "$output"
	assert_success
	assert_output sent
	mail_has "Subject: $tag"
	# The same client on 587, where STARTTLS is offered: it upgrades,
	# cannot verify the certificate, and gives up.  This is why port 25
	# offers no STARTTLS.
	run in_box timeout 60 /etc/baremail-probe/goclient localhost:587 "$tag-587"
	echo "$output"
	assert_failure
	assert_output --partial 'certificate signed by unknown authority'
}

@test "booted systemd: after baremail-tls trust, curl on 587 (STARTTLS) and 465, poplib on 995 and 110 (STLS) verify at their defaults" {
	need_box
	in_box systemctl start baremail-submission.socket baremail-submissions.socket \
	    baremail-pop3.socket baremail-pop3s.socket
	run in_box "$BOXPREFIX/sbin/baremail-tls" trust
	echo "$output"
	assert_success
	assert_output --partial 'installed /usr/local/share/ca-certificates/baremail-'
	local tag="tls-$$-$RANDOM" p
	for p in 587:smtp 465:smtps; do
		run bash -c "printf 'Subject: %s-%s\r\n\r\nover TLS\r\n' '$tag' '${p%%:*}' |
		    nsenter -t $LEADER -m -u -i -n -p -C -- timeout 30 curl -sS -v \
		    --ssl-reqd ${p#*:}://localhost:${p%%:*} \
		    --mail-from cron@box --mail-rcpt admin@box -T - 2>&1"
		echo "$output" | grep -E '^(\* SSL|\* TLS|< 250 2.0.0|\* Server cert)' || :
		assert_success
		assert_output --partial '< 250 2.0.0'
		assert_output --partial 'SSL certificate verify ok'
	done
	run in_box timeout 30 /usr/bin/python3 -c '
import poplib, sys
p = poplib.POP3_SSL("localhost", 995, timeout=20)
p.user("anyone"); p.pass_("anything")
for i in range(1, p.stat()[0] + 1):
    sys.stdout.write(b"\n".join(p.retr(i)[1]).decode() + "\n")
p.quit()
p = poplib.POP3("localhost", 110, timeout=20)
print(p.capa().get("STLS") is not None and "capa-stls" or "no-stls")
p.stls()
p.user("anyone"); p.pass_("anything")
print("stls", p.stat()[0])
p.quit()
'
	assert_success
	assert_output --partial "Subject: $tag-587"
	assert_output --partial "Subject: $tag-465"
	assert_line capa-stls
	assert_output --partial 'with ESMTPS'
	assert_line --regexp '^stls [0-9]+$'
}

@test "booted systemd: Prometheus Alertmanager (smtp_require_tls at its default, auth_username set) delivers an alert through 587" {
	need_box
	command -v prometheus-alertmanager >/dev/null ||
	    skip "prometheus-alertmanager is not installed (Debian prometheus-alertmanager)"
	local port=9393 tag="BareMailTLS$$x$RANDOM"
	# smtp_require_tls is left out: its default is true.
	cat >"$BATS_FILE_TMPDIR/probe/alertmanager.yml" <<-EOF
	global:
	  smtp_smarthost: 'localhost:587'
	  smtp_from: 'alertmanager@box.test'
	  smtp_auth_username: 'alertmanager'
	  smtp_auth_password: 'any password'
	route:
	  receiver: admin
	  group_wait: 0s
	receivers:
	- name: admin
	  email_configs:
	  - to: 'admin@box.test'
	EOF
	chmod a+r "$BATS_FILE_TMPDIR/probe/alertmanager.yml"
	grep -q require_tls "$BATS_FILE_TMPDIR/probe/alertmanager.yml" && false
	in_box "$BOXPREFIX/sbin/baremail-tls" trust >/dev/null
	in_box mkdir -p /run/am
	run in_box systemd-run --unit=baremail-test-am --collect \
	    -p RuntimeMaxSec=120 /usr/bin/prometheus-alertmanager \
	    --config.file=/etc/baremail-probe/alertmanager.yml \
	    --storage.path=/run/am --cluster.listen-address= \
	    --web.listen-address="127.0.0.1:$port"
	assert_success
	local i
	for i in $(seq 150); do
		in_box curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
		sleep 0.2
	done
	run in_box curl -sS -XPOST -H 'Content-Type: application/json' \
	    "http://127.0.0.1:$port/api/v2/alerts" \
	    -d "[{\"labels\":{\"alertname\":\"$tag\",\"severity\":\"page\"}}]"
	assert_success
	local ok=true
	mail_has "$tag" || ok=false
	$ok || in_box journalctl --no-pager -o cat -u baremail-test-am | tail -20
	in_box systemctl stop baremail-test-am || :
	$ok
	# It logged in, over TLS (SMTPUTF8 too: UTF8SMTPSA, RFC 6531).
	run in_box sh -c "grep -l '$tag' /var/lib/baremail/Maildir/new/* /var/lib/baremail/Maildir/cur/* 2>/dev/null | head -1 | xargs cat"
	assert_output --regexp 'with (ESMTPSA|UTF8SMTPSA)'$'\n''[[:space:]]+\(TLSv1\.[23], '
}

@test "booted systemd: Go's net/smtp PlainAuth over STARTTLS to the LAN name $LAN_NAME (not localhost) delivers" {
	need_box
	go_client
	# The machine's LAN address (here on lo), its name, and a drop-in that
	# makes submission listen there too, as the README says.
	in_box ip addr add "$LAN_ADDR/32" dev lo
	in_box sh -c "echo '$LAN_ADDR $LAN_NAME' >>/etc/hosts"
	in_box mkdir -p /etc/systemd/system/baremail-submission.socket.d
	in_box sh -c "printf '[Socket]\nListenStream=$LAN_ADDR:587\n' \
	    >/etc/systemd/system/baremail-submission.socket.d/lan.conf"
	in_box systemctl daemon-reload
	in_box systemctl restart baremail-submission.socket
	in_box "$BOXPREFIX/sbin/baremail-tls" trust >/dev/null
	run in_box ss -Hltn
	assert_output --partial "$LAN_ADDR:587 "
	# The certificate names it ([tls] names in baremail.conf).
	run in_box openssl x509 -in "$BOXPREFIX/etc/baremail/tls/server.crt" -noout -ext subjectAltName
	assert_output --partial "DNS:$LAN_NAME"
	local tag="go-plain-$$-$RANDOM"
	run in_box timeout 60 /etc/baremail-probe/goclient "$LAN_NAME:587" "$tag" gouser
	echo "$output"
	assert_success
	assert_output sent
	mail_has "Subject: $tag"
	run in_box sh -c "grep -l '$tag' /var/lib/baremail/Maildir/new/* /var/lib/baremail/Maildir/cur/* | head -1 | xargs cat"
	assert_output --regexp 'with (ESMTPSA|UTF8SMTPSA)'$'\n''[[:space:]]+\(TLSv1\.[23], '
	assert_output --partial "([$LAN_ADDR])"
}

@test "booted systemd: baremail-tls untrust takes the CA out of the store again" {
	need_box
	run in_box "$BOXPREFIX/sbin/baremail-tls" untrust
	assert_success
	assert_output --partial 'removed /usr/local/share/ca-certificates/baremail-'
	run ls "$BATS_FILE_TMPDIR/boxca"
	assert_output ''
	run in_box openssl verify "$BOXPREFIX/etc/baremail/tls/server.crt"
	assert_failure
}

# ---- baremail's timer and path units (issue 12) ----

@test "systemd-analyze: baremail's timer, path and services verify; expire scores 1.0 or lower" {
	local u score
	for u in $ADMIN_UNITS; do
		run --separate-stderr env MANPATH="$PREFIX/share/man" \
		    timeout 60 systemd-analyze verify "$SYSUNITS/$u"
		echo "$u: $stderr"
		[ "$status" = 0 ]
		[ -z "$stderr" ]
	done
	grep -qx "ExecStart=$PREFIX/sbin/baremail expire" "$SYSUNITS/baremail-expire.service"
	grep -qx 'Persistent=yes' "$SYSUNITS/baremail-expire.timer"
	grep -qx 'OnCalendar=daily' "$SYSUNITS/baremail-expire.timer"
	grep -qx 'PathChanged=/var/lib/baremail/Maildir/new' "$SYSUNITS/baremail-notify.path"
	run timeout 60 systemd-analyze security --offline=true --threshold=10 \
	    "$SYSUNITS/baremail-expire.service"
	echo "$output" | tail -1
	score=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	[ -n "$score" ]
	awk -v s="$score" 'BEGIN { exit !(s <= 1.0) }'
}

# box_conf UNIT TEXT: a configuration for one of baremail's services.
# Port 25 and the path unit on new/, its notify command appending each
# message's Subject to $1.  The first run records what is there and
# notifies none of it.
box_watch_new() {
	box_conf notify "[notify]
command = echo \"\$BAREMAIL_SUBJECT\" >> $1"
	run in_box systemctl start baremail-notify.service
	assert_success
	run in_box systemctl enable --now baremail-smtp.socket baremail-notify.path
	assert_success
}

# Sends a message with Subject $1 to port 25, curl in the container's namespaces.
box_send() {
	printf 'Subject: %s\r\n\r\nhi\r\n' "$1" |
	    nsenter -t "$LEADER" -m -u -i -n -p -C -- timeout 30 curl -sS \
	    smtp://127.0.0.1:25 --mail-from cron@box --mail-rcpt admin@box -T -
}

box_conf() {
	in_box sh -c "printf '%s\n' \"\$1\" > /etc/baremail-\$2.conf && chmod a+r /etc/baremail-\$2.conf &&
	    mkdir -p /etc/systemd/system/baremail-\$2.service.d &&
	    printf '[Service]\nEnvironment=BAREMAIL_CONFIG=/etc/baremail-%s.conf\n' \$2 \
	    > /etc/systemd/system/baremail-\$2.service.d/test.conf && systemctl daemon-reload" _ "$2" "$1"
}

@test "booted systemd: the expire timer is scheduled and its service expires old mail in its sandbox" {
	need_box
	run in_box systemctl enable --now baremail-expire.timer
	assert_success
	run in_box systemctl show -p NextElapseUSecRealtime --value baremail-expire.timer
	assert_success
	[ -n "$output" ]
	box_conf expire $'[retention]\nmax_age = 30d'
	in_box install -o baremail -g baremail -m 600 /dev/null \
	    /var/lib/baremail/Maildir/cur/1000000000.M1P1.old:2,S
	run in_box systemctl start baremail-expire.service
	assert_success
	run in_box test -e /var/lib/baremail/Maildir/cur/1000000000.M1P1.old:2,S
	assert_failure
	run in_box journalctl --no-pager -u baremail-expire.service
	assert_output --partial 'expired 1000000000.M1P1.old:2,S'
}

@test "booted systemd: the path unit on new/ runs the notify command for mail sent over SMTP" {
	need_box
	box_watch_new /var/lib/baremail/notified
	local tag="notify-$$-$RANDOM" i
	run box_send "$tag"
	assert_success
	for i in $(seq 100); do
		in_box grep -qx "$tag" /var/lib/baremail/notified 2>/dev/null && break
		sleep 0.2
	done
	run in_box cat /var/lib/baremail/notified
	assert_output "$tag"
}

@test "booted systemd: a burst of 300 connections leaves the SMTP and POP3 ports listening" {
	need_box
	run in_box systemctl start baremail-smtp.socket baremail-pop3.socket
	assert_success
	# Connect and hang up 300 times as fast as we can, on both ports:
	# systemd's default trigger limit for Accept=yes sockets (200 in 2 s)
	# would put each socket into a failed state that no later connection
	# can leave, which anyone on the LAN could do to the mail service.
	run nsenter -t "$LEADER" -n -- timeout 60 /usr/bin/python3 -c '
import socket, sys
for port in (25, 110):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except OSError as e:
            sys.exit("port %d: %s" % (port, e))
'
	assert_success
	sleep 1
	run in_box systemctl is-active baremail-smtp.socket baremail-pop3.socket
	assert_output $'active\nactive'
	# Mail goes through once the burst's sessions have ended (until then
	# MaxConnectionsPerSource turns 127.0.0.1 away, as it should).
	local tag="after-burst-$$-$RANDOM" i
	for i in $(seq 60); do
		run box_send "$tag"
		[ "$status" -eq 0 ] && break
		sleep 0.5
	done
	assert_success
}

@test "booted systemd: the path unit keeps watching new/ through a burst of deliveries" {
	need_box
	box_watch_new /var/lib/baremail/burst
	# Twelve messages, each after the run the one before started has
	# ended: twelve starts of the service within ten seconds, more than
	# systemd's default start limit (five), which would leave the path
	# unit failed (unit-start-limit-hit) and new/ unwatched.
	local tag="burst-$$-$RANDOM" i n
	for i in $(seq 12); do
		run box_send "$tag-$i"
		assert_success
		for n in $(seq 50); do
			in_box grep -qx "$tag-$i" /var/lib/baremail/burst 2>/dev/null && break
			sleep 0.1
		done
	done
	run in_box systemctl is-active baremail-notify.path
	assert_output active
	run in_box grep -c "^$tag-" /var/lib/baremail/burst
	assert_output 12
}

@test "booted systemd: baremail status sees the active socket units and the last delivery" {
	need_box
	# The host's BAREMAIL_CONFIG names a file the container does not have.
	run in_box env -u BAREMAIL_CONFIG runuser -u baremail -- "$BOXPREFIX/sbin/baremail" -m /var/lib/baremail/Maildir status
	assert_success
	assert_output --partial 'baremail-smtp.socket active'
	run in_box env -u BAREMAIL_CONFIG runuser -u baremail -- "$BOXPREFIX/sbin/baremail" -m /var/lib/baremail/Maildir status --prometheus
	assert_success
	assert_output --partial 'baremail_socket_active{unit="baremail-smtp.socket"} 1'
	assert_output --regexp 'baremail_last_delivery_timestamp_seconds [0-9]{10}'
}
