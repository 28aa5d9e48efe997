#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages the build and the VM need, if any is missing.
set -euo pipefail

pkgs="linux-source-6.12 gcc make patch flex bison bc libelf-dev libssl-dev
      dwarves cpio gzip xz-utils ccache libc6-dev perl python3
      qemu-system-x86 busybox-static git"

missing=$(for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
		echo "$p"
done)
[ -z "$missing" ] && exit 0

echo "deps: installing $(echo $missing)"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root: install these with 'sudo apt-get install $(echo $missing)'" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } \
	> /tmp/ioasid-deps.log 2>&1; then
	tail -n 20 /tmp/ioasid-deps.log >&2
	echo "deps: apt-get failed (log above); install by hand: $(echo $missing)" >&2
	exit 1
fi
echo "deps: done"
