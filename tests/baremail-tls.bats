#!/usr/bin/env bats
# baremail-tls: the certificate it makes (names, constraints, a CA key that
# no longer exists), files, owners and modes, idempotence, and trust/untrust
# in a private copy of the system store (a mount namespace), checked with
# real clients at their default settings against openssl s_server.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	TLS="$BATS_TEST_TMPDIR/tls"
	CONF="$BATS_TEST_TMPDIR/baremail.conf"
	printf '[tls]\nnames = Mail.Test.Lan, 192.0.2.7 fd00::7\n' >"$CONF"
	export BAREMAIL_CONFIG="$CONF"
}

tls() {
	run --separate-stderr timeout "$T" "$BAREMAIL_TLS" "$@"
}

# verify NAME: the server certificate verifies against ca.crt alone, for
# NAME (a host name or an address), with the host name check on.
verify() {
	local how=-verify_hostname
	case $1 in *:* | [0-9]*.*[0-9]) how=-verify_ip ;; esac
	openssl verify -x509_strict -CAfile "$TLS/ca.crt" "$how" "$1" \
	    "$TLS/server.crt"
}

@test "create: ca.crt and server.crt readable by all, server.key by its owner only" {
	[ "$(id -u)" = 0 ] || skip "chown needs root"
	# bats makes its directories 0700: let the owner reach its key.
	local d="$BATS_TEST_TMPDIR"
	while [ "$d" != / ] && [ "$d" != "$(dirname "$BATS_RUN_TMPDIR")" ]; do
		chmod a+x "$d"
		d=$(dirname "$d")
	done
	tls -d "$TLS" -o "$TEST_USER" create
	assert_success
	echo "$output"
	assert_line --partial "made $TLS/server.crt and $TLS/server.key (readable by $TEST_USER only)"
	assert_line --partial 'whose private key is now destroyed'
	run stat -c '%n %U %a' "$TLS/ca.crt" "$TLS/server.crt" "$TLS/server.key"
	assert_output "$TLS/ca.crt root 644
$TLS/server.crt root 644
$TLS/server.key $TEST_USER 400"
	# The owner reads its key; another account does not.
	setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --clear-groups \
	    openssl pkey -in "$TLS/server.key" -noout
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    openssl pkey -in "$TLS/server.key" -noout
	assert_failure
	# Nothing else in the directory: no CA key, no leftovers.
	run ls -A "$TLS"
	assert_output $'ca.crt\nserver.crt\nserver.key'
}

@test "the chain verifies for every name of the machine and of [tls] names, and for no other" {
	tls -d "$TLS" create
	assert_success
	local n
	for n in localhost 127.0.0.1 ::1 "$(hostname)" "$(hostname -f 2>/dev/null || hostname)" \
	    mail.test.lan MAIL.test.lan 192.0.2.7 fd00::7 fd00:0:0::7; do
		run verify "$n"
		echo "$n: $output"
		assert_success
	done
	for n in other.lan sub.mail.test.lan 192.0.2.8 fd00::8 localhost.lan; do
		run verify "$n"
		echo "$n: $output"
		assert_failure
	done
	# The server key is the certificate's.
	[ "$(openssl x509 -in "$TLS/server.crt" -noout -pubkey)" = \
	    "$(openssl pkey -in "$TLS/server.key" -pubout)" ]
}

@test "the CA is name-constrained (critical) to exactly the names it signed, and may sign no CA" {
	tls -d "$TLS" create
	assert_success
	run openssl x509 -in "$TLS/ca.crt" -noout -ext nameConstraints
	echo "$output"
	assert_line 'X509v3 Name Constraints: critical'
	assert_output --partial 'DNS:localhost'
	assert_output --partial 'IP:127.0.0.1/255.255.255.255'
	assert_output --partial 'IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF'
	assert_output --partial 'DNS:mail.test.lan'
	assert_output --partial 'IP:192.0.2.7/255.255.255.255'
	refute_output --partial 'Excluded'
	# One permitted subtree per name in the certificate, no more.
	local names subtrees
	names=$(openssl x509 -in "$TLS/server.crt" -noout -ext subjectAltName |
	    tail -1 | tr ',' '\n' | grep -c .)
	subtrees=$(printf '%s\n' "$output" | grep -cE '^ +(DNS|IP):')
	[ "$names" -ge 7 ]
	[ "$names" = "$subtrees" ]
	run openssl x509 -in "$TLS/ca.crt" -noout -ext basicConstraints,keyUsage
	assert_output --partial 'CA:TRUE, pathlen:0'
	assert_output --partial 'Certificate Sign'
	run openssl x509 -in "$TLS/server.crt" -noout -ext basicConstraints,extendedKeyUsage
	assert_output --partial 'CA:FALSE'
	assert_output --partial 'TLS Web Server Authentication'
}

