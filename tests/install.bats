#!/usr/bin/env bats
# meson install into a DESTDIR: the tree, and every path that the
# installed units and xinetd entries name, which must exist in that tree
# once its own sysusers.d and tmpfiles.d entries have been applied to it.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	D="$BATS_FILE_TMPDIR/dest"
	timeout 600 meson install -C "$BAREMAIL_BUILD" --no-rebuild \
	    --destdir "$D" >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
	    { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
	# Where the build put things, as it was configured.
	PREFIX=$(meson introspect "$BAREMAIL_BUILD" --buildoptions |
	    "$PY" -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}["prefix"])')
	SYSUNITDIR=$(installed_dir 'baremail-smtp.socket' system)
	USERUNITDIR=$(installed_dir 'baremail-smtp.socket' user)
	export D PREFIX SYSUNITDIR USERUNITDIR
}

# installed_dir NAME WORD: the directory (under DESTDIR) holding the
# installed file NAME whose path contains WORD.
installed_dir() {
	find "$D" -name "$1" -path "*/$2/*" -printf '%h\n' | head -1
}

@test "the session programs are in libexecdir/baremail, baremail-sendmail and baremail-tls in sbindir" {
	[ -x "$D$PREFIX/libexec/baremail/smtp-session" ]
	[ -x "$D$PREFIX/libexec/baremail/pop3-session" ]
	[ -x "$D$PREFIX/sbin/baremail-sendmail" ]
	[ -x "$D$PREFIX/sbin/baremail-tls" ]
	# Its default directory, where it writes, names the install's.
	[ "$(stat -c %a "$D$PREFIX/etc/baremail/tls")" = 755 ]
	grep -qx "SYSCONFDIR='$PREFIX/etc'" "$D$PREFIX/sbin/baremail-tls"
	# It reads the configuration through the baremail beside it.
	grep -qxF "BAREMAIL=\${BAREMAIL_ADMIN:-'$PREFIX/sbin/baremail'}" "$D$PREFIX/sbin/baremail-tls"
	[ -x "$D$PREFIX/sbin/baremail" ]
	# Only the sendmail command is on PATH: the sessions are not commands.
	[ ! -e "$D$PREFIX/bin/smtp-session" ]
	[ ! -e "$D$PREFIX/sbin/smtp-session" ]
}

@test "the installed programs run and say their version" {
	local p
	for p in "$D$PREFIX/libexec/baremail/smtp-session" \
	    "$D$PREFIX/libexec/baremail/pop3-session"; do
		run timeout "$T" $WRAP "$p" -V
		assert_success
		assert_output --partial 0.
	done
}

@test "system and user units go where pkg-config's systemd says (or the options)" {
	local want
	want=$(pkg-config --variable=systemdsystemunitdir systemd)
	[ "$SYSUNITDIR" = "$D$want" ]
	want=$(pkg-config --variable=systemduserunitdir systemd)
	[ "$USERUNITDIR" = "$D$want" ]
	local u l
	for l in smtp submission submissions pop3 pop3s; do
		for u in "baremail-$l.socket" "baremail-$l@.service"; do
			[ -f "$SYSUNITDIR/$u" ]
			[ -f "$USERUNITDIR/$u" ]
		done
	done
	[ -f "$SYSUNITDIR/baremail-tls.service" ]
	[ -f "$USERUNITDIR/baremail-tls.service" ]
	# The user units are the user ones (high ports), not copies.
	grep -qx 'ListenStream=127.0.0.1:2025' "$USERUNITDIR/baremail-smtp.socket"
	grep -qx 'ListenStream=127.0.0.1:25' "$SYSUNITDIR/baremail-smtp.socket"
}

@test "the options systemdsystemunitdir and systemduserunitdir move the units" {
	local b="$BATS_TEST_TMPDIR/build"
	timeout 120 meson setup "$b" "$BAREMAIL_SOURCE" --prefix=/usr \
	    -Dsystemdsystemunitdir=/opt/units/system \
	    -Dsystemduserunitdir=/opt/units/user >/dev/null
	run meson introspect "$b" --installed
	assert_success
	assert_output --partial '"/opt/units/system/baremail-smtp@.service"'
	assert_output --partial '"/opt/units/system/baremail-pop3.socket"'
	assert_output --partial '"/opt/units/user/baremail-smtp.socket"'
	assert_output --partial '"/opt/units/user/baremail-pop3@.service"'
	grep -qx 'ExecStart=/usr/libexec/baremail/smtp-session' \
	    "$b/systemd/baremail-smtp@.service"
}

