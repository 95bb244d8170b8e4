#!/usr/bin/env bats
# baremail, the administrator's command, against real maildirs: mail
# delivered by smtp-session and baremail-sendmail, and files named as
# Postfix and Courier name them.

load helpers
bats_require_minimum_version 1.5.0

teardown() {
	listen_stop
	if [ -n "${HTTP_PID:-}" ]; then kill "$HTTP_PID" 2>/dev/null || true; wait "$HTTP_PID" 2>/dev/null || true; fi
	if [ -n "${TMPFS:-}" ]; then umount "$TMPFS" 2>/dev/null || true; fi
}

# bm ARG...: baremail, stdout in $output, log lines in $stderr.
bm() {
	run --separate-stderr timeout "$T" $WRAP "$BAREMAIL" "$@"
}

# deliver SUBJECT [HEADER-LINE...]: one message through a real smtp-session.
deliver() {
	local subj=$1; shift
	smtp "EHLO t" "MAIL FROM:<cron@host.example>" "RCPT TO:<root@test.example>" "DATA" \
	    "From: Cron Daemon <cron@host.example>" "To: root@test.example" "Subject: $subj" "$@" "" \
	    "body of $subj" "." "QUIT"
	[ "$(final_codes)" = "220 250 250 250 354 250 221" ]
}

# foreign DIR NAME SUBJECT: a message as another MTA would leave it.
foreign() {
	printf 'From: other@mta.example\nSubject: %s\n\nforeign %s\n' "$3" "$3" | md_put "$1" "$2"
}

@test "status counts new/ and cur/, names the oldest and newest, exits 0" {
	deliver first
	deliver second
	foreign cur "1600000000.V801I12M345678.old.example:2,S" "postfix old"
	foreign new "1700000000.M123456P789_0.courier.example,S=60" "courier"
	bm status
	[ "$status" -eq 0 ]
	[[ "$output" == *"messages:       4 (3 in new/, 1 in cur/)"* ]]
	printf '%s\n' "$output" | grep -q '^oldest: .*other@mta.example  postfix old$'
	printf '%s\n' "$output" | grep -q '^newest: .*Cron Daemon <cron@host.example>  second$'
	printf '%s\n' "$output" | grep -q '^tmp/: *0 file(s)'
	printf '%s\n' "$output" | grep -q '^free space: .* of '
}

@test "status exits 69 when the maildir is missing or broken, and never creates it" {
	rm -rf "$MD"
	bm status
	[ "$status" -eq 69 ]
	[[ "$output" == *UNUSABLE* ]]
	[ ! -e "$MD" ]
	mkdir "$MD"
	if [ "$(id -u)" = 0 ]; then chown "$TEST_USER" "$MD"; fi
	deliver one
	rm -rf "$MD/cur" && touch "$MD/cur" && chmod a+r "$MD/cur"
	bm status --prometheus
	[ "$status" -eq 69 ]
	printf '%s\n' "$output" | grep -qx 'baremail_maildir_usable 0'
}

@test "status --prometheus prints valid text format with the last delivery time" {
	deliver one
	foreign cur "1600000000.V801I12M345678.old.example:2," "old"
	touch -d '40 hours ago' "$MD/tmp/stale" && chmod a+r "$MD/tmp/stale"
	bm status --prometheus
	[ "$status" -eq 0 ]
	newest=$(ls "$MD/new" | sed 's/\..*//')
	printf '%s\n' "$output" | grep -qx "baremail_last_delivery_timestamp_seconds $newest"
	printf '%s\n' "$output" | grep -qx 'baremail_oldest_message_timestamp_seconds 1600000000'
	printf '%s\n' "$output" | grep -qx 'baremail_messages{dir="new"} 1'
	printf '%s\n' "$output" | grep -qx 'baremail_tmp_stale_files 1'
	# Every line is a comment or "name{labels} number", each metric typed.
	printf '%s\n' "$output" | $PY -c '
import re, sys
typed = set()
for line in sys.stdin.read().splitlines():
    m = re.fullmatch(r"# TYPE ([a-z_]+) gauge", line)
    if m: typed.add(m.group(1)); continue
    if line.startswith("# HELP "): continue
    m = re.fullmatch(r"([a-z_]+)(\{[a-z]+=\"[^\"]*\"\})? -?[0-9]+", line)
    assert m and m.group(1) in typed, line
'
}

