// Benign: URL and query-string parsing.
const url = new URL('https://api.example.com/search?q=node&page=2#top');
console.log(url.hostname, url.pathname, url.searchParams.get('q'), url.hash);
url.searchParams.set('page', '3');
console.log(url.toString());
