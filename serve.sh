#!/bin/sh
# Builds BareMail and serves it from this checkout until Ctrl-C:
# SMTP on 127.0.0.1:2025 and POP3 on 127.0.0.1:2110 (BAREMAIL_SMTP_PORT and
# BAREMAIL_POP3_PORT change them), mail in ./Maildir, log lines here; and
# the TLS listeners, 2000 above their usual ports like the user units:
# submission (STARTTLS) on 2587, submissions (TLS) on 2465, POP3S on 2995
# (BAREMAIL_SUBMISSION_PORT, BAREMAIL_SUBMISSIONS_PORT, BAREMAIL_POP3S_PORT),
# with a certificate made on first start in ./serve-tls by baremail-tls.
#
# systemd-socket-activate plays the part of the socket units: it owns the
# port and starts one session per connection, the connection on its stdin
# and stdout; stderr stays this terminal, where the sessions log.
#
# As root it installs what is missing, and the sessions run as the
# unprivileged account baremail (created if missing), never as root.
set -eu
cd "$(dirname "$0")"
top=$(pwd -P)
. scripts/deps.sh
# shellcheck disable=SC2086
need_packages $BUILD_PACKAGES $SERVE_PACKAGES

smtp_port=${BAREMAIL_SMTP_PORT:-2025}
pop3_port=${BAREMAIL_POP3_PORT:-2110}
submission_port=${BAREMAIL_SUBMISSION_PORT:-2587}
submissions_port=${BAREMAIL_SUBMISSIONS_PORT:-2465}
pop3s_port=${BAREMAIL_POP3S_PORT:-2995}
user=baremail
maildir=$top/Maildir
# The certificate, kept from one start to the next so that trusting its CA
# once is enough.
tlsdir=$top/serve-tls
is_root=false
[ "$(id -u)" = 0 ] && is_root=true
bound=""	# the fallback's bind mount, to undo on exit

# Second pass, as root in a private mount namespace (see below): the
# maildir is bind-mounted where the unprivileged account can reach it.  The
# mount vanishes with the namespace when this script ends.
if [ -n "${BAREMAIL_SERVE_AT:-}" ]; then
	mount --bind "$maildir" "$BAREMAIL_SERVE_AT"
	served=$BAREMAIL_SERVE_AT
else
	served=$maildir

	if [ ! -f build/build.ninja ]; then
		echo "Configuring the build in build/"
		meson setup build >build-setup.log 2>&1 ||
		    { cat build-setup.log; exit 1; }
		rm -f build-setup.log
	fi
	# And baremail, whose "config" the build's baremail-tls runs.
	echo "Building smtp-session, pop3-session and baremail in build/"
	meson compile -C build smtp-session pop3-session baremail >/dev/null ||
	    meson compile -C build smtp-session pop3-session baremail

	mkdir -p "$maildir/tmp" "$maildir/new" "$maildir/cur"
	if $is_root; then
		id "$user" >/dev/null 2>&1 || {
			echo "Creating the system account $user"
			useradd --system --home-dir /var/lib/baremail \
			    --no-create-home --shell /usr/sbin/nologin "$user"
		}
		chown -R "$user:" "$maildir"
		# A checkout under /root (mode 0700) is out of the account's
		# reach: serve it again from a private mount namespace where
		# the maildir also appears under /run.
		if ! setpriv --reuid="$user" --regid="$user" --init-groups \
		    test -w "$maildir/new" 2>/dev/null; then
			at=/run/baremail-serve.$$
			mkdir -p "$at/Maildir"
			trap 'rm -rf "$at"' EXIT
			trap 'exit 130' INT
			trap 'exit 143' TERM
			if unshare --mount --propagation private true 2>/dev/null; then
				BAREMAIL_SERVE_AT=$at/Maildir unshare --mount \
				    --propagation private -- "$top/serve.sh" "$@" ||
				    exit $?
				exit 0
			fi
			# No mount namespace to be had (a chroot, say): the
			# same bind mount here, undone when this script ends.
			mount --bind "$maildir" "$at/Maildir"
			# Never rm -r over the mount: it would empty the maildir.
			trap 'umount "$at/Maildir" && rmdir "$at/Maildir" "$at"' EXIT
			bound=$at
			served=$at/Maildir
		fi
	fi
fi

smtp=$top/build/smtp-session/smtp-session
pop3=$top/build/pop3-session/pop3-session
baremail_tls=$top/build/tls/baremail-tls

# The sessions' configuration: this maildir, this account; nothing from
# an installed baremail.conf.  systemd-socket-activate passes on only a few
# variables, so it goes by -c.
run=$(mktemp -d "${TMPDIR:-/tmp}/baremail-serve.XXXXXX")
chmod 0755 "$run"
conf=$run/baremail.conf
{
	echo "[maildir]"
	echo "path = $served"
	if $is_root; then
		echo "[user]"
		echo "name = $user"
	fi
} >"$conf"
chmod 0644 "$conf"

# The certificate: made once (a CA whose key is gone once it has signed),
# owned by whoever runs this.  The sessions read a copy in the run
# directory, which their account can reach and read even when the
# checkout is under /root.
(umask 022 && BAREMAIL_ADMIN=$top/build/admin/baremail \
    "$baremail_tls" -c "$conf" -d "$tlsdir" -o "$(id -un)") |
    sed -n 's/^baremail-tls: made /Made the TLS certificate /p'