@test "no certificate for another name can be made: the CA's private key exists nowhere" {
	# The CA key's short life is in a directory of its own on /dev/shm:
	# strace names it, so other runs of baremail-tls at the same time
	# (a shared machine) cannot hide or fake what this one left.
	# (LeakSanitizer cannot work under ptrace: off for an ASan build's
	# baremail config.)
	run --separate-stderr env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    timeout "$T" strace -f -qq -e trace=mkdir,mkdirat \
	    -o "$BATS_TEST_TMPDIR/mkdir" "$BAREMAIL_TLS" -d "$TLS" create
	assert_success
	local work
	work=$(grep -o '"[^"]*/baremail-tls\.[^"]*"' "$BATS_TEST_TMPDIR/mkdir" | tr -d '"')
	[ "$(printf '%s\n' "$work" | grep -c .)" = 1 ]
	[ ! -e "$work" ]
	# Every private key left in its directory, /dev/shm and the temporary
	# directories it could have used: none is the CA's.  Regular files
	# only, on those file systems only (-xdev): a chroot under /tmp with
	# /proc and /dev mounted in it once kept a grep -r reading a device
	# for 19 minutes.
	local capub f n=0
	capub=$(openssl x509 -in "$TLS/ca.crt" -noout -pubkey)
	while IFS= read -r f; do
		n=$((n + 1))
		[ "$(openssl pkey -in "$f" -pubout 2>/dev/null)" != "$capub" ]
	done < <(timeout "$((T * 4))" find "$TLS" /dev/shm "${TMPDIR:-/tmp}" \
	    -xdev -type f -size -64k -exec \
	    grep -lsE -- '-----BEGIN (EC |ENCRYPTED |)PRIVATE KEY' {} + \
	    2>/dev/null || :)
	# The search found the server key, so it would have found the CA's.
	[ "$n" -ge 1 ]
	# Signing with the CA certificate alone fails.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj /CN=evil.lan -keyout "$BATS_TEST_TMPDIR/evil.key" \
	    -out "$BATS_TEST_TMPDIR/evil.csr" 2>/dev/null
	run openssl x509 -req -in "$BATS_TEST_TMPDIR/evil.csr" -CA "$TLS/ca.crt" \
	    -out "$BATS_TEST_TMPDIR/evil.crt"
	assert_failure
	[ ! -s "$BATS_TEST_TMPDIR/evil.crt" ]
}

