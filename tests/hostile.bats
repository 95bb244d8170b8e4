#!/usr/bin/env bats
# Hostile input: whatever a LAN client sends must not forge headers, split
# one message into two, reach a file outside the maildir, follow a planted
# symlink, or leave the sessions with a way to run programs or keep root.
load helpers

# raw_smtp: runs smtp-session on the bytes of printf FORMAT ARGS...
raw_smtp() {
	run bash -c 'printf "${@:4}" | timeout "$1" $2 "$3"' _ "$T" "$WRAP" \
	    "$SMTP_SESSION" "$@"
}
raw_pop3() {
	run bash -c 'printf "${@:4}" | timeout "$1" $2 "$3"' _ "$T" "$WRAP" \
	    "$POP3_SESSION" "$@"
}

# The header section of every stored message (up to the first empty line).
stored_headers() {
	local f
	for f in $(find "$MD/new" "$MD/cur" -type f); do
		sed '/^$/q' "$f"
	done
}

# No stored header line starts with a field the client tried to forge.
assert_no_forged() {
	if stored_headers | grep -a -i -E '^(X-Injected|X-Evil|Bcc|Subject: forged)' ; then
		echo "a forged header field was stored" >&2
		return 1
	fi
}

@test "CR inside MAIL FROM cannot start a header field of its own" {
	raw_smtp 'EHLO t\r\nMAIL FROM:<a@b\rX-Injected: yes>\r\nMAIL FROM:<ok@x>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'
	[ "$status" = 0 ]
	# Refused (501) or accepted: either way a message goes and nothing is forged.
	[ "$(count_messages)" = 1 ]
	assert_no_forged
	stored_headers | tr -d '\n' | grep -a -v $'\r' >/dev/null
	[ "$(stored_headers | head -1 | grep -c $'\r')" = 0 ]
}

@test "CR inside RCPT TO cannot start a header field (X-Original-To, Received for)" {
	raw_smtp 'EHLO t\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d\rX-Evil: yes>\r\nRCPT TO:<e@f\rBcc: victim@x>\r\nRCPT TO:<ok@x>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'
	[ "$status" = 0 ]
	[ "$(count_messages)" = 1 ]
	assert_no_forged
	# No CR survives anywhere in the trace fields we wrote.
	[ "$(stored_headers | sed '/^Subject:/,$d' | grep -c $'\r')" = 0 ]
}

@test "LF inside an envelope address ends the command; the rest is an unknown command" {
	raw_smtp 'EHLO t\r\nMAIL FROM:<a@b\nX-Injected: 1>\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d\nX-Evil: 1>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'
	[ "$status" = 0 ]
	[ "$(count_messages)" = 1 ]
	assert_no_forged
	[[ "$(final_codes)" == *500* ]]
}

@test "NUL inside MAIL FROM or RCPT TO never reaches the stored trace fields" {
	raw_smtp 'EHLO t\r\nMAIL FROM:<a\0X-Injected: 1@b>\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c\0@d>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'
	[ "$status" = 0 ]
	[ "$(count_messages)" = 1 ]
	assert_no_forged
	run bash -c "sed '/^\$/q' '$(only_message)' | tr -d -c '\\000' | wc -c"
	[ "$output" = 0 ]
}

@test "EHLO/HELO name with CR or LF cannot forge a header through Received:" {
	raw_smtp 'EHLO evil\rX-Injected: 1\r\nHELO evil\rX-Evil: 1\r\nEHLO good\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n'
	[ "$status" = 0 ]
	[ "$(count_messages)" = 1 ]
	assert_no_forged
}

@test "baremail-sendmail: CR/LF in -f, -F or a recipient argument cannot forge a header" {
	[ -n "${SENDMAIL:-}" ] || { echo "SENDMAIL not built" >&2; return 1; }
	run bash -c 'printf "Subject: s\n\nbody\n" | timeout "$1" $2 "$3" -i \
	    -f "$(printf "a@b\nX-Injected: 1")" -F "$(printf "Name\nX-Evil: 2")" \
	    -- "$(printf "root\nBcc: victim@x")" admin' _ "$T" "$WRAP" "$SENDMAIL"
	[ "$status" = 0 ]
	[ "$(count_messages)" = 1 ]
	assert_no_forged
}

