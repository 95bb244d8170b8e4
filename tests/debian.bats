#!/usr/bin/env bats
# The Debian package (scripts/build-deb.sh) on a fresh Debian 12 booted with
# systemd in a container: it replaces Exim, the notifying packages pull in
# no other MTA, real senders (cron, mail, smartd's script, logwatch, curl)
# reach the maildir once and fetchmail reads them over POP3, an upgrade
# under load refuses and loses nothing, remove and purge keep the mail.
#
# The root comes from tests/bookworm-root.sh (cached for the day under
# /var/cache/baremail-test; the first run of a day fetches it from the
# Debian archive); it is booted read-only with a tmpfs overlay, so nothing
# a test does stays.  The container has no network: every package apt
# installs in it is already in the root's apt cache.
#
# Plain pass only: the package is built from the source by dpkg-buildpackage,
# not from the build directory under test, so the ASan and valgrind passes
# of ./test.sh would build and test the very same package again.

load helpers
load nspawn
bats_require_minimum_version 1.5.0

# Each file the tests put in the maildir carries one of these.
MD=/var/lib/baremail/Maildir

# Why this file cannot run here, or nothing.
why_skip() {
	if [ -n "${BAREMAIL_WRAPPER:-}" ]; then
		echo "valgrind pass: the package is built and tested in the plain pass"
		return
	fi
	local san
	san=$(meson introspect "$BAREMAIL_BUILD" --buildoptions 2>/dev/null |
	    "$PY" -c 'import json, sys
print({o["name"]: o["value"] for o in json.load(sys.stdin)}["b_sanitize"])' || :)
	if [ -n "$san" ] && [ "$san" != none ]; then
		echo "sanitizer pass ($san): the package is built and tested in the plain pass"
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "needs root (dpkg-buildpackage, debootstrap, systemd-nspawn)"
		return
	fi
	local c
	for c in dpkg-buildpackage lintian debootstrap systemd-nspawn; do
		command -v "$c" >/dev/null || { echo "$c is not installed"; return; }
	done
}

setup_file() {
	DEB_SKIP=$(why_skip)
	export DEB_SKIP
	[ -z "$DEB_SKIP" ] || return 0
	local rc=0
	ROOT=$(timeout 1200 "$BAREMAIL_SOURCE/tests/bookworm-root.sh" 2>"$BATS_FILE_TMPDIR/root.log") || rc=$?
	if [ "$rc" = 3 ]; then
		DEB_SKIP="no Debian 12 root, the archive is unreachable: $(tail -3 "$BATS_FILE_TMPDIR/root.log" | tr '\n' ' ')"
		return 0
	fi
	# Any other failure is a failure, never a skip.
	[ "$rc" = 0 ] || { cat "$BATS_FILE_TMPDIR/root.log" >&2; return 1; }
	export ROOT
	# The package, and a second one with a higher version to upgrade to.
	SHARE="$BATS_FILE_TMPDIR/share"
	mkdir -p "$SHARE/v1" "$SHARE/v2"
	VERSION=$(meson introspect "$BAREMAIL_SOURCE/meson.build" --projectinfo |
	    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["version"])')
	UPGRADE="$VERSION+upgrade1"
	# Marks this run's messages (each test runs in a process of its own).
	TAG="deb$$"
	export SHARE VERSION UPGRADE TAG
	timeout 900 "$BAREMAIL_SOURCE/scripts/build-deb.sh" "$SHARE/v1" \
	    >"$BATS_FILE_TMPDIR/build-v1.log" 2>&1 ||
	    { tail -30 "$BATS_FILE_TMPDIR/build-v1.log" >&2; return 1; }
	DEB_BUILD_OPTIONS=nocheck timeout 900 \
	    "$BAREMAIL_SOURCE/scripts/build-deb.sh" --version "$UPGRADE" "$SHARE/v2" \
	    >"$BATS_FILE_TMPDIR/build-v2.log" 2>&1 ||
	    { tail -30 "$BATS_FILE_TMPDIR/build-v2.log" >&2; return 1; }
	cp "$BAREMAIL_SOURCE/tests/debian-upgrade-client.py" "$SHARE/"
	# Read-only root with a tmpfs overlay: the cached root never changes.
	# No network: apt finds every package in the root's cache.
	nspawn_boot -D "$ROOT" --volatile=overlay --private-network \
	    --bind-ro="$SHARE:/share" \
	    --setenv=DEBIAN_FRONTEND=noninteractive
	[ -z "$NSPAWN_SKIP" ] || DEB_SKIP=$NSPAWN_SKIP
}

teardown_file() {
	nspawn_stop
}

setup() {
	[ -z "$DEB_SKIP" ] || skip "$DEB_SKIP"
}

# A failed test shows what the container's journal says about BareMail.
teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${LEADER:-}" ]; then
		in_box journalctl --no-pager -n 30 -o short-monotonic \
		    -u 'baremail-*' -u cron -t baremail-sendmail 2>&1 |
		    sed 's/^/journal: /' || :
	fi
}

