// Benign: a debounce helper and a quick demonstration.
function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
const log = debounce((msg) => console.log('saved', msg), 50);
log('a');
log('b');
log('c');