@test "baremail-sendmail without -i: a '.' line ended by CR CR LF ends the message, as '.' CRLF does" {
	# Found by fuzz-sendmail (fuzz/corpus/fuzz-sendmail/regress-dot-cr-cr-lf):
	# CRs before a LF are all line end, so this line holds only a dot.
	local end
	for end in '\r\n' '\r\r\n' '\n'; do
		rm -rf "$MD/new"/* "$MD/cur"/*
		run bash -c 'printf "Subject: s\n\nbefore\n.$4after the dot\n" |
		    timeout "$1" $2 "$3" root' _ "$T" "$WRAP" "$SENDMAIL" "$end"
		[ "$status" = 0 ]
		[ "$(count_messages)" = 1 ]
		grep -q '^before$' "$(only_message)"
		if grep -q -e 'after the dot' -e '^\.$' "$(only_message)"; then
			echo "'.' + $end did not end the message" >&2
			return 1
		fi
	done
}

# One DATA with a smuggled second transaction after each fake end.
smuggle() {	# smuggle FAKE-END (printf escapes)
	raw_smtp "EHLO t\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: real\r\n\r\nbefore${1}MAIL FROM:<evil@x>\r\nRCPT TO:<victim@x>\r\nDATA\r\nSubject: forged\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n"
	[ "$status" = 0 ]
	# Exactly one message, holding the would-be second one as content.
	[ "$(count_messages)" = 1 ]
	grep -a -q smuggled "$(only_message)"
	[ "$(printf '%s\n' "$output" | grep -c 'queued as')" = 1 ]
	assert_no_forged
}

@test "smuggling: no mix of CR, LF, NUL and dot ends DATA early (12 variants)" {
	local v
	for v in '\n.\n' '\r.\r' '\n.\r\n' '\r\n.\n' '\r.\r\n' '\r\n.\r' \
	    '\r\n.\r\r\n' '\r\n\0.\r\n' '\r\n .\r\n' '\n\r.\r\n' \
	    '\r\n.\0\r\n' '\r\r\n.\n\n'; do
		rm -rf "$MD/new"/* "$MD/cur"/*
		# Shown only when the test fails: the variant that broke it.
		echo "variant $v"
		smuggle "$v"
	done
}

@test "smuggling: pipelined BDAT content holding CRLF.CRLF is one message" {
	raw_smtp 'EHLO t\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 58 LAST\r\n\r\n.\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@x>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n'
	[ "$status" = 0 ]
	[ "$(count_messages)" = 1 ]
	grep -a -q smuggled "$(only_message)"
}

seed_pop3() {
	local i
	for i in 1 2 3; do
		printf 'Subject: m%d\n\nbody %d\n' "$i" "$i" |
		    md_put cur "170000000$i.M${i}P1Q$i.host,S=20,W=22:2,"
	done
	OUTSIDE="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$OUTSIDE"
	printf 'SECRET canary\n' > "$OUTSIDE/canary"
	cp "$OUTSIDE/canary" "$OUTSIDE/canary.orig"
}

@test "POP3 message numbers outside 1..N, signed, huge or path-like are -ERR and touch nothing" {
	seed_pop3
	local args=('0' '-1' '+1' '4' '01x' '1x' '4294967297' '18446744073709551617'
	    '99999999999999999999999' '../outside/canary' '/etc/passwd' '1/..'
	    '0x1' '1e3' '%31')
	local cmds=("USER u" "PASS p") a
	for a in "${args[@]}"; do
		cmds+=("RETR $a" "DELE $a" "TOP $a 0" "LIST $a" "UIDL $a")
	done
	cmds+=(STAT QUIT)
	# More than 20 errors would end the session: interleave NOOPs.
	local spaced=() c
	for c in "${cmds[@]}"; do spaced+=("$c" NOOP); done
	pop3 "${spaced[@]}"
	[ "$status" = 0 ]
	[[ "$output" != *SECRET* ]]
	# Every one of those commands was refused.
	[ "$(printf '%s\n' "$output" | grep -c '^-ERR')" = $((${#args[@]} * 5)) ]
	[[ "$output" == *"+OK 3 "* ]]		# STAT: all three still there
	[ "$(count_messages)" = 3 ]
	cmp "$OUTSIDE/canary" "$OUTSIDE/canary.orig"
	[ "$(ls "$OUTSIDE")" = "$(printf 'canary\ncanary.orig')" ]
}

@test "POP3: a symlink planted in cur/ or new/ is not served, and DELE/QUIT never write through it" {
	seed_pop3
	ln -s "$OUTSIDE/canary" "$MD/cur/1700000009.M9P1Q9.host:2,"
	ln -s "$OUTSIDE/canary" "$MD/new/1700000010.M10P1Q10.host"
	[ "$(id -u)" != 0 ] || chown -h "$TEST_USER" "$MD"/cur/* "$MD"/new/*
	local before
	before=$(stat -c '%Y %s %a %U' "$OUTSIDE/canary")
	pop3 "USER u" "PASS p" "LIST" "RETR 4" "RETR 5" "TOP 4 5" "RETR 1" "DELE 1" "DELE 4" "DELE 5" "QUIT"
	[ "$status" = 0 ]
	[[ "$output" != *SECRET* ]]
	cmp "$OUTSIDE/canary" "$OUTSIDE/canary.orig"
	[ "$(stat -c '%Y %s %a %U' "$OUTSIDE/canary")" = "$before" ]
}

@test "SMTP: symlinks planted in tmp/, new/ and cur/ are never written through" {
	OUTSIDE="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$OUTSIDE" "$MD/tmp" "$MD/new" "$MD/cur"
	printf 'SECRET canary\n' > "$OUTSIDE/canary"
	local i
	for i in $(seq 20); do
		ln -s "$OUTSIDE/canary" "$MD/tmp/planted$i"
		ln -s "$OUTSIDE/canary" "$MD/new/planted$i"
		ln -s "$OUTSIDE/canary" "$MD/cur/planted$i:2,"
	done
	[ "$(id -u)" != 0 ] || chown -R -h "$TEST_USER" "$MD"
	local before
	before=$(stat -c '%Y %s' "$OUTSIDE/canary")
	local cmds=("EHLO t") n
	for n in 1 2 3 4 5; do
		cmds+=("MAIL FROM:<a@b>" "RCPT TO:<c@d>" DATA "Subject: $n" "" "body" .)
	done
	smtp "${cmds[@]}" QUIT
	[ "$status" = 0 ]
	[ "$(printf '%s\n' "$output" | grep -c 'queued as')" = 5 ]
	[ "$(find "$MD/new" -type f | wc -l)" = 5 ]
	[ "$(cat "$OUTSIDE/canary")" = "SECRET canary" ]
	[ "$(stat -c '%Y %s' "$OUTSIDE/canary")" = "$before" ]
}

# (LeakSanitizer cannot run under ptrace: leak checks are off under strace.)
@test "delivery creates its tmp file with O_CREAT|O_EXCL|O_NOFOLLOW and never replaces a file in new/" {
	command -v strace >/dev/null
	run bash -c 'printf "EHLO t\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n" |
	    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout "$1" strace -f -qq -e trace=openat,open,creat,rename,renameat,renameat2,link,linkat \
	    -o "$2" "$3"' _ "$T" "$BATS_TEST_TMPDIR/strace" "$SMTP_SESSION"
	[ "$status" = 0 ]
	[ "$(count_messages)" = 1 ]
	local tmpname
	tmpname=$(basename "$(only_message)" | sed 's/,.*//')
	# The open of the tmp file: exclusive, no symlink followed.
	grep "\"$tmpname\"" "$BATS_TEST_TMPDIR/strace" | grep -E 'open' |
	    grep O_CREAT | grep O_EXCL | grep -q O_NOFOLLOW
	# Into new/: link() or rename with RENAME_NOREPLACE, never a plain rename.
	grep -E "(linkat|link|renameat2)\(.*\"$tmpname\"" "$BATS_TEST_TMPDIR/strace" |
	    grep -E 'linkat|link\(|RENAME_NOREPLACE' >/dev/null
	# grep finds nothing (1), and the trace is there to read (not 2).
	run -1 grep -E "^[0-9]+ +(rename|renameat)\(.*\"$tmpname\"" "$BATS_TEST_TMPDIR/strace"
}

