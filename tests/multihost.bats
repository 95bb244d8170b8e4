#!/usr/bin/env bats
# Several hosts, one maildir, on a real GlusterFS: a volume on a local
# brick served by a private glusterd, mounted through FUSE by three
# "hosts".  Each host is a network namespace with its own address (in
# 198.18.0.0/24, the benchmarking range, only inside the namespaces made
# here, joined by a bridge in a namespace of its own), its own host name
# (a UTS namespace), its own GlusterFS mount, and its own socket-activated
# smtp-session and pop3-session (systemd-socket-activate --inetd -a, as
# helpers.bash's listen_inetd, on ports 25 and 110 of its own address:
# no other program can hold them there).  A fourth host runs the clients.
#
# Needs root (namespaces, mounts), /dev/fuse and a glusterd that starts;
# skipped with the reason otherwise.  The two loads are the plain pass's
# only: under valgrind ($BAREMAIL_WRAPPER) or a sanitizer build thousands
# of deliveries through FUSE take too long for the CI budget, and the
# sessions' own memory checks run in load.bats there; the other tests run
# in every pass.
load helpers

NET=198.18.0
HOSTS="a b c"

# What stops the tests from running here; empty when they can.
why_not() {
	[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, FUSE mounts)"; return; }
	[ -c /dev/fuse ] || { echo "no /dev/fuse"; return; }
	command -v glusterd >/dev/null || { echo "glusterfs-server is not installed"; return; }
	command -v glusterfs >/dev/null || { echo "glusterfs-client is not installed"; return; }
	ip netns add "bmprobe$$" 2>/dev/null || { echo "cannot make network namespaces"; return; }
	# ip netns exec remounts / as a slave: impossible in a chroot whose
	# root is no mount point.
	ip netns exec "bmprobe$$" true 2>/dev/null || {
		ip netns del "bmprobe$$"
		echo "ip netns exec does not work here (a chroot?)"
		return
	}
	ip netns del "bmprobe$$"
}

# The heavy parts are too slow under valgrind or a sanitizer.
heavy_skip_reason() {
	if [ -n "$WRAP" ]; then
		echo "2000 deliveries through FUSE under valgrind exceed the CI budget (plain pass only)"
	elif meson introspect "$BAREMAIL_BUILD" --buildoptions 2>/dev/null |
	    "$PY" -c 'import json,sys; sys.exit(0 if any(o["name"] == "b_sanitize" and o["value"] != "none" for o in json.load(sys.stdin)) else 1)'; then
		echo "sanitizer build: the load runs in the plain pass only"
	fi
}

# The host's name; mx3's has the two characters the maildir spec escapes.
host_name() {
	case $1 in
	a) echo mx1.test ;;
	b) echo mx2.test ;;
	c) echo 'mx3:25/test' ;;
	esac
}
host_addr() {
	case $1 in
	stor) echo "$NET.1" ;;
	a) echo "$NET.11" ;;
	b) echo "$NET.12" ;;
	c) echo "$NET.13" ;;
	cl) echo "$NET.20" ;;
	esac
}

# gl ARG...: the gluster CLI in glusterd's namespaces.
gl() {
	timeout 60 nsenter -t "$(cat "$G/glusterd.pid")" -m -n gluster --mode=script "$@"
}

