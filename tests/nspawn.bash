# A systemd booted in a container (systemd-nspawn -b), for the bats files
# that need a real PID 1: boot it, run commands in it, stop it.

# nspawn_boot NSPAWN-OPTION... [-- SYSTEMD-ARG...]: boots a container with
# the given options (the root, binds, network) and arguments for its
# systemd, and waits until it has started up.  Exports LEADER (the
# container's PID 1 as seen here), NSPAWN_PID and NSPAWN_LOG; or
# NSPAWN_SKIP, why nspawn cannot run on this machine.
nspawn_boot() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	NSPAWN_SKIP=""
	export NSPAWN_SKIP
	if [ "$(id -u)" != 0 ]; then
		NSPAWN_SKIP="systemd-nspawn needs root"
		return 0
	fi
	if ! command -v systemd-nspawn >/dev/null; then
		NSPAWN_SKIP="systemd-nspawn is not installed (Debian systemd-container)"
		return 0
	fi
	NSPAWN_LOG="$BATS_FILE_TMPDIR/nspawn.log"
	timeout 1800 systemd-nspawn --register=no --keep-unit \
	    --console=read-only --machine="baremail-test-$$" "${opts[@]}" \
	    -b systemd.firstboot=off "$@" \
	    </dev/null >"$NSPAWN_LOG" 2>&1 3>&- &
	NSPAWN_PID=$!
	export NSPAWN_PID NSPAWN_LOG
	local i nspawn
	LEADER=""
	for i in $(seq 300); do
		if ! kill -0 "$NSPAWN_PID" 2>/dev/null; then
			# nspawn gave up before the container's init ran: this
			# machine cannot run it (no namespaces, no cgroups).
			NSPAWN_SKIP="systemd-nspawn cannot run here: $(tail -3 "$NSPAWN_LOG" | tr '\n' ' ')"
			return 0
		fi
		# timeout -> systemd-nspawn -> the container's systemd.
		nspawn=$(pgrep -P "$NSPAWN_PID" -x systemd-nspawn || :)
		if [ -n "$nspawn" ]; then
			LEADER=$(pgrep -P "$nspawn" | head -1)
			[ -n "$LEADER" ] && [ "$(cat "/proc/$LEADER/comm" 2>/dev/null)" = systemd ] && break
		fi
		LEADER=""
		sleep 0.2
	done
	export LEADER
	[ -n "$LEADER" ] || { echo "no container init after 60 s" >&2; return 1; }
	# "degraded" is fine: a unit that cannot work in a container failed.
	in_box timeout 120 systemctl is-system-running --wait >/dev/null || :
}

# Runs a command inside the container (without the test's configuration:
# the box's programs read the box's).
in_box() {
	nsenter -t "$LEADER" -m -u -i -n -p -C -- env -u BAREMAIL_CONFIG "$@"
}

# Shuts the container down (SIGTERM to nspawn), killing it after 30 s.
nspawn_stop() {
	[ -n "${NSPAWN_PID:-}" ] || return 0
	kill "$NSPAWN_PID" 2>/dev/null || :
	local _
	for _ in $(seq 150); do
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$NSPAWN_PID" 2>/dev/null; then
		# Killing the container's init ends everything in it.
		echo "the container did not stop in 30 s: killed" >&3
		[ -z "${LEADER:-}" ] || kill -9 "$LEADER" 2>/dev/null || :
		kill -9 "$NSPAWN_PID" 2>/dev/null || :
	fi
	wait "$NSPAWN_PID" 2>/dev/null || :
}
