# Benign: small logging helpers used by a build script.
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*"; exit 1; }
require() { command -v "$1" >/dev/null || die "$1 is required"; }

require git
log "starting build"
log "done"
