#!/usr/bin/env bash
# The browser tests drive the system Chromium (Playwright never downloads a
# browser here), and their screenshots need a Chinese font. Install Debian's
# chromium and a CJK font when they are missing and we can.
set -euo pipefail
need=()
if ! command -v chromium >/dev/null 2>&1; then
  need+=(chromium)
fi
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  need+=(fonts-wqy-microhei)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "安装浏览器测试所需的软件包 / installing for the browser tests: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  exit 0
fi
echo "浏览器测试需要 / the browser tests need: ${need[*]}" >&2
echo "  sudo apt-get install -y ${need[*]}" >&2
exit 1