setup_file() {
	local reason h
	reason=$(why_not)
	if [ -n "$reason" ]; then
		echo "$reason" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	export P="bm$$" G="$BATS_FILE_TMPDIR/g"
	mkdir -p "$G/lib" "$G/log" "$G/run" "$G/brick"
	# The test account must reach the mounts under bats's 0700 directories.
	local d="$G"
	while [ "$d" != / ]; do chmod a+x "$d"; d=$(dirname "$d"); done

	# The network: a bridge in its own namespace, a veth to each host.
	ip netns add "$P-sw"
	ip -n "$P-sw" link add br0 type bridge
	ip -n "$P-sw" link set dev br0 up
	for h in stor $HOSTS cl; do
		ip netns add "$P-$h"
		ip link add "$P-$h" netns "$P-$h" type veth peer name "p-$h" netns "$P-sw"
		ip -n "$P-sw" link set dev "p-$h" master br0 up
		ip -n "$P-$h" link set dev lo up
		ip -n "$P-$h" addr add "$(host_addr "$h")/24" dev "$P-$h"
		ip -n "$P-$h" link set dev "$P-$h" up
	done

	# glusterd on the storage host, with its state and logs in the test's
	# directory and its sockets on a /run of its own (mounts in a mount
	# namespace of its own: the machine's /var/lib/glusterd, /var/log and
	# /run are left alone).
	cp -a /var/lib/glusterd/. "$G/lib/" 2>/dev/null || true
	ip netns exec "$P-stor" unshare --mount --propagation private sh -c '
		mkdir -p /var/lib/glusterd /var/log/glusterfs &&
		mount --bind "$1/lib" /var/lib/glusterd &&
		mount --bind "$1/log" /var/log/glusterfs &&
		mount -t tmpfs -o mode=0755 tmpfs /run &&
		mkdir /run/gluster &&
		exec glusterd -p "$1/glusterd.pid"' _ "$G" \
	    </dev/null >"$G/glusterd.out" 2>&1 3>&- || true
	local i ok=
	for i in $(seq 100); do
		[ -s "$G/glusterd.pid" ] && gl volume list >/dev/null 2>&1 && { ok=1; break; }
		sleep 0.1
	done
	if [ -z "$ok" ]; then
		{ echo "glusterd does not start here:"; tail -3 "$G/log/glusterd.log" "$G/glusterd.out" 2>/dev/null; } |
		    tr '\n' ' ' >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	gl volume create "$P-vol" "$(host_addr stor):$G/brick/b" force >"$G/create.out" 2>&1
	gl volume start "$P-vol" >>"$G/create.out" 2>&1

	# Each host mounts the volume itself (its own FUSE client, its own
	# caches), from inside its network namespace.
	for h in $HOSTS; do mount_host "$h"; done
	mkdir "$G/mnt-a/Maildir"
	chown "$TEST_USER" "$G/mnt-a/Maildir"
}

# mount_host H: H's GlusterFS client, its FUSE mount at $G/mnt-H (in the
# machine's mount namespace, so the host's sessions and the test see it).
mount_host() {
	mkdir -p "$G/mnt-$1"
	nsenter --net="/run/netns/$P-$1" glusterfs --volfile-server="$(host_addr stor)" \
	    --volfile-id="$P-vol" --log-file="$G/mnt-$1.log" --pid-file="$G/mnt-$1.pid" \
	    "$G/mnt-$1"
	local i
	for i in $(seq 100); do
		mountpoint -q "$G/mnt-$1" && [ -d "$G/mnt-$1/." ] && return 0
		sleep 0.1
	done
	echo "mount of host $1 failed" >&2
	return 1
}

teardown_file() {
	[ -n "${P:-}" ] || return 0
	local ns h p
	# Every process of the namespaces: sessions, socket managers, the
	# FUSE clients, glusterd and its brick process (again while any is
	# left: one may fork as it dies).
	local i
	for i in $(seq 20); do
		p=$(for ns in $HOSTS cl stor; do ip netns pids "$P-$ns" 2>/dev/null; done)
		[ -n "$p" ] || break
		kill -9 $p 2>/dev/null || true
		sleep 0.05
	done
	for h in $HOSTS; do
		umount -l "$G/mnt-$h" 2>/dev/null || true
	done
	for ns in $HOSTS cl stor sw; do
		ip netns del "$P-$ns" 2>/dev/null || true
	done
	rm -rf "$G/brick" 2>/dev/null || true
}