@test "the cron line of README and baremail(8) writes baremail_maildir_usable 0 once the maildir breaks" {
	local line cmd dir=$BATS_TEST_TMPDIR/textfile
	mkdir "$dir"
	line=$(grep -m1 '^\*/5 \* \* \* \* baremail baremail status --prometheus' "$BAREMAIL_SOURCE/README.md")
	cmd=${line#'*/5 * * * * baremail '}
	cmd=${cmd//\/var\/lib\/prometheus\/node-exporter/$dir}
	cmd="$BAREMAIL${cmd#baremail}"
	deliver one
	timeout "$T" sh -c "$cmd" || :
	grep -qx 'baremail_maildir_usable 1' "$dir/baremail.prom"
	rm -rf "$MD/cur"
	timeout "$T" sh -c "$cmd" || :
	grep -qx 'baremail_maildir_usable 0' "$dir/baremail.prom"
	[ ! -e "$dir/baremail.prom.tmp" ]
}

@test "list numbers messages as POP3 does, decodes RFC 2047, tames escapes" {
	deliver '=?UTF-8?B?SsO8cmdlbiBzYXlzIGhp?='
	foreign cur "1600000000.V801I12M345678.old.example:2,S" "old one"
	deliver "$(printf 'evil \033[2J clear')"
	bm list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == *"old one"* ]]
	[[ "${lines[1]}" == *"Jürgen says hi"* ]]
	[[ "${lines[2]}" != *$'\033'* ]]
	[[ "${lines[2]}" == *"evil ?[2J clear"* ]]
	[[ "${lines[0]}" == *seen ]]
	[[ "${lines[1]}" == *new ]]
	# The same numbers as a POP3 session gives.
	pop3 "USER a" "PASS b" "TOP 2 0" "TOP 1 0" "QUIT"
	[[ "$output" == *"Subject: =?UTF-8?B?SsO8cmdlbiBzYXlzIGhp?="*"Subject: old one"* ]]
}

@test "list --new skips seen messages, --since skips older ones, nothing is changed" {
	foreign cur "1600000000.V801I12M345678.old.example:2,S" "old seen"
	foreign cur "1600000100.V801I13M345678.old.example:2," "old unseen"
	deliver fresh
	before=$(cd "$MD" && find . | sort)
	bm list --new
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *"old unseen"* ]]
	[[ "${lines[1]}" == *fresh* ]]
	bm list --since 2d
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == *fresh* ]]
	bm list --since 2020-09-13T12:27
	[ "${#lines[@]}" -eq 2 ]
	bm list --since yesterday
	[ "$status" -eq 64 ]
	# An age beyond any time (30500568904945 weeks: its seconds wrap
	# around 2^64 to 13.7 days) is an error, never a silent 13.7 days.
	bm list --since 30500568904945w
	[ "$status" -eq 64 ]
	[[ "$stderr" == *'bad --since "30500568904945w"'* ]]
	bm list --since 10000000000000000000s
	[ "$status" -eq 64 ]
	# An age older than every message lists them all.
	bm list --since 1700w
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(cd "$MD" && find . | sort)" = "$before" ]
}

@test "show prints decoded text and names MIME parts without dumping them" {
	printf '%s\n' 'From: =?ISO-8859-1?Q?Ren=E9?= <r@x>' 'Subject: =?UTF-8?Q?report_=E2=9C=93?=' \
	    'MIME-Version: 1.0' 'Content-Type: multipart/mixed; boundary="b1"' '' 'preamble' \
	    '--b1' 'Content-Type: text/plain; charset=iso-8859-1' 'Content-Transfer-Encoding: quoted-printable' '' \
	    'r=E9sum=E9: all good=' ' still' \
	    '--b1' 'Content-Type: application/pdf; name="r.pdf"' 'Content-Disposition: attachment; filename="q3 report.pdf"' \
	    'Content-Transfer-Encoding: base64' '' 'U0VDUkVUUERGQ09OVEVOVA==' '--b1--' |
	    md_put new "1700000000.M1P1.h,S=400"
	before=$(cd "$MD" && find . | sort)
	bm show 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"From: René <r@x>"* ]]
	[[ "$output" == *"Subject: report ✓"* ]]
	[[ "$output" == *"résumé: all good still"* ]]
	[[ "$output" == *'[part 2: application/pdf, "q3 report.pdf", 16 bytes]'* ]]
	[[ "$output" != *SECRETPDF* ]]
	[[ "$output" != *U0VDUkVU* ]]
	[ "$(cd "$MD" && find . | sort)" = "$before" ]
	bm show 2
	[ "$status" -eq 65 ]
	bm show --mark-seen 1
	[ "$status" -eq 0 ]
	[ -f "$MD/cur/1700000000.M1P1.h,S=400:2,S" ]
	bm list --new
	[ "${#lines[@]}" -eq 0 ]
}

