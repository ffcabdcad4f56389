# Benign: prints kernel name/release, CPU count and the distribution name.
uname -sr
nproc
grep '^PRETTY_NAME=' /etc/os-release
