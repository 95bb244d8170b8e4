#!/bin/sh
# Prints the path of a Debian 12 (bookworm) root that tests/debian.bats boots
# with systemd-nspawn, making it first when this machine has none for today.
#
# The root holds systemd, iproute2 (ss), curl and python3 (poplib, smtplib),
# and, downloaded into its apt cache but NOT installed, everything
# "apt-get install" needs later for the packages the test installs itself
# (an MTA to be replaced, and the notifying programs).  So the container
# needs no network when it boots: apt-get finds every .deb in its cache.
#
# Roots are cached in $BAREMAIL_ROOT_CACHE (/var/cache/baremail-test),
# keyed by the date, the package lists below and this script: CI on a
# fresh machine makes one (a minute or less, from the Debian archive),
# later runs that day reuse it, and older ones are deleted.  Users of the root must never write to it
# (tests/debian.bats boots it with --volatile=overlay).  Always a fresh
# debootstrap (20 s here), never a copy of another job's root: a root that
# already holds xinetd or openssl would hide what the package gets wrong.
#
# Exit status 0 with the path on stdout; 3 when the Debian archive cannot
# be reached (tests skip then); else 1; a reason on stderr.
set -eu

INSTALL="systemd systemd-sysv dbus iproute2 procps curl python3"
# openssl is baremail's own dependency (baremail-tls): downloaded, not
# installed, so that a package that forgot it fails the test.
DOWNLOAD="exim4-daemon-light bsd-mailx cron smartmontools logwatch fetchmail
	openssl ca-certificates"
MIRROR=${BAREMAIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${BAREMAIL_ROOT_CACHE:-/var/cache/baremail-test}

[ "$(id -u)" = 0 ] || { echo "making a Debian root needs root" >&2; exit 1; }
command -v debootstrap >/dev/null ||
    { echo "debootstrap is not installed" >&2; exit 1; }

# This script's text is in the key: a change to how the root is made
# makes a new one.
key=$(printf '%s\n' "$INSTALL" "$DOWNLOAD" "$MIRROR" | cat - "$0" | md5sum | cut -c1-8)
root="$CACHE/bookworm-$(date -u +%Y%m%d)-$key"
mkdir -p "$CACHE"

# One maker at a time; the others wait for its root.
exec 9>"$CACHE/lock"
flock -w 1800 9 || { echo "$CACHE/lock: busy for 30 minutes" >&2; exit 1; }
if [ -f "$root/.complete" ]; then
	echo "$root"
	exit 0
fi

work="$root.partial"
rm -rf "$work"
log="$CACHE/make.log"
: >"$log"
in_root() {
	chroot "$work" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@" \
	    >>"$log" 2>&1
}
fail() {	# fail STATUS WHY
	echo "$2 (see $log):" >&2
	tail -5 "$log" >&2
	umount "$work/proc" 2>/dev/null || :
	rm -rf "$work"
	exit "$1"
}
# minbase: apt and the essential packages; systemd and the rest below.
debootstrap --variant=minbase bookworm "$work" "$MIRROR" >>"$log" 2>&1 ||
    fail 3 "debootstrap bookworm from $MIRROR failed"
mount -t proc proc "$work/proc"
# shellcheck disable=SC2086
in_root apt-get install -y --no-install-recommends $INSTALL ||
    fail 3 "apt-get install in the new root failed"
# shellcheck disable=SC2086
in_root apt-get install -y --download-only $DOWNLOAD ||
    fail 3 "downloading the test's packages failed"
umount "$work/proc"
# The container's first boot must not stop at a prompt.
rm -f "$work/etc/machine-id"
: >"$work/etc/machine-id"
echo baremail-deb >"$work/etc/hostname"
touch "$work/.complete"
mv "$work" "$root"

# Yesterday's roots are no longer used.
for old in "$CACHE"/bookworm-*; do
	[ "$old" = "$root" ] || rm -rf "$old"
done
echo "$root"
