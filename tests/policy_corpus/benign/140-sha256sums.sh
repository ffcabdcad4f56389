# Benign: writes and verifies checksums of the build outputs.
sha256sum dist/* > SHA256SUMS
sha256sum -c SHA256SUMS