@test "no file name is ever built from client input (SMTP and POP3 under strace)" {
	command -v strace >/dev/null
	seed_pop3
	run bash -c 'printf "EHLO ..evilhelo\r\nMAIL FROM:<../../evilfrom@x>\r\nRCPT TO:<evilrcpt/../../x@y>\r\nDATA\r\nSubject: evilsubject\r\n\r\nx\r\n.\r\nQUIT\r\n" |
	    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout "$1" strace -f -qq -e trace=%file -o "$2" "$3"' _ "$T" \
	    "$BATS_TEST_TMPDIR/strace-smtp" "$SMTP_SESSION"
	[ "$status" = 0 ]
	run bash -c 'printf "USER ../eviluser\r\nPASS ../evilpass\r\nAPOP ../evilapop 0123456789abcdef0123456789abcdef\r\nRETR ../evilretr\r\nUIDL 1\r\nRETR 1\r\nDELE 2\r\nQUIT\r\n" |
	    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout "$1" strace -f -qq -e trace=%file -o "$2" "$3"' _ "$T" \
	    "$BATS_TEST_TMPDIR/strace-pop3" "$POP3_SESSION"
	[ "$status" = 0 ]
	run -1 grep -i evil "$BATS_TEST_TMPDIR/strace-smtp" "$BATS_TEST_TMPDIR/strace-pop3"
	# And the sessions did touch the maildir (the trace is not empty).
	grep -q '"new"\|new/' "$BATS_TEST_TMPDIR/strace-smtp"
	grep -q '"cur"\|cur/' "$BATS_TEST_TMPDIR/strace-pop3"
}