@test "create twice: the second run changes nothing and says so; renew makes a new CA" {
	tls -d "$TLS" create
	assert_success
	local before
	before=$(stat -c '%n %i %Y %a' "$TLS"/* && sha256sum "$TLS"/*)
	sleep 1
	tls -d "$TLS"
	assert_success
	assert_output --partial 'nothing to do'
	[ "$(stat -c '%n %i %Y %a' "$TLS"/* && sha256sum "$TLS"/*)" = "$before" ]
	local old
	old=$(openssl x509 -in "$TLS/ca.crt" -noout -fingerprint -sha256)
	tls -d "$TLS" renew
	assert_success
	assert_output --partial 'made'
	[ "$(openssl x509 -in "$TLS/ca.crt" -noout -fingerprint -sha256)" != "$old" ]
	run verify localhost
	assert_success
	run ls -A "$TLS"
	assert_output $'ca.crt\nserver.crt\nserver.key'
}

@test "a missing piece is made again, as a whole new set" {
	tls -d "$TLS" create
	assert_success
	rm "$TLS/server.key"
	tls -d "$TLS" create
	assert_success
	assert_output --partial 'made'
	[ "$(openssl x509 -in "$TLS/server.crt" -noout -pubkey)" = \
	    "$(openssl pkey -in "$TLS/server.key" -pubout)" ]
	run verify localhost
	assert_success
}

@test "[user] name owns the key; a bad name in [tls] names is refused, nothing made" {
	[ "$(id -u)" = 0 ] || skip "chown needs root"
	printf '[user]\nname = %s\n' "$TEST_USER" >>"$CONF"
	tls -d "$TLS"
	assert_success
	[ "$(stat -c %U "$TLS/server.key")" = "$TEST_USER" ]
	# Checked by baremail config as the sessions check it: exit 78.
	printf '[tls]\nnames = ok.lan, bad_name!\n' >>"$CONF"
	tls -d "$BATS_TEST_TMPDIR/other"
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"$CONF:6: [tls] names: \"ok.lan, bad_name!\" is not a list of host names and addresses"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/other" ]
}

@test "a typo in the configuration stops create with FILE:LINE, as it stops the sessions; nothing made" {
	printf '[tls]\nnmes = typo.lan\n' >>"$CONF"
	tls -d "$TLS" create
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"$CONF:4: [tls] nmes: unknown key"* ]]
	[[ "$stderr" == *"baremail-tls: the configuration is not usable"* ]]
	[ ! -e "$TLS" ]
	# The same file is what smtp-session refuses.
	run timeout "$T" "$SMTP_SESSION" </dev/null
	[ "$status" -eq 78 ]
	# -c names the file as for every program; one that is missing is refused.
	tls -c "$BATS_TEST_TMPDIR/missing.conf" -d "$TLS" create
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/missing.conf: No such file"* ]]
	[ ! -e "$TLS" ]
	# show, trust and untrust do not read it.
	tls -d "$TLS" show
	[[ "$stderr" == *"no CA certificate"* ]]
}

@test "[tls] names in any case, with a comment, last value wins: all in the certificate" {
	# As root without [user] name: baremail config only reads the file.
	printf '[TLS]\nNames = first.lan\nNAMES = Second.Lan 192.0.2.9 ; mine\n' >"$CONF"
	tls -d "$TLS" create
	assert_success
	run verify second.lan
	assert_success
	run verify 192.0.2.9
	assert_success
	run verify first.lan
	assert_failure
	run verify mine
	assert_failure
}

@test "[tls] certificate naming the administrator's own file: create leaves it alone" {
	printf '[tls]\ncertificate = /srv/own.crt ; mine\nkey = /srv/own.key\n' >>"$CONF"
	# Without -d, the default directory would be used: a test cannot
	# write there, so it must not try.
	run --separate-stderr timeout "$T" "$BAREMAIL_TLS" create
	assert_success
	assert_output --partial 'names your own certificate /srv/own.crt: nothing to create'
}

@test "show prints the CA file, its SHA-256 fingerprint and how to install it elsewhere" {
	tls -d "$TLS"
	assert_success
	tls -d "$TLS" show
	assert_success
	echo "$output"
	local fp
	fp=$(openssl x509 -in "$TLS/ca.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
	assert_line "The CA of $(hostname -f 2>/dev/null || hostname)'s BareMail certificate: $TLS/ca.crt"
	assert_line "SHA-256 fingerprint: $fp"
	assert_output --partial 'update-ca-certificates'
	assert_output --partial 'localhost'
	# The PEM printed is the file.
	[ "$(printf '%s\n' "$output" | sed -n '/BEGIN CERT/,/END CERT/p')" = "$(cat "$TLS/ca.crt")" ]
}

@test "bad usage exits 64; -V and -h print to stdout" {
	tls frobnicate
	[ "$status" = 64 ]
	tls -V
	assert_success
	assert_output --partial 'baremail-tls 0.'
	tls -h
	assert_success
	assert_output --partial 'untrust'
}

# in_store SCRIPT: runs SCRIPT (bash) in a mount namespace of its own, with
# private copies of /usr/local/share/ca-certificates and /etc/ssl/certs, so
# that trust and untrust change nothing outside this test.
in_store() {
	local s="$BATS_TEST_TMPDIR/store"
	mkdir -p "$s/local" "$s/certs"
	cp -a /usr/local/share/ca-certificates/. "$s/local/"
	cp -a /etc/ssl/certs/. "$s/certs/"
	run --separate-stderr timeout 120 unshare --mount --propagation private \
	    bash -c 'set -e
	    mount --bind "$1/local" /usr/local/share/ca-certificates
	    mount --bind "$1/certs" /etc/ssl/certs
	    shift; eval "$1"' _ "$s" "$1"
}

@test "trust: curl, Python and openssl verify with their defaults; untrust undoes it" {
	[ "$(id -u)" = 0 ] || skip "trust needs root"
	command -v unshare >/dev/null || skip "no unshare"
	tls -d "$TLS"
	assert_success
	OTHER="$BATS_TEST_TMPDIR/other"
	tls -d "$OTHER"
	assert_success
	local port
	port=$(free_port)
	export TLS OTHER port BAREMAIL_TLS T PY
	# A TLS server with the certificate, so that clients do their
	# whole check: chain, name, key.
	timeout 60 openssl s_server -quiet -www -accept "127.0.0.1:$port" \
	    -cert "$TLS/server.crt" -key "$TLS/server.key" \
	    </dev/null >/dev/null 2>&1 3>&- &
	local server=$!
	local i
	for i in $(seq 100); do
		ss -Hltn "sport = :$port" | grep -q . && break
		sleep 0.05
	done
	in_store '
	clients() {
		curl -sS -o /dev/null "https://localhost:$port/" && echo curl-ok
		$PY -c "import ssl, urllib.request; urllib.request.urlopen(\"https://127.0.0.1:$port/\", timeout=10)" && echo python-ok
		openssl verify "$TLS/server.crt" >/dev/null 2>&1 && echo openssl-ok
		echo done
	}
	echo "before: $(clients 2>/dev/null | tr "\n" " ")"
	"$BAREMAIL_TLS" -d "$TLS" trust
	"$BAREMAIL_TLS" -d "$TLS" trust
	ls /usr/local/share/ca-certificates
	echo "trusted: $(clients | tr "\n" " ")"
	# A CA of another host, installed by hand as "show" says, stays.
	cp "$OTHER/ca.crt" /usr/local/share/ca-certificates/baremail-otherhost.crt
	"$BAREMAIL_TLS" -d "$TLS" untrust
	ls /usr/local/share/ca-certificates
	echo "after: $(clients 2>/dev/null | tr "\n" " ")"
	'
	kill "$server" 2>/dev/null || :
	wait "$server" 2>/dev/null || :
	echo "$output"
	echo "$stderr"
	assert_success
	assert_line 'before: done '
	assert_line 'trusted: curl-ok python-ok openssl-ok done '
	assert_line 'after: done '
	assert_output --partial 'is already installed'
	assert_line --regexp '^baremail-tls: removed /usr/local/share/ca-certificates/baremail-[0-9a-f]{16}\.crt$'
	assert_line 'baremail-otherhost.crt'
	refute_output --partial 'removed /usr/local/share/ca-certificates/baremail-otherhost.crt'
	# The machine's own store never saw it (this CA's file by name: other
	# runs on a shared machine may trust a CA of their own meanwhile).
	local ours
	ours=$(sed -n 's|^baremail-tls: removed \(/usr/local/share/ca-certificates/baremail-[0-9a-f]*\.crt\)$|\1|p' <<<"$output")
	[ -n "$ours" ]
	[ ! -e "$ours" ]
}

@test "makers at once (boot's create, serve.sh, a renew): the key always matches the certificate and its CA" {
	local i p1 p2 p3
	tls -d "$TLS" create
	assert_success
	# A slow file system: every mv waits up to 0.2 s, so that two makers
	# without a lock would interleave their moves into place.
	mkdir "$BATS_TEST_TMPDIR/slow"
	printf '#!/bin/bash\nsleep 0.$((RANDOM %% 20))\nexec /bin/mv "$@"\n' >"$BATS_TEST_TMPDIR/slow/mv"
	chmod +x "$BATS_TEST_TMPDIR/slow/mv"
	for i in 1 2 3 4; do
		PATH="$BATS_TEST_TMPDIR/slow:$PATH" timeout "$T" "$BAREMAIL_TLS" -d "$TLS" renew >/dev/null & p1=$!
		PATH="$BATS_TEST_TMPDIR/slow:$PATH" timeout "$T" "$BAREMAIL_TLS" -d "$TLS" renew >/dev/null & p2=$!
		PATH="$BATS_TEST_TMPDIR/slow:$PATH" timeout "$T" "$BAREMAIL_TLS" -d "$TLS" create >/dev/null & p3=$!
		wait "$p1"
		wait "$p2"
		wait "$p3"
		[ "$(openssl x509 -in "$TLS/server.crt" -noout -pubkey)" = \
		    "$(openssl pkey -in "$TLS/server.key" -pubout)" ]
		openssl verify -CAfile "$TLS/ca.crt" "$TLS/server.crt" >/dev/null
	done
	run ls -A "$TLS"
	assert_output $'ca.crt\nserver.crt\nserver.key'
}

@test "a directory it cannot write: its own message, exit 1, and no private directory left in /dev/shm" {
	[ "$(id -u)" = 0 ] || skip "needs root for a private /dev/shm and another account"
	command -v unshare >/dev/null || skip "no unshare"
	local d="$BATS_TEST_TMPDIR"
	while [ "$d" != / ] && [ "$d" != "$(dirname "$BATS_RUN_TMPDIR")" ]; do
		chmod a+x "$d"
		d=$(dirname "$d")
	done
	mkdir "$TLS"
	chmod 0555 "$TLS"
	chmod a+r "$CONF"
	run --separate-stderr timeout 120 unshare --mount --propagation private \
	    sh -c 'mount -t tmpfs -o mode=1777 tmpfs /dev/shm || exit 99
		setpriv --reuid="$1" --regid="$1" --clear-groups env BAREMAIL_CONFIG="$2" \
		    "$3" -d "$4" create
		echo "status $?"; ls -A /dev/shm' _ "$TEST_USER" "$CONF" "$BAREMAIL_TLS" "$TLS"
	echo "$output"; echo "$stderr"
	assert_output "status 1"
	[[ "$stderr" == "baremail-tls: cannot write in $TLS"* ]]
	run ls -A "$TLS"
	assert_output ''
}
