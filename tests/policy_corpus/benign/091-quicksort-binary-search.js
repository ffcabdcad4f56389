// Benign: quicksort and binary search.
function quicksort(xs) {
  if (xs.length <= 1) return xs;
  const [p, ...rest] = xs;
  return [...quicksort(rest.filter((x) => x < p)), p, ...quicksort(rest.filter((x) => x >= p))];
}
function search(xs, target) {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] === target) return mid;
    if (xs[mid] < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
const sorted = quicksort([9, 3, 7, 1, 8, 2]);
console.log(sorted, search(sorted, 7));