@test "the session binaries import no system, popen, exec* or posix_spawn (nm)" {
	command -v nm >/dev/null
	local b
	for b in "$SMTP_SESSION" "$POP3_SESSION"; do
		run nm -D --undefined-only "$b"
		[ "$status" = 0 ]
		[[ "$output" == *" U "* ]]	# the listing itself works
		if printf '%s\n' "$output" | grep -E ' U (system|popen|execl|execlp|execle|execv|execve|execvp|execvpe|fexecve|posix_spawn|posix_spawnp|fork|vfork)(@|$)'; then
			echo "$b can start programs" >&2
			return 1
		fi
	done
}

@test "the session binaries are hardened: PIE, full RELRO, no executable stack, stack protector, FORTIFY" {
	local b opts
	# FORTIFY is on only in optimised builds without a sanitizer (meson.build).
	opts=$(meson introspect "$BAREMAIL_BUILD" --buildoptions | "$PY" -c '
import json, sys
d = {o["name"]: o["value"] for o in json.load(sys.stdin)}
print("fortify" if d["b_sanitize"] == "none" and d["optimization"] not in ("0", "g") else "nofortify")')
	for b in "$SMTP_SESSION" "$POP3_SESSION"; do
		readelf -hW "$b" | grep -q 'Type: *DYN'
		readelf -lW "$b" | grep -q GNU_RELRO
		readelf -dW "$b" | grep -q 'BIND_NOW\|FLAGS_1.*NOW'
		readelf -lW "$b" | grep GNU_STACK | grep -q ' RW '
		nm -D --undefined-only "$b" | grep -q ' U __stack_chk_fail'
		if [ "$opts" = fortify ]; then
			nm -D --undefined-only "$b" | grep -q ' U __[a-z]*_chk@'
		fi
	done
	echo "# hardening checked ($opts build)" >&3
}

# The /proc status of a session started as root, read while it waits.
session_status() {	# session_status PROGRAM GREETING-PREFIX
	waiting_status "$2" "$1"
	[ -s "$BATS_TEST_TMPDIR/status" ]
}

check_dropped() {
	local uid gid s="$BATS_TEST_TMPDIR/status"
	uid=$(id -u "$TEST_USER")
	gid=$(id -g "$TEST_USER")
	grep -q -P "^Uid:\t$uid\t$uid\t$uid\t$uid$" "$s"
	grep -q -P "^Gid:\t$gid\t$gid\t$gid\t$gid$" "$s"
	grep -q -P "^CapEff:\t0000000000000000$" "$s"
	grep -q -P "^CapPrm:\t0000000000000000$" "$s"
	grep -q -P "^CapInh:\t0000000000000000$" "$s"
	grep -q -P "^CapAmb:\t0000000000000000$" "$s"
	# No supplementary group 0 (root's) left over.
	run -1 grep -P "^Groups:.*\b0\b" "$s"
}

@test "started as root, smtp-session runs as [user] name with no capabilities (/proc status)" {
	[ "$(id -u)" = 0 ] || skip "needs root (CI runs as root)"
	session_status "$SMTP_SESSION" 220
	check_dropped
}

@test "started as root, pop3-session runs as [user] name with no capabilities (/proc status)" {
	[ "$(id -u)" = 0 ] || skip "needs root (CI runs as root)"
	session_status "$POP3_SESSION" '+OK'
	check_dropped
}

@test "started as root without [user] name, the sessions refuse to run (77, no greeting)" {
	[ "$(id -u)" = 0 ] || skip "needs root (CI runs as root)"
	printf '[maildir]\npath = %s\n' "$MD" > "$CONF"
	# A maildir of root's: one of another account's would be served as it.
	chown -R root "$MD"
	run bash -c 'printf "QUIT\r\n" | timeout "$1" $2 "$3"' _ "$T" "$WRAP" "$SMTP_SESSION"
	[ "$status" = 77 ]
	[[ "$output" != 220* ]]
	run bash -c 'printf "QUIT\r\n" | timeout "$1" $2 "$3"' _ "$T" "$WRAP" "$POP3_SESSION"
	[ "$status" = 77 ]
	[[ "$output" != +OK* ]]
}