# Runs apt-get in the container, without prompts.
box_apt() {
	in_box env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -y -q "$@"
}

# The state dpkg has for a package: installed, config-files, not-installed.
pkg_state() {
	in_box dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed
}

# The number of messages in the maildir holding the fixed string $1.
in_maildir() {
	in_box sh -c 'grep -rlF -- "$1" '"$MD"'/new '"$MD"'/cur | wc -l' _ "$1"
}

# Waits up to $2 seconds for one message holding $1 in the maildir.
wait_maildir() {
	local i
	for i in $(seq "$(($2 * 2))"); do
		[ "$(in_maildir "$1")" -ge 1 ] && return 0
		sleep 0.5
	done
	return 1
}

# The listening TCP sockets in the container, "address:port" per line.
listening() {
	in_box ss -Hltn | awk '{ print $4 }' | sort
}

# What the package's socket units listen on, in the same form.
socket_ports() {
	dpkg-deb --fsys-tarfile "$(ls "$SHARE"/v1/baremail_*.deb)" |
	    tar -xOf - --wildcards '*/systemd/system/*.socket' |
	    sed -n 's/^ListenStream=//p' | sort
}

@test "lintian: no error and no warning on the package and its .changes" {
	# build-deb.sh ran lintian on the .changes and the packages it names.
	run cat "$SHARE"/v1/baremail_*.lintian
	echo "$output"
	assert_success
	refute_output --regexp '^[EW]: '
	refute_output --partial 'No packages selected'
	refute_output --partial 'Skipping'
	# Every override has a comment line of its own saying why.
	local f
	for f in "$BAREMAIL_SOURCE"/debian/*lintian-overrides; do
		[ -e "$f" ] || continue
		awk '/^#/ { why = 1; next } /^$/ { next }
		    { if (!why) { print FILENAME ": no reason: " $0; bad = 1 } why = 0 }
		    END { exit bad }' "$f"
	done
}

@test "the package: version from meson.build, an MTA, the sendmail names, units, conffile, examples" {
	local deb
	deb=$(ls "$SHARE"/v1/baremail_*.deb)
	[ "$(basename "$deb")" = "baremail_${VERSION}_$(dpkg --print-architecture).deb" ]
	run dpkg-deb -f "$deb" Provides Conflicts Replaces
	assert_line 'Provides: mail-transport-agent'
	assert_line 'Conflicts: mail-transport-agent'
	assert_line 'Replaces: mail-transport-agent'
	run dpkg-deb -c "$deb"
	assert_output --regexp ' \./usr/sbin/sendmail -> baremail-sendmail'
	assert_output --regexp ' \./usr/lib/sendmail -> \.\./sbin/baremail-sendmail'
	assert_output --regexp ' \./usr/bin/mailq -> \.\./sbin/baremail-sendmail'
	assert_output --regexp ' \./usr/sbin/newaliases -> baremail-sendmail'
	assert_output --partial ' ./usr/share/doc/baremail/examples/xinetd.d/baremail-smtp'
	assert_output --partial ' ./usr/share/doc/baremail/copyright'
	assert_output --partial ' ./usr/share/man/man8/smtp-session.8.gz'
	assert_output --partial ' ./usr/share/man/man5/baremail.conf.5.gz'
	refute_output --partial ' ./etc/xinetd.d/'
	refute_output --partial ' ./usr/lib/systemd/user/'
	run dpkg-deb -I "$deb" conffiles
	assert_output /etc/baremail.conf
	# debian/copyright is machine-readable.
	head -1 "$BAREMAIL_SOURCE/debian/copyright" |
	    grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/'
}

@test "1. Exim first, then apt install ./baremail_*.deb: Exim is removed, the sockets listen" {
	run box_apt install exim4-daemon-light
	assert_success
	[ "$(pkg_state exim4-daemon-light)" = installed ]
	run listening
	assert_line '127.0.0.1:25'
	# The command the README gives.
	run in_box sh -c 'cd /share/v1 && DEBIAN_FRONTEND=noninteractive timeout 600 apt install -y ./baremail_*.deb'
	echo "$output"
	assert_success
	[ "$(pkg_state baremail)" = installed ]
	[ "$(pkg_state exim4-daemon-light)" != installed ]
	run in_box readlink -f /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq /usr/sbin/newaliases
	assert_output "$(printf '/usr/sbin/baremail-sendmail\n%.0s' 1 2 3 4)"
	run in_box systemctl is-active baremail-smtp.socket baremail-pop3.socket
	assert_output $'active\nactive'
	run in_box systemctl is-enabled baremail-smtp.socket baremail-pop3.socket
	assert_output $'enabled\nenabled'
	# The per-connection services are never enabled by themselves.
	run in_box systemctl is-enabled baremail-smtp@.service baremail-pop3@.service
	assert_output $'static\nstatic'
	# Exactly the ports the package's sockets name (25, 587 and 110 among
	# them, as the README documents), on loopback; Exim's are gone.
	run listening
	assert_output "$(socket_ports)"
	assert_line '127.0.0.1:25'
	assert_line '127.0.0.1:587'
	assert_line '127.0.0.1:110'
	# The TLS listeners' certificate, made by the package's oneshot unit.
	if in_box systemctl cat baremail-tls.service >/dev/null 2>&1; then
		in_box test -s /etc/baremail/tls/server.crt
	fi
	run in_box stat -c '%U %a' "$MD" "$MD/new"
	assert_output $'baremail 700\nbaremail 700'
	# The xinetd entries are examples only.
	run in_box sh -c 'ls /etc/xinetd.d/baremail* 2>/dev/null; :'
	assert_output ''
	# Every program, whoever runs it, uses the one maildir.
	run in_box grep -x -e 'path = /var/lib/baremail/Maildir' -e 'name = baremail' /etc/baremail.conf
	assert_output $'path = /var/lib/baremail/Maildir\nname = baremail'
}

@test "2. bsd-mailx, cron, smartmontools, logwatch, fetchmail: no other MTA comes in" {
	run box_apt install bsd-mailx cron smartmontools logwatch fetchmail
	echo "$output"
	assert_success
	local p
	for p in bsd-mailx cron smartmontools logwatch fetchmail baremail; do
		[ "$(pkg_state "$p")" = installed ]
	done
	# Only baremail provides mail-transport-agent among installed packages.
	run in_box dpkg-query -W -f='${db:Status-Status} ${Package} ${Provides}\n'
	run bash -c 'printf "%s\n" "$1" | grep "^installed " | grep mail-transport-agent | cut -d" " -f2' _ "$output"
	assert_output baremail
	run in_box sh -c 'dpkg -l | grep -E "^ii +(exim4-daemon|postfix|sendmail-bin|nullmailer|dma|msmtp-mta|opensmtpd|courier-mta|ssmtp) "'
	assert_output ''
	# cron runs; its first job is the crontab of the next test.
	run in_box systemctl is-active cron
	assert_output active
	in_box sh -c 'printf "MAILTO=root\n* * * * * echo cron-job-output-%s\n" "$1" | crontab -' _ "$TAG"
}

@test "3. cron, mail, smartd's script, logwatch and curl each reach the maildir once; fetchmail reads them over POP3" {
	local tag=$TAG
	run in_box sh -c 'echo "body-mailx-$1" | mail -s "mailx-$1" root' _ "$tag"
	assert_success
	run in_box env SMARTD_ADDRESS=root SMARTD_FAILTYPE=CurrentPendingSector \
	    SMARTD_MESSAGE="Device: /dev/sda [SAT], 8 Currently unreadable (pending) sectors smartd-$tag" \
	    SMARTD_DEVICE=/dev/sda SMARTD_DEVICETYPE=sat SMARTD_DEVICESTRING="/dev/sda [SAT]" \
	    SMARTD_DEVICEINFO="TEST DISK, S/N:0001" SMARTD_PREVCNT=0 \
	    SMARTD_TFIRST="$(date)" SMARTD_TFIRSTEPOCH="$(date +%s)" SMARTD_NEXTDAYS=1 \
	    timeout 60 /usr/share/smartmontools/smartd_warning.sh
	assert_success
	run in_box timeout 120 logwatch --output mail --mailto root --range today --detail low
	assert_success
	# A user who is not root cannot write the maildir: the message goes
	# over SMTP, to the same maildir.
	run in_box runuser -u nobody -- sh -c 'echo "body-user-$1" | mail -s "user-$1" root' _ "$tag"
	assert_success
	run in_box sh -c 'printf "Subject: curl-%s\r\n\r\nover port 25\r\n" "$1" |
	    timeout 30 curl -sS smtp://127.0.0.1:25 --mail-from me@box --mail-rcpt root@box -T -' _ "$tag"
	assert_success
	# cron starts the job at the next minute.
	wait_maildir "cron-job-output-$TAG" 90
	in_box crontab -r

	[ "$(in_maildir "body-mailx-$tag")" = 1 ]
	[ "$(in_maildir "body-user-$tag")" = 1 ]
	[ "$(in_maildir "smartd-$tag")" = 1 ]
	[ "$(in_maildir 'Subject: Logwatch for')" = 1 ]
	[ "$(in_maildir "Subject: curl-$tag")" = 1 ]
	# The job ran only once by the time it was removed... or twice when
	# the minute turned meanwhile; each run is one message.
	[ "$(in_maildir "cron-job-output-$TAG")" -ge 1 ]
	local cron
	cron=$(in_maildir "cron-job-output-$TAG")
	# Nothing went to root's own maildir instead.
	in_box test ! -e /root/Maildir

	# fetchmail, each message handed to a command that keeps it in a file
	# of its own; keep: the mail stays for test 5.  sslproto '': fetchmail
	# 6.4 insists on TLS by default, and port 110 is plain POP3.
	in_box sh -c 'mkdir -p /root/fetched && cat >/root/save <<"EOF"
#!/bin/sh
cat >"$(mktemp /root/fetched/m.XXXXXX)"
EOF
chmod 755 /root/save
cat >/root/.fetchmailrc <<"EOF"
poll 127.0.0.1 service 110 protocol pop3 user "admin" there password "any" is "root" here mda "/root/save" keep sslproto ""
EOF
chmod 600 /root/.fetchmailrc'
	run in_box env HOME=/root timeout 120 fetchmail
	echo "$output"
	assert_success
	fetched() {
		in_box sh -c 'grep -lF -- "$1" /root/fetched/* | wc -l' _ "$1"
	}
	[ "$(fetched "body-mailx-$tag")" = 1 ]
	[ "$(fetched "body-user-$tag")" = 1 ]
	[ "$(fetched "smartd-$tag")" = 1 ]
	[ "$(fetched 'Subject: Logwatch for')" = 1 ]
	[ "$(fetched "Subject: curl-$tag")" = 1 ]
	[ "$(fetched "cron-job-output-$TAG")" = "$cron" ]
	# What each sender's message looks like in the maildir.
	run in_box sh -c 'grep -rh "^Subject: " '"$MD"'/cur | sort'
	assert_line --partial "Subject: mailx-$tag"
	assert_line --regexp '^Subject: SMART error \(CurrentPendingSector\) detected on host'
	assert_line --regexp '^Subject: Cron <root@[^>]*> echo cron-job-output-'
}

@test "4. an upgrade while 500 messages arrive over port 25: none refused, lost or doubled" {
	[ "$(pkg_state baremail)" = installed ]
	# The sockets' identities: an upgrade that leaves a socket's unit
	# file alone must not restart it.  The pop3 socket's file is made to
	# differ from the package's, as a version with a changed socket
	# would: that one is restarted.
	local smtp_id pop3_id
	smtp_id=$(in_box systemctl show -P InvocationID baremail-smtp.socket)
	pop3_id=$(in_box systemctl show -P InvocationID baremail-pop3.socket)
	[ -n "$smtp_id" ]
	[ -n "$pop3_id" ]
	in_box sh -c 'echo "# changed" >>"$(systemctl show -P FragmentPath baremail-pop3.socket)"'
	in_box rm -f /run/load-started /run/upgrade-done
	in_box timeout 600 /usr/bin/python3 /share/debian-upgrade-client.py 500 \
	    /root/upgrade-load.json </dev/null >"$BATS_TEST_TMPDIR/client.log" 2>&1 3>&- &
	local client=$! i
	for i in $(seq 600); do
		in_box test -e /run/load-started && break
		sleep 0.1
	done
	in_box test -e /run/load-started
	run in_box sh -c 'cd /share/v2 && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y ./baremail_*.deb'
	in_box touch /run/upgrade-done
	echo "$output"
	assert_success
	local rc=0
	wait "$client" || rc=$?
	cat "$BATS_TEST_TMPDIR/client.log"
	[ "$rc" = 0 ]
	[ "$(in_box dpkg-query -W -f='${Version}' baremail)" = "$UPGRADE" ]
	# The upgrade happened while the client was sending: it had sent 50
	# before, and waited for the upgrade's end before its last 50.
	run in_box /usr/bin/python3 -c '
import json
r = json.load(open("/root/upgrade-load.json"))
print(len(r["acked"]), r["refused"], len(r["errors"]), r["during"])'
	echo "acked refused errors sent-during-upgrade: $output"
	[ "$output" = "500 0 0 $(echo "$output" | cut -d' ' -f4)" ]
	[ "$(echo "$output" | cut -d' ' -f4)" -ge 1 ]
	# Every acknowledged message is in the maildir exactly once.
	run in_box /usr/bin/python3 -c '
import collections, json, os, re
r = json.load(open("/root/upgrade-load.json"))
seen = collections.Counter()
for d in ("'"$MD"'/new", "'"$MD"'/cur"):
    for f in os.listdir(d):
        m = re.search(rb"^Subject: (upgrade-load-\d+-\d+)$", open(os.path.join(d, f), "rb").read(), re.M)
        if m:
            seen[m.group(1).decode()] += 1
print("missing", sum(1 for t in r["acked"] if seen[t] == 0),
      "doubled", sum(1 for t in r["acked"] if seen[t] > 1),
      "unacked", sum(1 for t in seen if t not in set(r["acked"])))'
	assert_output 'missing 0 doubled 0 unacked 0'
	# The smtp socket kept listening all along; the changed one restarted.
	[ "$(in_box systemctl show -P InvocationID baremail-smtp.socket)" = "$smtp_id" ]
	[ "$(in_box systemctl show -P InvocationID baremail-pop3.socket)" != "$pop3_id" ]
	run in_box systemctl is-active baremail-smtp.socket baremail-pop3.socket
	assert_output $'active\nactive'
	in_box test ! -e /run/baremail-upgrade
}

@test "5. apt remove closes the ports and keeps mail and configuration; purge removes the configuration, never the mail" {
	local before
	before=$(in_box sh -c "ls $MD/new $MD/cur | grep -c ." )
	[ "$before" -ge 505 ]
	run box_apt remove baremail
	echo "$output"
	assert_success
	[ "$(pkg_state baremail)" = config-files ]
	run in_box systemctl is-active baremail-smtp.socket baremail-pop3.socket
	refute_line active
	run listening
	refute_output --regexp ':(25|587|110)$'
	local p open
	open=$'\n'$(listening)$'\n'
	for p in $(socket_ports); do
		[[ "$open" != *$'\n'"$p"$'\n'* ]]
	done
	run in_box sh -c "ls $MD/new $MD/cur | grep -c ."
	assert_output "$before"
	in_box test -f /etc/baremail.conf
	in_box getent passwd baremail

	run box_apt purge baremail
	echo "$output"
	assert_success
	[ "$(pkg_state baremail)" = not-installed ]
	in_box test ! -e /etc/baremail.conf
	in_box test ! -e /etc/baremail/tls
	run in_box sh -c "ls $MD/new $MD/cur | grep -c ."
	assert_output "$before"
	run in_box stat -c %U "$MD"
	assert_output baremail
}
