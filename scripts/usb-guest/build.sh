#!/usr/bin/env bash
# Build the USB test guest: a Debian kernel and a small initramfs (busybox,
# the USB host controller, HID and USB serial modules, and the tokenlab
# binary with the shared libraries it links), from Debian packages only.
#
#   scripts/usb-guest/build.sh TOKENLAB_BINARY OUT_DIR
#
# writes OUT_DIR/vmlinuz and OUT_DIR/initramfs.cpio, and copies the binary to
# OUT_DIR/tokenlab, so that the host side of a test runs the same build. The
# kernel and its modules are extracted once per kernel package version into
# OUT_DIR/kernel-VERSION and reused; the initramfs is packed on every run,
# which takes about a second, so it always holds the binary given.
#
# Needs: qemu-system-x86 (to run the guest, not to build it), busybox-static,
# cpio, apt-get (to download the kernel package, which is extracted, never
# installed). KERNEL_PACKAGE=linux-image-… picks another kernel.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 TOKENLAB_BINARY OUT_DIR" >&2
	exit 2
fi
bin=$(realpath "$1")
out=$(realpath -m "$2")
here=$(dirname "$(realpath "$0")")
[ -x "$bin" ] || { echo "build.sh: $bin is not an executable: build it with make build" >&2; exit 1; }
for tool in busybox cpio apt-get apt-cache dpkg-deb ldd; do
	command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing: install busybox-static and cpio (make test-usb does)" >&2; exit 1; }
done
# The guest runs the binary with the loader and libraries copied beside it:
# Debian's libusb needs libudev, which has no static library, so a static
# binary is not an option.
file_type=$(head -c 4 "$bin" | od -An -c | tr -d ' ')
[ "$file_type" = '177ELF' ] || { echo "build.sh: $bin is not an ELF binary" >&2; exit 1; }

# The modules the guest loads, in this order (modprobe adds what they need):
# the xHCI host controller QEMU's qemu-xhci emulates, the HID stack its
# usb-kbd binds to, the FTDI driver its usb-serial binds to, and the e1000
# NIC of the user-mode network.
modules="xhci-pci usbhid hid-generic ftdi_sio e1000"

mkdir -p "$out"
pkg=${KERNEL_PACKAGE:-}
if [ -z "$pkg" ]; then
	# linux-image-amd64 is the metapackage; it depends on the versioned package.
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$pkg" ] || { echo "build.sh: apt-cache knows no linux-image-amd64: run apt-get update" >&2; exit 1; }
fi
ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || { echo "build.sh: no candidate version of $pkg: run apt-get update" >&2; exit 1; }
kdir="$out/kernel-${pkg#linux-image-}-$ver"

if [ ! -f "$kdir/complete" ]; then
	echo "build.sh: extracting $pkg $ver into $kdir" >&2
	rm -rf "$kdir"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# apt drops to the _apt user for downloads: give it a directory it may write.
	chmod 0777 "$tmp"
	if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$tmp/apt.err"); then
		# The lists may be older than the mirror; one update, then give up.
		if [ "$(id -u)" = 0 ]; then apt-get update -qq; fi
		(cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null) || { cat "$tmp/apt.err" >&2; exit 1; }
	fi
	dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"
	krel=$(ls "$tmp/root/lib/modules")
	# The package ships no modules.dep: its postinst runs depmod.
	busybox depmod -b "$tmp/root" "$krel"
	mkdir -p "$kdir/modules/lib/modules/$krel"
	cp "$tmp/root/boot/vmlinuz-$krel" "$kdir/vmlinuz"
	dep="$tmp/root/lib/modules/$krel/modules.dep"
	for m in $modules; do
		re=$(echo "$m" | sed 's/[-_]/[-_]/g')
		line=$(grep -E "/$re\.ko(\.xz|\.zst)?:" "$dep") || { echo "build.sh: $pkg has no module $m" >&2; exit 1; }
		for f in $(echo "$line" | tr -d ':'); do
			mkdir -p "$kdir/modules/lib/modules/$krel/$(dirname "$f")"
			cp "$tmp/root/lib/modules/$krel/$f" "$kdir/modules/lib/modules/$krel/$f"
		done
	done
	busybox depmod -b "$kdir/modules" "$krel"
	echo "$krel" >"$kdir/release"
	echo "$modules" >"$kdir/load"
	touch "$kdir/complete"
	rm -rf "$tmp"
	trap - EXIT
fi

# The initramfs, packed from a fresh staging directory.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,etc,root}
cp /bin/busybox "$stage/bin/busybox"
for applet in $(busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
cp -a "$kdir/modules/lib" "$stage/"
cp "$kdir/load" "$stage/etc/modules"
cp "$bin" "$stage/bin/tokenlab"
# The loader and every library ldd names, at the paths the binary asks for.
ldd "$bin" | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | while read -r lib; do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
cp "$here/init" "$stage/init"
chmod 0755 "$stage/init"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$out/initramfs.cpio.tmp"
mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
cp "$kdir/vmlinuz" "$out/vmlinuz"
cp "$bin" "$out/tokenlab.tmp" && mv "$out/tokenlab.tmp" "$out/tokenlab"
echo "$pkg $ver $(cat "$kdir/release")" >"$out/kernel"
echo "build.sh: $out/vmlinuz ($pkg $ver), $out/initramfs.cpio ($(du -m "$out/initramfs.cpio" | cut -f1) MB)" >&2
