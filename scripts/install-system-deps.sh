#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ssr needs to run repository code safely:
# bubblewrap (the sandbox), util-linux (unshare/mount for overlay forks), git (diffs),
# python3 + python3-pytest (test parsers are Python; pytest for Python repos),
# golang-go and cargo (test discovery on Go and Rust repos), cmake, make, gcc, g++, autoconf,
# automake and libtool (test discovery on C/C++ repos: CMake + CTest, make check, autotools
# checkouts that need autoreconf), ruby with ruby-minitest and ruby-rspec (Ruby repos), and a
# JDK with maven (Java repos; maven runs offline, so plugins must already be in ~/.m2).
# Toolchains must be where the sandbox sees them (/usr, /usr/local): a rustup install in
# ~/.cargo is not visible there.
# --with-browser also installs chromium, which only the dashboard's browser test needs.
set -euo pipefail
missing=()
if [ "${1:-}" = "--with-browser" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v git >/dev/null 2>&1 || missing+=(git)
[ -x /usr/bin/python3 ] || missing+=(python3)
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || missing+=(python3-pytest)
[ -x /usr/bin/go ] || [ -x /usr/local/bin/go ] || [ -x /usr/local/go/bin/go ] || missing+=(golang-go)
[ -x /usr/bin/cargo ] || [ -x /usr/local/bin/cargo ] || [ -x /usr/local/cargo/bin/cargo ] || missing+=(cargo)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v autoreconf >/dev/null 2>&1 || missing+=(autoconf)
command -v automake >/dev/null 2>&1 || missing+=(automake)
command -v libtoolize >/dev/null 2>&1 || missing+=(libtool)
[ -x /usr/bin/ruby ] || missing+=(ruby)
/usr/bin/ruby -e 'require "minitest"' >/dev/null 2>&1 || missing+=(ruby-minitest)
[ -x /usr/bin/rspec ] || missing+=(ruby-rspec)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "ssr needs these packages: ${missing[*]} (install them as root: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