@test "expire deletes nothing without a [retention] policy" {
	foreign cur "1000000000.V1I1M1.ancient:2,S" ancient
	deliver one
	bm expire
	[ "$status" -eq 0 ]
	[ "$(count_messages)" -eq 2 ]
}

@test "expire: max_age, max_messages, max_size, oldest first, one log line each" {
	foreign cur "1000000000.V1I1M1.ancient:2,S" ancient
	foreign new "1000000100.M1P1_0.courier,S=50" ancient2
	for i in 1 2 3 4; do deliver "m$i"; done
	conf_set retention max_age 365d
	bm expire --dry-run
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^would delete')" -eq 2 ]
	[ "$(count_messages)" -eq 6 ]
	bm expire
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$stderr" | grep -c 'expired .*older than max_age')" -eq 2 ]
	[ "$(count_messages)" -eq 4 ]
	conf_set retention max_messages 3
	bm expire
	[ "$(printf '%s\n' "$stderr" | grep -c 'expired .*over max_messages')" -eq 1 ]
	bm list
	[[ "${lines[0]}" == *m2* ]]
	conf_set retention max_messages 100
	size=$(find "$MD/new" "$MD/cur" -type f -name '*m4*' -o -type f -newer "$MD" -printf '%s\n' | head -1)
	conf_set retention max_size 1
	bm expire
	[ "$(printf '%s\n' "$stderr" | grep -c 'expired .*over max_size')" -eq 3 ]
	[ "$(count_messages)" -eq 0 ]
}

@test "names without S= (Postfix, mutt) count their bytes: status, --prometheus, expire max_size" {
	# 3 messages of 2000 bytes as other MTAs name them: no size in the name.
	for i in 1 2 3; do
		{ printf 'From: other@mta.example\nSubject: big %s\n\n' "$i"; head -c 1960 /dev/zero | tr '\0' x; } |
		    md_put cur "160000000$i.V801I1$i.old.example:2,S"
	done
	bm status
	[ "$status" -eq 0 ]
	[[ "$output" == *"messages:       3 (0 in new/, 3 in cur/), 5.9 KiB"* ]]
	bm status --prometheus
	printf '%s\n' "$output" | grep -qx 'baremail_bytes 6000'
	conf_set retention max_size 4500
	bm expire --dry-run
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^would delete .*, 2000 bytes, over max_size)$')" -eq 1 ]
	bm expire
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$stderr" | grep -c 'expired .*2000 bytes, over max_size')" -eq 1 ]
	[ "$(count_messages)" -eq 2 ]
	[[ "$stderr" == *"1 message(s), 2000 bytes deleted; 2 left"* ]]
}

@test "expire --dry-run names a file whose name holds a terminal escape without the escape" {
	foreign cur "$(printf '1000000000.V1I1M1.evil\033]0;owned\a\033[2J:2,S')" ancient
	conf_set retention max_age 365d
	bm expire --dry-run
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "would delete 1 1000000000.V1I1M1.evil?]0;owned??[2J:2,S ("* ]]
	run ! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$output"
	[ "$(count_messages)" -eq 1 ]
}

@test "expire removes tmp/ files untouched for 36 hours and keeps newer ones" {
	deliver one
	printf x > "$MD/tmp/old"; touch -d '37 hours ago' "$MD/tmp/old"
	printf x > "$MD/tmp/recent"; touch -d '35 hours ago' "$MD/tmp/recent"
	bm expire
	[ "$status" -eq 0 ]
	[ ! -e "$MD/tmp/old" ]
	[ -e "$MD/tmp/recent" ]
	[[ "$stderr" == *"removed 1 file(s) older than 36 hours"* ]]
}

