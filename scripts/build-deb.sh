#!/bin/sh
# Builds the Debian package from this checkout and checks it with lintian:
#
#   scripts/build-deb.sh [--version V] [OUTDIR]     (or: ninja -C build deb)
#
# writes baremail_<version>_<arch>.deb, the debug symbols, the .changes,
# .buildinfo and lintian's report (.lintian) to OUTDIR (default: the
# current directory).  The version is meson.build's; --version V (V = that
# version plus "+something") makes a local rebuild that upgrades the
# installed package.  The checkout is copied first (the files git tracks or
# does not ignore: no build directory), so the tree is left as it was.
# Exits non-zero if the build fails or lintian reports an error or a
# warning (an override would go in debian/baremail.lintian-overrides, each
# after a comment line giving its reason).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/deps.sh"

version=""
while [ $# -gt 0 ]; do
	case $1 in
	--version) version=$2; shift 2 ;;
	--version=*) version=${1#--version=}; shift ;;
	-h|--help) sed -n '2,/^set/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "build-deb.sh: unknown option $1" >&2; exit 64 ;;
	*) break ;;
	esac
done
out=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)

need_packages $BUILD_PACKAGES $DEB_PACKAGES

work=$(mktemp -d "${TMPDIR:-/tmp}/baremail-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/baremail"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard \
	    >"$work/files"
	tar -C "$src" --null -T "$work/files" -cf "$work/src.tar"
	tar -xf "$work/src.tar" -C "$work/baremail"
else
	tar -C "$src" --exclude='./build*' -cf "$work/src.tar" .
	tar -xf "$work/src.tar" -C "$work/baremail"
fi
cd "$work/baremail"
if [ -n "$version" ]; then
	# An entry on top of debian/changelog, as dch would write it.
	{
		printf 'baremail (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * Local rebuild.\n\n'
		printf ' -- %s  %s\n\n' \
		    "$(dpkg-parsechangelog -SMaintainer)" "$(date -R)"
		cat debian/changelog
	} >debian/changelog.new
	mv debian/changelog.new debian/changelog
fi

dpkg-buildpackage -us -uc -b
cd ..
changes=$(ls baremail_*.changes)
# lintian reads the .changes and the packages it names; its report is
# kept next to them (tests/debian.bats reads it).
lintian_ok=yes
lintian --fail-on error,warning --display-info "$changes" \
    >"${changes%.changes}.lintian" 2>&1 || lintian_ok=no
cat "${changes%.changes}.lintian"
cp ./*.deb "$changes" ./*.buildinfo ./*.lintian "$out/"
[ "$lintian_ok" = yes ] ||
    { echo "build-deb.sh: lintian found errors or warnings" >&2; exit 1; }
echo "build-deb.sh: $out/$(ls baremail_*.deb)"
