# Benign: a function with arguments and a default value.
greet() {
  local name="${1:-world}"
  local punct="${2:-!}"
  echo "Hello, ${name}${punct}"
}
greet
greet Ada
greet "Grace Hopper" "."