@test "bad [retention] values are configuration errors; notify without a command does nothing" {
	deliver one
	bm notify
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"no [notify] command"*"nothing to do"* ]]
	[ ! -e "$MD/.baremail-notify" ]
	conf_set retention max_age 180
	bm status
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"[retention] max_age: \"180\" is not a duration"* ]]
	sed -i '/^max_age = 180$/d' "$CONF"
	conf_set retention max_size 2X
	bm expire
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"[retention] max_size"* ]]
}

@test "config prints every key, defaults included, as INI that reads back the same" {
	bm config
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# The sections of libsession's table, each once, in its order.
	[ "$(printf '%s\n' "$output" | grep '^\[' | tr -d '\n')" = \
	    "[maildir][smtp][pop3][sendmail][log][user][tls][retention][notify]" ]
	assert_line "path = $MD"
	assert_line "hostname = test.example"
	assert_line "max_message_size = 50M"
	assert_line "timeout = 300"
	assert_line "timeout = 600"
	assert_line "exclusive = no"
	assert_line "smtp = 127.0.0.1:25"
	assert_line "level = info"
	assert_line "max_age = 0s"
	# Not set: commented out, as an empty value is refused.
	assert_line "# min_free ="
	assert_line "# names ="
	assert_line "# command ="
	# What it prints is a configuration that gives the same.
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/printed.conf"
	local first=$output
	bm -c "$BATS_TEST_TMPDIR/printed.conf" config
	[ "$status" -eq 0 ]
	[ "$output" = "$first" ]
	# And the sessions take it.
	run timeout "$T" "$SMTP_SESSION" -c "$BATS_TEST_TMPDIR/printed.conf" </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == "220 test.example "* ]]
}

