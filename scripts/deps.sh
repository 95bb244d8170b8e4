# Sourced by serve.sh and test.sh: makes sure Debian packages are there.
# As root, installs what is missing with apt-get; otherwise names it and stops.

BUILD_PACKAGES="gcc libc6-dev meson ninja-build pkg-config libinih-dev libsystemd-dev
	libssl-dev"
# scripts/build-deb.sh: the Debian package and its checks.
DEB_PACKAGES="debhelper dpkg-dev lintian git systemd"
SERVE_PACKAGES="systemd curl util-linux mount passwd"
# baremail-tls drives the openssl command.
SERVE_PACKAGES="$SERVE_PACKAGES openssl"
TEST_PACKAGES="bats bats-support bats-assert bats-file python3 curl swaks libnet-ssleay-perl msmtp
	mutt openssl ca-certificates
	mpop fetchmail xinetd systemd valgrind s-nail bsd-mailx strace clang
	libfuzzer-14-dev libclang-rt-14-dev systemd-container procps iproute2
	util-linux passwd coreutils findutils cppcheck clang-tidy clang-format
	binutils time man-db groff-base e2fsprogs glusterfs-server
	glusterfs-client jq libnotify-bin dbus python3-dbus python3-gi
	$DEB_PACKAGES debootstrap"
# End-to-end TLS clients: Alertmanager and Go's net/smtp (tests/systemd.bats).
TEST_PACKAGES="$TEST_PACKAGES prometheus-alertmanager golang-go"

need_packages() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
		    grep -qx installed || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" = 0 ]; then
		echo "Installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		# A fresh machine has no package lists yet.
		apt-get update -q || return 1
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing || return 1
	else
		echo "Missing packages:$missing" >&2
		echo "Install them with: sudo apt-get install$missing" >&2
		exit 1
	fi
}