cp "$tlsdir/server.crt" "$run/server.crt"
(umask 077 && cp "$tlsdir/server.key" "$run/server.key")
if $is_root; then
	chown "$user:" "$run/server.key"
fi
chmod 0644 "$run/server.crt"
{
	echo "[tls]"
	echo "certificate = $run/server.crt"
	echo "key = $run/server.key"
} >>"$conf"

pids=""
listeners=""
stop() {
	trap - EXIT INT TERM
	# Started in the background, the managers ignore the terminal's
	# SIGINT (as every background job of a script does): stop them here.
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill $pids 2>/dev/null || :
	wait
	rm -rf "$run"
	if [ -n "$bound" ]; then
		umount "$bound/Maildir" && rmdir "$bound/Maildir" "$bound"
	fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The managers and the sessions they start write to this pipe, which
# drops the managers' chatter: what is left is one line per connection and
# the sessions' own log lines.
mkfifo "$run/log"
grep --line-buffered -v -e '^Communication attempt' -e '^Execing ' \
    -e '^Spawned ' -e '^Listening on ' <"$run/log" >&2 &
# listen PORT PROGRAM ARG...: one manager, one session per connection.
listen() {
	port=$1
	shift
	systemd-socket-activate --inetd --accept -l "127.0.0.1:$port" \
	    "$@" -c "$conf" 2>"$run/log" &
	pids="$pids $!"
	listeners="$listeners $port:$!"
}
# listening PORT PID: the manager PID listens on 127.0.0.1:PORT (and not
# another program): /proc/net/tcp's listening socket of that port, the
# address in the kernel's byte order, the port in hex, state 0A, is one
# of PID's descriptors.
listening() {
	inode=$(awk -v a="^(0100007F|7F000001):$(printf '%04X' "$1")\$" \
	    '$2 ~ a && $4 == "0A" { print $10 }' /proc/net/tcp)
	[ -n "$inode" ] && ls -l "/proc/$2/fd" 2>/dev/null |
	    grep -q "socket:\[$inode\]"
}
# As the units do: 25 plain, 587 and 110 offer STARTTLS/STLS, 465 and 995
# speak TLS from the first byte.
listen "$smtp_port" "$smtp"
listen "$submission_port" "$smtp" --tls=starttls
listen "$submissions_port" "$smtp" --tls=implicit
listen "$pop3_port" "$pop3" --tls=starttls
listen "$pop3s_port" "$pop3" --tls=implicit

# Every manager listens before this says it serves; one that cannot (the
# port is taken) has said why on the terminal: name the way out, stop all.
for lp in $listeners; do
	port=${lp%%:*}
	n=0
	until listening "$port" "${lp#*:}"; do
		if ! kill -0 "${lp#*:}" 2>/dev/null || [ "$n" -ge 300 ]; then
			sleep 0.2 # the manager's own message first
			echo "serve.sh: cannot listen on 127.0.0.1:$port (another" \
			    "program has it?); pick free ports with" \
			    "BAREMAIL_SMTP_PORT, BAREMAIL_POP3_PORT," \
			    "BAREMAIL_SUBMISSION_PORT, BAREMAIL_SUBMISSIONS_PORT" \
			    "and BAREMAIL_POP3S_PORT" >&2
			exit 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
done

as=""
$is_root && as=" as $user"
sudo=""
$is_root || sudo="sudo "
cat <<EOF

BareMail serves $maildir$as
  SMTP  127.0.0.1:$smtp_port    POP3  127.0.0.1:$pop3_port    any user name and password
  TLS:  submission 127.0.0.1:$submission_port (STARTTLS)   submissions 127.0.0.1:$submissions_port
        POP3 127.0.0.1:$pop3_port (STLS)   POP3S 127.0.0.1:$pop3s_port

The TLS certificate's CA is $tlsdir/ca.crt
  (SHA-256 $(openssl x509 -in "$tlsdir/ca.crt" -noout -fingerprint -sha256 | sed 's/.*=//')).
  Clients on this machine verify it at their defaults once it is trusted:
    $sudo$baremail_tls -d $tlsdir trust
  ("untrust" undoes it); or give it to one client (curl --cacert $tlsdir/ca.crt).

Send a test message:
  printf 'Subject: hello\r\n\r\nIt works.\r\n' |
      curl -sS smtp://127.0.0.1:$smtp_port --mail-from me@example.org --mail-rcpt you@example.org -T -
  swaks --server 127.0.0.1:$smtp_port --to you@example.org
  swaks --server localhost:$submission_port --tls --to you@example.org      (trusted CA)
  curl -sS smtps://localhost:$submissions_port --mail-from me@example.org --mail-rcpt you@example.org -T FILE
Read it:
  mutt -f pop://any@127.0.0.1:$pop3_port/     (any password; Debian's mutt insists on STLS: trust the CA)
  mutt -f pops://any@localhost:$pop3s_port/
  Thunderbird: new mail account, any name and password, "Configure manually":
    incoming POP3 127.0.0.1 port $pop3_port, outgoing SMTP 127.0.0.1 port $smtp_port,
    connection security None, authentication "Normal password" (any).

Log lines follow here.  Ctrl-C stops them all.

EOF
# Any manager ending (a port already taken, say) ends the others.
while :; do
	for p in $pids; do
		kill -0 "$p" 2>/dev/null || {
			echo "systemd-socket-activate (pid $p) stopped" >&2
			exit 1
		}
	done
	sleep 1
done