setup() {
	if [ -f "$BATS_FILE_TMPDIR/skip" ]; then
		skip "$(cat "$BATS_FILE_TMPDIR/skip")"
	fi
	baremail_setup
	local h
	for h in $HOSTS; do
		{
			echo "[maildir]"
			echo "path = $G/mnt-$h/Maildir"
			echo "[user]"
			echo "name = $TEST_USER"
		} >"$BATS_TEST_TMPDIR/$h.conf"
	done
	chmod a+r "$BATS_TEST_TMPDIR"/*.conf
}

teardown() {
	[ -n "${P:-}" ] || return 0
	local h p
	# The hosts' socket managers and sessions; their FUSE clients stay.
	for h in $HOSTS; do
		for p in $(ip netns pids "$P-$h" 2>/dev/null); do
			[ "$p" = "$(cat "$G/mnt-$h.pid" 2>/dev/null)" ] || kill -9 "$p" 2>/dev/null || true
		done
	done
}

# on_host H CMD...: CMD on host H (its network and its host name).
on_host() {
	local h=$1
	shift
	# hostname(1) refuses ':' and '/'; the kernel takes them.
	ip netns exec "$P-$h" unshare --uts sh -c \
	    'printf %s "$1" >/proc/sys/kernel/hostname && shift && exec "$@"' _ \
	    "$(host_name "$h")" "$@"
}

# serve_hosts: smtp-session on port 25 and pop3-session on port 110 of
# every host, one process per connection.
serve_hosts() {
	local h i
	for h in $HOSTS; do
		on_host "$h" sh -c '
			timeout 900 systemd-socket-activate --inetd -a -l "$1:25" \
			    -E BAREMAIL_CONFIG="$2" $4 "$SMTP_SESSION" &
			timeout 900 systemd-socket-activate --inetd -a -l "$1:110" \
			    -E BAREMAIL_CONFIG="$2" $4 "$POP3_SESSION" &
			wait' _ "$(host_addr "$h")" "$BATS_TEST_TMPDIR/$h.conf" "$h" "$WRAP" \
		    </dev/null >/dev/null 2>>"$BATS_TEST_TMPDIR/serve-$h.log" 3>&- &
	done
	for h in $HOSTS; do
		for i in $(seq 200); do
			[ "$(ip netns exec "$P-$h" ss -Hltn | wc -l)" = 2 ] && break
			sleep 0.05
		done
		[ "$(ip netns exec "$P-$h" ss -Hltn | wc -l)" = 2 ]
	done
}

addrs() {	# addrs PORT: the hosts' addresses with PORT, comma-separated
	local h out=
	for h in $HOSTS; do out="$out${out:+,}$(host_addr "$h"):$1"; done
	echo "$out"
}

MDA() { echo "$G/mnt-a/Maildir"; }

@test "each host's unique names carry its own host name, escaped the maildir way" {
	serve_hosts
	local h
	for h in $HOSTS; do
		run ip netns exec "$P-cl" timeout "$T" curl -sS "smtp://$(host_addr "$h")" \
		    --mail-from me@test --mail-rcpt you@test -T - <<<"Subject: from $h"
		[ "$status" = 0 ]
	done
	run ls "$(MDA)/new"
	printf '%s\n' "$output"
	[ "${#lines[@]}" = 3 ]
	printf '%s\n' "$output" | grep -q '\.mx1\.test,S='
	printf '%s\n' "$output" | grep -q '\.mx2\.test,S='
	# mx3:25/test: ':' is \072 and '/' is \057 (a ':' would start the flags).
	printf '%s\n' "$output" | grep -qF '.mx3\07225\057test,S='
	# Read back on another host than the one that delivered.
	run ip netns exec "$P-cl" timeout "$T" "$PY" -c '
import poplib, sys
p = poplib.POP3(sys.argv[1], 110, timeout=20); p.user("x"); p.pass_("y")
n = len(p.list()[1]); print(n)
for i in range(1, n + 1): print(b"".join(p.retr(i)[1][-1:]).decode()); p.dele(i)
p.quit()' "$(host_addr b)"
	printf '%s\n' "$output"
	[ "${lines[0]}" = 3 ]
	[ -z "$(find "$(MDA)/new" "$(MDA)/cur" -type f)" ]
}

@test "200 connections over three hosts x 10 messages while a POP3 client on a fourth retrieves and deletes: each exactly once, SHA-256 intact, tmp/ empty" {
	local reason
	reason=$(heavy_skip_reason)
	[ -z "$reason" ] || skip "$reason"
	serve_hosts
	run ip netns exec "$P-cl" timeout 600 "$PY" "$BAREMAIL_SOURCE/tests/multihost.py" \
	    "$(addrs 25)" "$(addrs 110)" 200 10 -v
	printf '%s\n' "$output"
	printf '%s\n' "$output" | grep '^figures:\|^killed' | sed 's/^/# /' >&3
	[ "$status" = 0 ]
	[[ "$output" == *" 2000 acknowledged"* ]]
	[ -z "$(find "$(MDA)/new" "$(MDA)/cur" "$(MDA)/tmp" -type f)" ]
}

@test "baremail-sendmail on each host delivers into the same maildir" {
	local h n=0
	for h in $HOSTS; do
		run on_host "$h" env BAREMAIL_CONFIG="$BATS_TEST_TMPDIR/$h.conf" \
		    timeout "$T" $WRAP "$SENDMAIL" root <<<"Subject: sendmail on $h"
		printf '%s\n' "$output"
		[ "$status" = 0 ]
	done
	run ls "$(MDA)/new"
	printf '%s\n' "$output"
	[ "${#lines[@]}" = 3 ]
	printf '%s\n' "$output" | grep -q '\.mx1\.test,S='
	printf '%s\n' "$output" | grep -q '\.mx2\.test,S='
	printf '%s\n' "$output" | grep -qF '.mx3\07225\057test,S='
	# Each seen from every host's mount, owned by the account that serves it.
	for h in $HOSTS; do
		[ "$(ls "$G/mnt-$h/Maildir/new" | wc -l)" = 3 ]
		[ -z "$(find "$G/mnt-$h/Maildir/new" -type f ! -user "$TEST_USER")" ]
	done
	grep -l 'Subject: sendmail on a' "$(MDA)"/new/*mx1.test*
	grep -l 'Subject: sendmail on c' "$(MDA)"/new/*mx3*
	rm -f "$(MDA)"/new/*
}

@test "[pop3] exclusive holds across hosts: a session on one host makes another host's get -ERR [IN-USE]" {
	local h
	for h in $HOSTS; do printf '[pop3]\nexclusive = yes\n' >>"$BATS_TEST_TMPDIR/$h.conf"; done
	serve_hosts
	run ip netns exec "$P-cl" timeout "$T" "$PY" -c '
import poplib, sys
a = poplib.POP3(sys.argv[1], 110, timeout=20); a.user("x"); print(a.pass_("y").decode())
for host in sys.argv[2:]:
    b = poplib.POP3(host, 110, timeout=20); b.user("x")
    try: print(b.pass_("y").decode())
    except poplib.error_proto as e: print(e.args[0].decode())
    b.quit()
a.quit()
b = poplib.POP3(sys.argv[2], 110, timeout=20); b.user("x"); print(b.pass_("y").decode()); b.quit()
' "$(host_addr a)" "$(host_addr b)" "$(host_addr c)"
	printf '%s\n' "$output"
	[ "$status" = 0 ]
	[[ "${lines[0]}" == "+OK"* ]]
	[[ "${lines[1]}" == "-ERR [IN-USE]"* ]]
	[[ "${lines[2]}" == "-ERR [IN-USE]"* ]]
	# Released when the first session ends.
	[[ "${lines[3]}" == "+OK"* ]]
}

@test "a host killed (kill -9 of everything it runs) in the middle: no acknowledged message lost, none partial, none twice" {
	local reason
	reason=$(heavy_skip_reason)
	[ -z "$reason" ] || skip "$reason"
	serve_hosts
	# At 300 of 1500 acknowledged, in a POP3 session through it that has
	# retrieved and deleted 10 messages, host b dies: its socket manager,
	# its sessions and its GlusterFS client, all at once.
	run ip netns exec "$P-cl" timeout 600 "$PY" "$BAREMAIL_SOURCE/tests/multihost.py" \
	    "$(addrs 25)" "$(addrs 110)" 150 10 --kill-at 300 --victim "$(host_addr b)" \
	    --kill-netns "$P-b" -v
	printf '%s\n' "$output"
	printf '%s\n' "$output" | grep '^figures:\|^killed' | sed 's/^/# /' >&3
	[ "$status" = 0 ]
	[[ "$output" =~ \ ([1-9][0-9]*)\ victim\ connections\ cut ]]
	# The POP3 session through it died after 10 DELE: those came back.
	[[ "$output" == *"killed the victim (0 processes left) at "*" acknowledged, in a POP3 session through it after 10 DELE"* ]]
	[[ "$output" == *" (1 cut)"*" 10 retrievals in cut sessions"* ]]
	[ -z "$(find "$(MDA)/new" "$(MDA)/cur" -type f)" ]
	# What the dead host left in tmp/ is its own (a later session's
	# cleanup removes it after 36 hours), nobody else's.
	local left
	left=$(find "$(MDA)/tmp" -type f)
	echo "# left in tmp/ by the dead host: $(printf '%s' "$left" | grep -c .)" >&3
	[ -z "$(printf '%s\n' "$left" | grep -v '\.mx2\.test\(\.baremail-sizes\)\?$' | grep .)" ]
}