@test "xinetd entries, the commented config, sysusers.d and tmpfiles.d entries, man pages" {
	local f
	for f in baremail-smtp baremail-submission baremail-submissions \
	    baremail-pop3 baremail-pop3s; do
		[ -f "$D$PREFIX/etc/xinetd.d/$f" ]
	done
	[ -f "$D$PREFIX/etc/baremail.conf" ]
	# Commented out from top to bottom: installing it changes nothing.
	run grep -vE '^[[:space:]]*(#|$|\[)' "$D$PREFIX/etc/baremail.conf"
	assert_output ''
	[ -f "$D$PREFIX/lib/sysusers.d/baremail.conf" ]
	[ -f "$D$PREFIX/lib/tmpfiles.d/baremail.conf" ]
	for f in man8/smtp-session.8 man8/pop3-session.8 \
	    man8/baremail-sendmail.8 man8/baremail-tls.8 man8/baremail.8 \
	    man7/baremail-units.7 man5/baremail.conf.5; do
		[ -f "$D$PREFIX/share/man/$f" ]
		# groff -ww: every warning; -z: no output but them.
		run --separate-stderr groff -man -ww -z "$D$PREFIX/share/man/$f"
		assert_success
		[ -z "$stderr" ] || { echo "$f: $stderr"; false; }
	done
}

@test "every path the installed units and xinetd entries name exists in the tree" {
	# Apply the tree's own account and directory entries to the tree.
	mkdir -p "$D/etc"
	timeout 60 systemd-sysusers --root="$D" \
	    "$D$PREFIX/lib/sysusers.d/baremail.conf"
	grep -q '^baremail:' "$D/etc/passwd"
	timeout 60 systemd-tmpfiles --root="$D" --create \
	    "$D$PREFIX/lib/tmpfiles.d/baremail.conf"
	local files=("$SYSUNITDIR"/baremail-* "$USERUNITDIR"/baremail-* \
	    "$D$PREFIX"/etc/xinetd.d/baremail-*)
	# Five sockets, five services and the certificate's oneshot, for
	# the system and for users; five xinetd entries; baremail's expire
	# timer and notify path with their services.
	[ "${#files[@]}" = 31 ]
	local f path n=0
	for f in "${files[@]}"; do
		# Absolute paths in settings (comments left out): the tree's
		# own, or the system's (/bin/mkdir) outside its prefix.
		for path in $(grep -v '^[[:space:]]*#' "$f" |
		    grep -oE '(^|[ =+])/[^ ]+' | sed 's/^[ =+]//'); do
			case $path in
			"$PREFIX"/* | /var/* | /etc/*) ;;
			*) [ -e "$path" ] && continue ;;
			esac
			[ -e "$D$path" ] || { echo "$f names $path: not in the tree"; false; }
			n=$((n + 1))
		done
	done
	# ExecStart= 12 times for the sessions and certificates (2 more for
	# baremail expire and notify), five servers, the maildir ten times
	# (more for baremail's units) and the certificate directory.
	echo "paths: $n"
	[ "$n" -ge 29 ]
	run grep -h '^ExecStart=' "$SYSUNITDIR"/*.service "$USERUNITDIR"/*.service
	[ "${#lines[@]}" = 14 ]
	for path in "${lines[@]}"; do
		path=${path#ExecStart=}
		[ -x "$D${path%% *}" ]
	done
	run grep -h $'^\tserver\t' "$D$PREFIX"/etc/xinetd.d/baremail-*
	[ "${#lines[@]}" = 5 ]
	for path in "${lines[@]}"; do
		[ -x "$D${path##* }" ]
	done
	# Owned by the tree's baremail (numbers: the host's names differ).
	local uid
	uid=$(grep '^baremail:' "$D/etc/passwd" | cut -d: -f3)
	run stat -c '%u %a' "$D/var/lib/baremail/Maildir"
	assert_output "$uid 700"
}
