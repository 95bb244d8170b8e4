#!/usr/bin/env bats
# The one root rule: started as root, smtp-session, pop3-session and
# baremail-sendmail -bs never read the client as root.  They switch to
# [user] name, else to the maildir's owner when that is not root, else
# refuse with 77 (EX_NOPERM) and say what to set.  Checked on the uid of
# the very process that waits on stdin for the client.

load helpers

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (CI runs as root)"
	baremail_setup
	# A second account, so that "the owner" and "[user] name" differ.
	OWNER=nobody
}

# The config without [user] name.
conf_without_user() {
	printf '[maildir]\npath = %s\n[smtp]\nhostname = test.example\n' "$MD" > "$CONF"
}

# reader_uid GREETING PROGRAM [ARG...]: the real, effective, saved and
# file-system uids of the process waiting for the client.
reader_uid() {
	waiting_status "$@"
	sed -n 's/^Uid:\t//p' "$BATS_TEST_TMPDIR/status" | tr '\t' ' '
}

# expect_reader UID GREETING PROGRAM [ARG...]: all four uids are UID.
expect_reader() {
	local want=$1 got
	shift
	got=$(reader_uid "$@")
	echo "reader uids: '$got', want $want" >&2
	[ "$got" = "$want $want $want $want" ]
}

# expect_refused PROGRAM [ARG...]: 77, no greeting, and a message that
# says what to set.
expect_refused() {
	local err="$BATS_TEST_TMPDIR/err"
	# stderr apart from stdout (the client): the message goes there too.
	run bash -c 'printf "QUIT\r\n" | timeout "$1" $2 "${@:4}" 2>"$3"' _ "$T" "$WRAP" "$err" "$@"
	cat "$err" >&2
	[ "$status" = 77 ]
	[ -z "$output" ]
	grep -qF "set [user] name in $CONF" "$err"
}

@test "root with [user] name: every program reads the client as that account" {
	uid=$(id -u "$TEST_USER")
	expect_reader "$uid" 220 "$SMTP_SESSION"
	expect_reader "$uid" '+OK' "$POP3_SESSION"
	expect_reader "$uid" 220 "$SENDMAIL" -bs
}

@test "root without [user] name: every program reads the client as the maildir's owner" {
	conf_without_user
	chown -R "$OWNER" "$MD"
	uid=$(id -u "$OWNER")
	expect_reader "$uid" 220 "$SMTP_SESSION"
	expect_reader "$uid" '+OK' "$POP3_SESSION"
	expect_reader "$uid" 220 "$SENDMAIL" -bs
	# What they create in the maildir is the owner's too.
	[ "$(stat -c %U "$MD/new")" = "$OWNER" ]
}

@test "root without [user] name and a maildir of root's: every program refuses with 77" {
	conf_without_user
	chown -R root "$MD"
	expect_refused "$SMTP_SESSION"
	expect_refused "$POP3_SESSION"
	expect_refused "$SENDMAIL" -bs
	[ ! -e "$MD/new" ]
}

@test "root without [user] name and no maildir yet: every program refuses with 77, creating nothing" {
	conf_without_user
	rmdir "$MD"
	expect_refused "$SMTP_SESSION"
	expect_refused "$POP3_SESSION"
	expect_refused "$SENDMAIL" -bs
	[ ! -e "$MD" ]
}

@test "root, delivering without -bs: the message is written with the maildir owner's ids" {
	conf_without_user
	chown -R "$OWNER" "$MD"
	run bash -c 'printf "Subject: s\n\nb\n" | timeout "$1" $2 "$3" root' _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" = 0 ]
	[ "$(stat -c %U "$(only_message)")" = "$OWNER" ]
}