@test "config SECTION.KEY...: one value a line; an unknown key exits 64, a bad file 78" {
	conf_set TLS Names "mail.lan, 192.0.2.7"
	conf_set retention max_age "180d ; half a year"
	bm config smtp.hostname Tls.NAMES notify.command retention.max_age
	[ "$status" -eq 0 ]
	[ "$output" = "test.example
mail.lan, 192.0.2.7

180d" ]
	# The file is chosen as every program chooses it: -c, then
	# $BAREMAIL_CONFIG, then the installed one.
	printf '[smtp]\nhostname = other.example\n' >"$BATS_TEST_TMPDIR/other.conf"
	bm -c "$BATS_TEST_TMPDIR/other.conf" config smtp.hostname
	[ "$output" = other.example ]
	BAREMAIL_CONFIG="$BATS_TEST_TMPDIR/other.conf" bm config smtp.hostname
	[ "$output" = other.example ]
	# Every key is checked before one is printed.
	local k
	for k in smtp.hostnme tls nonsense.key .names tls.; do
		bm config smtp.hostname "$k"
		[ "$status" -eq 64 ]
		[ -z "$output" ]
		[[ "$stderr" == *"unknown key \"$k\""* ]]
	done
	bm config --bogus
	[ "$status" -eq 64 ]
	# A bad configuration: the usual FILE:LINE and 78, nothing printed.
	conf_set smtp timeout 0
	bm config smtp.hostname
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[[ "$stderr" == *"$CONF:"*": [smtp] timeout: 0 is out of range"* ]]
	bm -c "$BATS_TEST_TMPDIR/missing.conf" config
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/missing.conf: No such file"* ]]
}

@test "config as root without [user] name: reads the file, needs no maildir, touches nothing" {
	[ "$(id -u)" = 0 ] || skip "the root rule applies to root only"
	local conf="$BATS_TEST_TMPDIR/root.conf" home
	printf '[maildir]\npath = %s/none\n[tls]\nnames = a.lan\n' "$BATS_TEST_TMPDIR" >"$conf"
	# The maildir programs refuse to run as root with it ...
	bm -c "$conf" status
	[ "$status" -eq 77 ]
	[[ "$stderr" == *"refusing to run as root"* ]]
	# ... config only reads it.
	bm -c "$conf" config maildir.path user.name tls.names
	[ "$status" -eq 0 ]
	[ "$output" = "$BATS_TEST_TMPDIR/none

a.lan" ]
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
	# With [user] name and no [maildir] path: the maildir the sessions
	# would use, in that account's home.
	home=$(getent passwd "$TEST_USER" | cut -d: -f6)
	printf '[user]\nname = %s\n' "$TEST_USER" >"$conf"
	MAILDIR= bm -c "$conf" config maildir.path
	[ "$status" -eq 0 ]
	[ "$output" = "${home%/}/Maildir" ]
}

# notify_conf COMMAND: [notify] command.
notify_conf() {
	conf_set notify command "$1"
}

@test "notify: the first run notifies nothing, then each new message once with its variables" {
	deliver before
	out="$BATS_TEST_TMPDIR/notified"
	: > "$out"; chmod a+rw "$out"
	notify_conf "{ printf '%s|%s|%s|%s|%s|' \"\$BAREMAIL_FROM\" \"\$BAREMAIL_TO\" \"\$BAREMAIL_SUBJECT\" \"\$BAREMAIL_SIZE\" \"\$BAREMAIL_FILE\"; grep -c .; } >> $out"
	bm notify
	[ "$status" -eq 0 ]
	[ ! -s "$out" ]
	[[ "$stderr" == *"first run; 1 message(s) already"* ]]
	deliver '=?UTF-8?Q?caf=C3=A9?='
	deliver second
	bm notify
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$out")" -eq 2 ]
	grep -q '^Cron Daemon <cron@host.example>|root@test.example|café|[0-9]*|'"$MD"'/new/.*|[0-9]*$' "$out"
	# Every message on stdin: the count of its lines matches the file.
	while IFS='|' read -r _ _ _ size file lines; do
		[ "$(grep -c . "$file")" -eq "$lines" ]
		[ "$(stat -c %s "$file")" -eq "$size" ]
	done < "$out"
	bm notify
	[ "$(wc -l < "$out")" -eq 2 ]
}

@test "notify: the command starts with SIGPIPE and SIGXFSZ at their defaults, not ignored as baremail ignores them" {
	deliver before
	out="$BATS_TEST_TMPDIR/sigign"
	: > "$out"; chmod a+rw "$out"
	notify_conf "grep '^SigIgn:' /proc/self/status >> $out"
	bm notify
	[ "$status" -eq 0 ]
	deliver after
	bm notify
	[ "$status" -eq 0 ]
	local mask
	mask=$(awk '{ print $2 }' "$out")
	[ -n "$mask" ]
	# Bit n-1 is signal n: SIGPIPE 13, SIGXFSZ 25.
	[ $((0x$mask & (1 << 12))) -eq 0 ]
	[ $((0x$mask & (1 << 24))) -eq 0 ]
}

@test "notify: mail a POP3 client moved to cur/ first is notified once; a failed command is retried" {
	out="$BATS_TEST_TMPDIR/notified"
	: > "$out"; chmod a+rw "$out"
	flag="$BATS_TEST_TMPDIR/fail"
	touch "$flag"; chmod a+rw "$flag"
	notify_conf "[ ! -e $flag ] && echo \"\$BAREMAIL_SUBJECT\" >> $out"
	deliver zero
	bm notify
	deliver popped
	pop3 "USER a" "PASS b" "QUIT"
	[ "$(ls "$MD/new" | wc -l)" -eq 0 ]
	bm notify
	[ "$status" -eq 75 ]
	[[ "$stderr" == *"retried next run"* ]]
	[ ! -s "$out" ]
	grep -q '^retry ' "$MD/.baremail-notify"
	rm "$flag"
	bm notify
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = popped ]
	bm notify
	[ "$(cat "$out")" = popped ]
	# A message deleted before its turn: nothing to tell, nothing to retry.
	touch "$flag"
	deliver doomed
	bm notify
	[ "$status" -eq 75 ]
	rm "$MD"/new/*
	rm "$flag"
	bm notify
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = popped ]
	run grep -c '^retry ' "$MD/.baremail-notify"
	[ "$output" = 0 ]
}

@test "notify: a state file it did not write (garbage, or emptied by hand) exits 65 and notifies nothing" {
	deliver one
	deliver two
	out="$BATS_TEST_TMPDIR/notified"
	: > "$out"; chmod a+rw "$out"
	notify_conf "echo \"\$BAREMAIL_SUBJECT\" >> $out"
	printf 'mark 1700000000\nseen garbage\n' | md_put . .baremail-notify
	bm notify
	[ "$status" -eq 65 ]
	[[ "$stderr" == *".baremail-notify: Invalid argument (remove it to start afresh)"* ]]
	[ ! -s "$out" ]
	# Emptied (": > .baremail-notify" to reset it): no mark, so not the
	# record of a run; taken as such it would notify every message there.
	: > "$MD/.baremail-notify"
	bm notify
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"(remove it to start afresh)"* ]]
	[ ! -s "$out" ]
	rm "$MD/.baremail-notify"
	bm notify
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"first run; 2 message(s) already"* ]]
	[ ! -s "$out" ]
}

@test "notify: one run at a time, held by an fcntl lock on .baremail-notify.lock (the kind that holds across hosts)" {
	out="$BATS_TEST_TMPDIR/notified"
	: > "$out"; chmod a+rw "$out"
	notify_conf "echo \"\$BAREMAIL_SUBJECT\" >> $out"
	deliver zero
	bm notify
	[ "$status" -eq 0 ]
	[ -f "$MD/.baremail-notify.lock" ]
	deliver one
	# Another host's notifier, as the file system sees it: a POSIX lock.
	timeout 60 "$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(50)' "$MD/.baremail-notify.lock" > "$BATS_TEST_TMPDIR/held" &
	holder=$!
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/held" ] && break; sleep 0.05; done
	[ "$(cat "$BATS_TEST_TMPDIR/held")" = held ]
	# It waits for the lock: still waiting when timeout ends it (KILL:
	# under valgrind a TERM waited for the lock, and so for the holder).
	run timeout -s KILL 1 $WRAP "$BAREMAIL" notify
	[ "$status" -eq 137 ]
	[ ! -s "$out" ]
	kill "$holder"
	wait "$holder" || true
	bm notify
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = one ]
}

@test "notify: kill -9 at any moment loses no notification" {
	# Under valgrind a kill within 0.4 s lands before the program starts:
	# the kills prove nothing there, so the plain pass carries the load.
	local n=40 rounds=30
	[ -z "$WRAP" ] || { n=5; rounds=2; }
	out="$BATS_TEST_TMPDIR/notified"
	: > "$out"; chmod a+rw "$out"
	notify_conf "echo \"\$BAREMAIL_SUBJECT\" >> $out; sleep 0.0\$((RANDOM % 3))"
	deliver zero
	bm notify
	for i in $(seq $n); do deliver "n$i"; done
	# Killed at random points until a run finishes on its own.
	for round in $(seq $rounds); do
		timeout -s KILL "0.$((RANDOM % 4 + 1))" $WRAP "$BAREMAIL" notify 2>/dev/null && break || true
	done
	bm notify
	[ "$status" -eq 0 ]
	for i in $(seq $n); do grep -qx "n$i" "$out"; done
	echo "# notifications: $(wc -l < "$out") for $n messages" >&3
}

# ---- notify recipes (baremail(8)) against local receivers ----

# http_receiver: an HTTP server on a free loopback port that answers 200
# and appends each request to $BATS_TEST_TMPDIR/requests as a JSON line;
# sets HTTP_PORT and HTTP_PID.
http_receiver() {
	local portfile="$BATS_TEST_TMPDIR/http.port"
	timeout 120 $PY -c '
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        rec = {"method": self.command, "path": self.path, "body": body,
               "headers": {k.lower(): v.encode("latin-1").decode("utf-8", "replace")
                           for k, v in self.headers.items()}}
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    do_GET = do_POST = do_PUT = handle_one
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_port))
s.serve_forever()
' "$BATS_TEST_TMPDIR/requests" "$portfile" 3>&- &
	HTTP_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	HTTP_PORT=$(cat "$portfile")
	[ -n "$HTTP_PORT" ]
}

# recipe_run COMMAND: the first run, then one message with a UTF-8 subject.
recipe_run() {
	conf_set notify command "$1"
	deliver first
	bm notify
	[ "$status" -eq 0 ]
	deliver '=?UTF-8?Q?disk_=C3=BCber_90=25?='
	bm notify
	echo "$stderr"
	[ "$status" -eq 0 ]
}

# request EXPR: evaluates a Python expression on the one request received.
request() {
	$PY -c 'import json, sys, urllib.parse
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 1, reqs
r = reqs[0]
print(eval(sys.argv[2]))' "$BATS_TEST_TMPDIR/requests" "$1"
}

@test "recipe ntfy: a publish request with the decoded subject as title" {
	http_receiver
	recipe_run "curl -fsSG http://127.0.0.1:$HTTP_PORT/mytopic/publish --data-urlencode \"title=\$BAREMAIL_SUBJECT\" --data-urlencode \"message=from \$BAREMAIL_FROM\""
	[ "$(request 'urllib.parse.urlsplit(r["path"]).path')" = /mytopic/publish ]
	[ "$(request 'urllib.parse.parse_qs(urllib.parse.urlsplit(r["path"]).query)["title"][0]')" = "disk über 90%" ]
	[ "$(request 'urllib.parse.parse_qs(urllib.parse.urlsplit(r["path"]).query)["message"][0]')" = "from Cron Daemon <cron@host.example>" ]
}

@test "recipe Gotify: a form post with title and message" {
	http_receiver
	recipe_run "curl -fsS \"http://127.0.0.1:$HTTP_PORT/message?token=T0KEN\" -F \"title=\$BAREMAIL_SUBJECT\" -F \"message=from \$BAREMAIL_FROM\""
	[ "$(request 'r["method"]')" = POST ]
	[ "$(request 'r["path"]')" = "/message?token=T0KEN" ]
	request 'r["body"]' | tr -d '\r' | grep -A2 'name="title"' | grep -qx 'disk über 90%'
	request 'r["body"]' | tr -d '\r' | grep -A2 'name="message"' | grep -qx 'from Cron Daemon <cron@host.example>'
}

@test "recipe webhook: JSON built by jq, whatever the subject holds" {
	http_receiver
	recipe_run "jq -n --arg f \"\$BAREMAIL_FROM\" --arg s \"\$BAREMAIL_SUBJECT\" '{from:\$f,subject:\$s}' | curl -fsS -H 'Content-Type: application/json' -d @- http://127.0.0.1:$HTTP_PORT/hook"
	[ "$(request 'r["headers"]["content-type"]')" = application/json ]
	[ "$(request 'json.loads(r["body"])["subject"]')" = "disk über 90%" ]
	[ "$(request 'json.loads(r["body"])["from"]')" = "Cron Daemon <cron@host.example>" ]
}

@test "recipe notify-send: a desktop notification over a real session bus" {
	command -v notify-send >/dev/null || skip "notify-send is not installed (Debian libnotify-bin)"
	command -v dbus-run-session >/dev/null || skip "dbus-run-session is not installed (Debian dbus)"
	$PY -c 'import dbus, gi' 2>/dev/null || skip "python3-dbus and python3-gi are missing"
	[ "$(id -u)" = 0 ] || skip "runs the bus as $TEST_USER, which needs root"
	local got="$BATS_TEST_TMPDIR/notifications"
	: > "$got"; chmod a+rw "$got"
	# The receiving end: the org.freedesktop.Notifications service a
	# desktop runs, recording each call instead of drawing it.
	cat > "$BATS_TEST_TMPDIR/daemon.py" <<'PY'
import sys, dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
class N(dbus.service.Object):
    @dbus.service.method("org.freedesktop.Notifications", in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, rid, icon, summary, body, actions, hints, timeout):
        with open(sys.argv[1], "a") as f:
            f.write("%s|%s|%s\n" % (app, summary, body))
        return 1
    @dbus.service.method("org.freedesktop.Notifications", out_signature="ssss")
    def GetServerInformation(self):
        return ("test", "baremail", "1", "1.2")
    @dbus.service.method("org.freedesktop.Notifications", out_signature="as")
    def GetCapabilities(self):
        return ["body"]
bus = dbus.SessionBus()
name = dbus.service.BusName("org.freedesktop.Notifications", bus)
N(bus, "/org/freedesktop/Notifications")
open(sys.argv[2], "w").write("ready")
GLib.MainLoop().run()
PY
	chmod a+r "$BATS_TEST_TMPDIR/daemon.py"
	mkdir -m 777 "$BATS_TEST_TMPDIR/run"
	conf_set notify command 'notify-send -a BareMail "Mail from $BAREMAIL_FROM" "$BAREMAIL_SUBJECT"'
	deliver first
	bm notify
	deliver '=?UTF-8?Q?disk_=C3=BCber_90=25?='
	# The desktop user's session: a bus, the daemon, then the notifier.
	run timeout 60 setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --clear-groups \
	    env HOME="$BATS_TEST_TMPDIR" dbus-run-session -- sh -c '
		timeout 50 /usr/bin/python3 "$1" "$2" "$3" &
		for i in $(seq 100); do [ -s "$3" ] && break; sleep 0.05; done
		BAREMAIL_CONFIG="$4" timeout 30 "$5" notify' _ \
	    "$BATS_TEST_TMPDIR/daemon.py" "$got" "$BATS_TEST_TMPDIR/run/ready" "$CONF" "$BAREMAIL"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cat "$got")" = "BareMail|Mail from Cron Daemon <cron@host.example>|disk über 90%" ]
}

# ---- the disk floor, [smtp] min_free, on a small tmpfs ----

# small_fs SIZE: a tmpfs of SIZE holding the test's maildir.
small_fs() {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	TMPFS="$BATS_TEST_TMPDIR/small"
	mkdir "$TMPFS"
	mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$TMPFS"
	MD="$TMPFS/Maildir"
	mkdir "$MD"
	chown "$TEST_USER" "$MD"
	conf_set maildir path "$MD"
	conf_set sendmail smtp "127.0.0.1:$(free_port)"	# nobody listens
}

@test "disk floor: below min_free MAIL, DATA and BDAT get 452 4.3.1 before a byte is written" {
	small_fs 4m
	conf_set smtp min_free 2M
	deliver above
	dd if=/dev/zero of="$TMPFS/fill" bs=1k count=2500 status=none
	smtp "EHLO t" "MAIL FROM:<a@b.example>" "RCPT TO:<c@d.example>" "DATA" "QUIT"
	[ "$(final_codes)" = "220 250 452 503 452 221" ]
	[[ "$output" == *"452 4.3.1 Insufficient system storage"* ]]
	smtp "EHLO t" "MAIL FROM:<a@b.example>" "RCPT TO:<c@d.example>" "BDAT 5 LAST" "abc" "NOOP" "QUIT"
	[ "$(final_codes)" = "220 250 452 503 452 250 221" ]
	[ "$(count_messages)" -eq 1 ]
	[ "$(count_tmp)" -eq 0 ]
	# baremail-sendmail keeps the message in dead.letter and says "later".
	mkdir -m 777 "$BATS_TEST_TMPDIR/home"
	run env HOME="$BATS_TEST_TMPDIR/home" timeout "$T" $WRAP "$SENDMAIL" root <<<"Subject: kept"
	[ "$status" -eq 75 ]
	[[ "$output" == *"min_free"* ]]
	grep -q '^Subject: kept$' "$BATS_TEST_TMPDIR/home/dead.letter"
	[ "$(count_messages)" -eq 1 ]
	# Space again: mail flows again.
	rm "$TMPFS/fill"
	deliver after
	[ "$(count_messages)" -eq 2 ]
}

@test "disk floor: the default is the larger of 1% and 100 MiB; 0 turns it off" {
	small_fs 8m
	smtp "EHLO t" "MAIL FROM:<a@b.example>" "QUIT"
	[ "$(final_codes)" = "220 250 452 221" ]
	bm status
	[[ "$output" == *"SMTP refuses mail below 100.0 MiB)  LOW"* ]]
	conf_set smtp min_free 0
	deliver anyway
}

# ---- expire beside live sessions ----

@test "expire under SMTP and POP3 load: each old message deleted once, nothing delivered after its listing lost" {
	deliver zero
	run timeout 300 $PY "$BATS_TEST_DIRNAME/expire-load.py" "$MD" "$CONF" \
	    "$SMTP_SESSION" "$POP3_SESSION" "$BAREMAIL" "$TEST_USER" $WRAP
	echo "$output"
	printf '%s\n' "$output" | grep '^phase' | sed 's/^/# /' >&3
	[ "$status" -eq 0 ]
}
